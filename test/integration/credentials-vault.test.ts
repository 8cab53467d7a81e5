import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { type DataKeyLimits, type DataKeySource, EnvelopeVault } from '../../functions/adapters/kms/envelope-vault.js';
import { KmsDataKeys } from '../../functions/adapters/kms/kms-data-keys.js';
import { createEmbeddedKms } from '../../local/embedded-kms.js';
import { InProcessRequestHandler } from '../../local/in-process-transport.js';

/**
 * The credentials vault (envelope encryption under KMS data keys) over the real KMS client, against local mode's
 * embedded KMS: what it seals, what it refuses to open, and how often it calls KMS.
 */
const ENDPOINT = 'http://kms.test.invalid';
const kmsClientFor = (kms: ReturnType<typeof createEmbeddedKms>) =>
  new KMSClient({
    region: 'us-east-1',
    endpoint: ENDPOINT,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: new InProcessRequestHandler().register(ENDPOINT, kms.service),
  });

let now = Date.parse('2026-06-01T00:00:00.000Z');
const clock = { now: () => new Date(now) };

/** The KMS data keys, counting the calls that reach KMS. */
const countedDataKeys = (kms = createEmbeddedKms({ region: 'us-east-1', account: '000000000000' })) => {
  const keys = new KmsDataKeys(kmsClientFor(kms), kms.keyArn);
  const calls = { generate: 0, decrypt: 0 };
  const source: DataKeySource = {
    generate: () => ((calls.generate += 1), keys.generate()),
    decrypt: (encrypted) => ((calls.decrypt += 1), keys.decrypt(encrypted)),
  };
  return { source, calls };
};

const limits: DataKeyLimits = { maxAgeMs: 60_000, maxSeals: 100, maxOpenKeys: 2 };

describe('the envelope vault', () => {
  it('opens what it sealed, only with the same context, and refuses an altered value', async () => {
    const vault = new EnvelopeVault(countedDataKeys().source, clock, limits);
    const sealed = await vault.seal('{"secret":"whsec_x"}', 'webhook-credentials:acme/wh_1');

    expect(sealed).not.toContain('whsec_x');
    expect(await vault.open(sealed, 'webhook-credentials:acme/wh_1')).toBe('{"secret":"whsec_x"}');
    await expect(vault.open(sealed, 'webhook-credentials:acme/wh_2')).rejects.toThrow('unable to authenticate data');
    const [format, key, iv, body] = sealed.split('.') as [string, string, string, string];
    const flipped = `${body.slice(0, 5)}${body[5] === 'A' ? 'B' : 'A'}${body.slice(6)}`;
    await expect(vault.open([format, key, iv, flipped].join('.'), 'webhook-credentials:acme/wh_1')).rejects.toThrow('unable to authenticate data');
    await expect(vault.open('not sealed', 'webhook-credentials:acme/wh_1')).rejects.toThrow('not a sealed value');
    // A value cut to a 4-byte tag (which GCM would check as such) or with another iv length is no value of the vault.
    const short = [format, key, iv, Buffer.from(body, 'base64url').subarray(-4).toString('base64url')].join('.');
    await expect(vault.open(short, 'webhook-credentials:acme/wh_1')).rejects.toThrow('not a sealed value');
    const longIv = [format, key, Buffer.alloc(16).toString('base64url'), body].join('.');
    await expect(vault.open(longIv, 'webhook-credentials:acme/wh_1')).rejects.toThrow('not a sealed value');
  });

  it('seals each value with its own iv under one data key, until the key is too old or has sealed its share', async () => {
    const { source, calls } = countedDataKeys();
    const vault = new EnvelopeVault(source, clock, limits);
    const sealed = await Promise.all(Array.from({ length: 100 }, () => vault.seal('same plaintext', 'ctx')));
    expect(new Set(sealed).size).toBe(100);
    expect(new Set(sealed.map((value) => value.split('.')[1])).size).toBe(1);
    expect(calls.generate).toBe(1);

    await vault.seal('the 101st', 'ctx');
    expect(calls.generate).toBe(2);
    now += limits.maxAgeMs;
    await vault.seal('after the key aged out', 'ctx');
    expect(calls.generate).toBe(3);
  });

  it('decrypts each data key once while it is cached, and again once it aged out or was evicted', async () => {
    const kms = createEmbeddedKms({ region: 'us-east-1', account: '000000000000' });
    const sealers = [0, 1, 2].map(() => new EnvelopeVault(countedDataKeys(kms).source, clock, limits));
    const [a, b, c] = await Promise.all(sealers.map((sealer, index) => sealer.seal(`value ${index}`, 'ctx')));
    const { source, calls } = countedDataKeys(kms);
    const opener = new EnvelopeVault(source, clock, limits);

    expect(await Promise.all(Array.from({ length: 50 }, () => opener.open(a!, 'ctx')))).toEqual(Array(50).fill('value 0'));
    expect(calls.decrypt).toBe(1);
    await opener.open(b!, 'ctx');
    await opener.open(a!, 'ctx');
    expect(calls.decrypt).toBe(2);
    await opener.open(c!, 'ctx'); // a third data key: the least recently used (b's) goes
    await opener.open(a!, 'ctx');
    expect(calls.decrypt).toBe(3);
    await opener.open(b!, 'ctx');
    expect(calls.decrypt).toBe(4);
    now += limits.maxAgeMs;
    await opener.open(b!, 'ctx');
    expect(calls.decrypt).toBe(5);
  });

  it('does not keep a failed KMS call: the next seal and open ask again', async () => {
    const { source } = countedDataKeys();
    let failures = 1;
    const flaky: DataKeySource = {
      generate: () => (failures-- > 0 ? Promise.reject(new Error('KMS unavailable')) : source.generate()),
      decrypt: (encrypted) => source.decrypt(encrypted),
    };
    const vault = new EnvelopeVault(flaky, clock, limits);
    await expect(vault.seal('x', 'ctx')).rejects.toThrow('KMS unavailable');
    expect(await vault.open(await vault.seal('x', 'ctx'), 'ctx')).toBe('x');
  });
});

describe("local mode's embedded KMS", () => {
  const directory = mkdtempSync(join(tmpdir(), 'embedded-kms-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const context = { purpose: 'webhook-credentials' };

  it('keeps its key in a file only its owner can read, and decrypts after a restart what it encrypted before', async () => {
    const keyFile = join(directory, 'credentials.key');
    const before = createEmbeddedKms({ keyFile, region: 'us-east-1', account: '000000000000' });
    const generated = await kmsClientFor(before).send(
      new GenerateDataKeyCommand({ KeyId: before.keyArn, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(generated.Plaintext).toHaveLength(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    const after = createEmbeddedKms({ keyFile, region: 'us-east-1', account: '000000000000' });
    expect(after.keyArn).toBe(before.keyArn);
    const decrypted = await kmsClientFor(after).send(
      new DecryptCommand({ KeyId: after.keyArn, CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.from(generated.Plaintext!));
  });

  it('answers as KMS does: another context or another key is InvalidCiphertextException, an unknown key NotFoundException', async () => {
    const kms = createEmbeddedKms({ region: 'us-east-1', account: '000000000000' });
    const client = kmsClientFor(kms);
    const { CiphertextBlob } = await client.send(new GenerateDataKeyCommand({ KeyId: kms.keyArn, KeySpec: 'AES_256', EncryptionContext: context }));

    await expect(client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'other' } }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
    const other = createEmbeddedKms({ region: 'us-east-1', account: '000000000000' });
    await expect(kmsClientFor(other).send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
    await expect(
      client.send(new GenerateDataKeyCommand({ KeyId: 'arn:aws:kms:us-east-1:000000000000:key/unknown', KeySpec: 'AES_256' })),
    ).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gcmOpen, gcmSeal, IV_BYTES } from '../functions/adapters/kms/aes-gcm.js';
import type { EmbeddedService, ServiceResponse } from './in-process-transport.js';
import { isJsonObject } from './put-events.js';

/** The key's identity and material, as the key file holds them (JSON). */
interface KeyMaterial {
  readonly keyId: string;
  /** 32 bytes, base64. */
  readonly material: string;
}

const BLOB_PREFIX = Buffer.from('lkms1');

/**
 * KMS for local mode: one symmetric key, whose material is kept in a key file under the data folder (created with
 * mode 0600 on first start; without a file, in memory for the process's life), serving the two calls the platform
 * makes, GenerateDataKey and Decrypt, in KMS's JSON protocol, so that the functions use the same KMS client and
 * code as on AWS. Ciphertext blobs are `lkms1` + iv + AES-256-GCM of the data key, with the key id and the
 * encryption context as additional data: a blob decrypts only with the context it was made with, as in KMS.
 * An in-process service (for the platform's own clients: InProcessRequestHandler), and on a loopback port once
 * `listen` is called (for other processes).
 */
export const createEmbeddedKms = (options: { keyFile?: string; region: string; account: string }) => {
  const key = options.keyFile ? loadOrCreateKeyFile(options.keyFile) : newKeyMaterial();
  const material = Buffer.from(key.material, 'base64');
  const keyArn = `arn:aws:kms:${options.region}:${options.account}:key/${key.keyId}`;
  const additionalData = (context: unknown) =>
    Buffer.from(`${key.keyId}\n${JSON.stringify(Object.entries(context ?? {}).sort())}`, 'utf8');

  const sameKey = (keyId: unknown) => keyId === undefined || keyId === key.keyId || keyId === keyArn;

  const generateDataKey = (input: Record<string, unknown>): ServiceResponse => {
    if (!sameKey(input.KeyId)) return kmsError('NotFoundException', `Key '${String(input.KeyId)}' does not exist`);
    const bytes = input.NumberOfBytes ?? (input.KeySpec === 'AES_128' ? 16 : input.KeySpec === 'AES_256' ? 32 : undefined);
    if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1 || bytes > 1024) {
      return kmsError('ValidationException', 'Please specify either KeySpec (AES_128 or AES_256) or NumberOfBytes (1-1024)');
    }
    const dataKey = randomBytes(bytes);
    const { iv, sealed } = gcmSeal(material, dataKey, additionalData(input.EncryptionContext));
    const blob = Buffer.concat([BLOB_PREFIX, iv, sealed]);
    return kmsAnswer({ KeyId: keyArn, Plaintext: dataKey.toString('base64'), CiphertextBlob: blob.toString('base64') });
  };

  const decrypt = (input: Record<string, unknown>): ServiceResponse => {
    if (!sameKey(input.KeyId)) return kmsError('IncorrectKeyException', 'The key ID in the request does not identify the key that encrypted the ciphertext');
    const blob = Buffer.from(typeof input.CiphertextBlob === 'string' ? input.CiphertextBlob : '', 'base64');
    if (!blob.subarray(0, BLOB_PREFIX.length).equals(BLOB_PREFIX)) return kmsError('InvalidCiphertextException', '');
    try {
      const ivEnd = BLOB_PREFIX.length + IV_BYTES;
      const dataKey = gcmOpen(material, blob.subarray(BLOB_PREFIX.length, ivEnd), blob.subarray(ivEnd), additionalData(input.EncryptionContext));
      return kmsAnswer({ KeyId: keyArn, Plaintext: dataKey.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    } catch {
      return kmsError('InvalidCiphertextException', ''); // another key, another context, or altered
    }
  };

  const operations: Record<string, (input: Record<string, unknown>) => ServiceResponse> = {
    'TrentService.GenerateDataKey': generateDataKey,
    'TrentService.Decrypt': decrypt,
  };

  const service: EmbeddedService = async (request) => {
    const operation = operations[request.headers['x-amz-target'] ?? ''];
    if (!operation) return kmsError('UnknownOperationException', `${request.headers['x-amz-target'] ?? 'no target'} is not served here`);
    let input: unknown;
    try {
      input = JSON.parse(request.body || '{}');
    } catch {
      return kmsError('SerializationException', 'The request body is not JSON');
    }
    if (!isJsonObject(input)) return kmsError('SerializationException', 'The request body is not a JSON object');
    if (input.EncryptionContext !== undefined && !isStringMap(input.EncryptionContext)) {
      return kmsError('SerializationException', 'EncryptionContext must map strings to strings');
    }
    return operation(input);
  };

  const listen = async () => {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
        const body = Buffer.concat(chunks).toString('utf8');
        void service({ method: request.method ?? 'POST', url: request.url ?? '/', headers, body, signal: new AbortController().signal })
          .catch((): ServiceResponse => kmsError('KMSInternalException', 'The embedded KMS failed on this request'))
          .then((answer) => response.writeHead(answer.status, answer.headers).end(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stop: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
    };
  };

  return { keyArn, service, listen };
};

const newKeyMaterial = (): KeyMaterial => ({ keyId: randomUUID(), material: randomBytes(32).toString('base64') });

const loadOrCreateKeyFile = (path: string): KeyMaterial => {
  try {
    writeFileSync(path, JSON.stringify(newKeyMaterial()), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = JSON.parse(readFileSync(path, 'utf8')) as Partial<KeyMaterial>;
  if (typeof key.keyId !== 'string' || typeof key.material !== 'string' || Buffer.from(key.material, 'base64').length !== 32) {
    throw new Error(`${path} is not a key file of local mode (delete the data folder to start afresh)`);
  }
  return key as KeyMaterial;
};

const isStringMap = (value: unknown): value is Record<string, string> =>
  isJsonObject(value) && Object.values(value).every((entry) => typeof entry === 'string');

const kmsAnswer = (body: unknown): ServiceResponse => ({
  status: 200,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: JSON.stringify(body),
});

const kmsError = (type: string, message: string): ServiceResponse => ({
  status: 400,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: JSON.stringify({ __type: type, message }),
});

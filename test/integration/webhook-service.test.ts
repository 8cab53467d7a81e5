import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../../functions/adapters/dynamodb/table-design.js';
import { DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { StaleVersionError } from '../../functions/domain/errors.js';
import type { WebhookRepository } from '../../functions/domain/ports.js';
import { openCredentials } from '../../functions/domain/credentials.js';
import { WebhookService } from '../../functions/domain/webhook.service.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { createTestVault } from '../support/credentials-vault.js';
import { startTestTable } from '../support/dynamodb-store.js';

/**
 * The webhook use cases the API's child-process suite cannot show: the stored record (previous secrets, failure
 * run, version), a simulated clock, and writes raced between the service's read and its write. Real store.
 */
const OVERLAP_SECONDS = 86_400;
let now = Date.parse('2026-06-01T00:00:00.000Z');
const clock = { now: () => new Date(now) };
let store: Awaited<ReturnType<typeof startTestTable>>;
let stored: DynamoWebhookRepository;
/** URLs the destination policy refuses from now on (as a host that came to resolve to a private address). */
const refusedUrls = new Set<string>();
const vault = createTestVault();

beforeAll(async () => {
  store = await startTestTable();
  stored = new DynamoWebhookRepository(store.db, store.tableName, clock);
});
afterAll(() => store.stop());
beforeEach(() => refusedUrls.clear());

/**
 * The store, with a fault before each of the service's first `racedWrites` writes: another writer changes the
 * webhook's description (a version-bumping write) between the service's read and its write. `writes` counts the
 * service's writes; `failWith` makes every write fail with that error instead.
 */
const racedStore = (racedWrites: number, failWith?: Error) => {
  let writes = 0;
  const repository: WebhookRepository = Object.assign(Object.create(stored) as WebhookRepository, {
    update: async (...args: Parameters<WebhookRepository['update']>) => {
      writes += 1;
      if (failWith) throw failWith;
      if (writes <= racedWrites) {
        const current = (await stored.get(args[1].tenantId, args[1].id))!;
        await stored.update({ ...current, description: `competing write ${writes}`, version: current.version + 1 }, current);
      }
      return stored.update(...args);
    },
  });
  return { repository, writes: () => writes };
};

const serviceOver = (webhooks: WebhookRepository = stored) =>
  new WebhookService({
    webhooks,
    vault,
    clock,
    ids: ulidIds,
    secretOverlapSeconds: OVERLAP_SECONDS,
    destinations: { check: async (url) => (refusedUrls.has(url) ? 'resolves to a private address' : undefined) },
  });

let tenantSequence = 0;
const createWebhook = async () => {
  const tenantId = `tenant-${(tenantSequence += 1)}`;
  const { webhook, secret } = await serviceOver().create(tenantId, {
    url: `https://receiver.example.com/${tenantSequence}`,
    events: ['order.created', 'order.created'],
    enabled: true,
  });
  return { tenantId, id: webhook.id, url: webhook.url, secret, webhook };
};
/** The stored record, with its credentials opened. */
const read = async (webhook: { tenantId: string; id: string }) => {
  const record = (await stored.get(webhook.tenantId, webhook.id))!;
  return { ...record, ...(await openCredentials(vault, record)) };
};

describe('create', () => {
  it('stores version 1, the events once each, and no property the caller did not give', async () => {
    const { webhook, ...created } = await createWebhook();

    expect(webhook.events).toEqual(['order.created']);
    expect(webhook).not.toHaveProperty('description');
    expect(webhook).not.toHaveProperty('metadata');
    expect(await read(created)).toMatchObject({ version: 1, secret: created.secret, events: ['order.created'] });
  });
});

describe('rotateSecret', () => {
  it('keeps the old secret signing for the overlap, prunes the expired ones, and bumps the version each time', async () => {
    const webhook = await createWebhook();
    const first = await serviceOver().rotateSecret(webhook.tenantId, webhook.id, undefined);
    const rotatedAt = now;

    expect(first.previousExpiresAt).toBe(new Date(rotatedAt + OVERLAP_SECONDS * 1000).toISOString());
    expect(await read(webhook)).toMatchObject({
      secret: first.secret,
      previousSecrets: [{ secret: webhook.secret, expiresAt: first.previousExpiresAt }],
      version: 2,
    });

    now += (OVERLAP_SECONDS / 2) * 1000;
    const second = await serviceOver().rotateSecret(webhook.tenantId, webhook.id, undefined);
    expect(await read(webhook)).toMatchObject({
      secret: second.secret,
      previousSecrets: [
        { secret: first.secret, expiresAt: second.previousExpiresAt },
        { secret: webhook.secret, expiresAt: first.previousExpiresAt },
      ],
      version: 3,
    });

    // The first secret's overlap ends exactly now: it signs no more and is dropped; the second's is still running.
    now = rotatedAt + OVERLAP_SECONDS * 1000;
    const third = await serviceOver().rotateSecret(webhook.tenantId, webhook.id, 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oDAAAA');
    expect(await read(webhook)).toMatchObject({
      secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oDAAAA',
      previousSecrets: [
        { secret: second.secret, expiresAt: third.previousExpiresAt },
        { secret: first.secret, expiresAt: second.previousExpiresAt },
      ],
      version: 4,
    });
  });

  it('retries a write raced by another writer on the fresh copy, and gives up after three raced writes', async () => {
    const webhook = await createWebhook();
    const twiceRaced = racedStore(2);

    const rotated = await serviceOver(twiceRaced.repository).rotateSecret(webhook.tenantId, webhook.id, undefined);

    expect(twiceRaced.writes()).toBe(3);
    expect(await read(webhook)).toMatchObject({
      secret: rotated.secret,
      previousSecrets: [{ secret: webhook.secret }],
      description: 'competing write 2',
      version: 4,
    });

    const alwaysRaced = racedStore(Infinity);
    await expect(serviceOver(alwaysRaced.repository).rotateSecret(webhook.tenantId, webhook.id, undefined)).rejects.toThrow(StaleVersionError);
    expect(alwaysRaced.writes()).toBe(3);
    expect((await read(webhook)).secret).toBe(rotated.secret);
  });

  it('does not retry a write that failed for another reason', async () => {
    const webhook = await createWebhook();
    const failing = racedStore(0, new Error('store unavailable'));

    await expect(serviceOver(failing.repository).rotateSecret(webhook.tenantId, webhook.id, undefined)).rejects.toThrow('store unavailable');
    expect(failing.writes()).toBe(1);
  });
});

describe('update', () => {
  it('writes nothing, and keeps the version, for a patch that changes nothing', async () => {
    const webhook = await createWebhook();
    const before = await read(webhook);
    now += 1000;

    const result = await serviceOver().update(webhook.tenantId, webhook.id, { name: before.name, events: ['order.created'] });

    expect(result).toMatchObject({ version: 1, value: { changes: {} } });
    expect(await read(webhook)).toEqual(before);
  });

  it('checks the destination policy only for a new URL', async () => {
    const webhook = await createWebhook();
    refusedUrls.add(webhook.url);

    await serviceOver().update(webhook.tenantId, webhook.id, { name: 'renamed' });
    expect((await read(webhook)).name).toBe('renamed');

    const moved = `${webhook.url}/moved`;
    refusedUrls.add(moved);
    await expect(serviceOver().update(webhook.tenantId, webhook.id, { url: moved })).rejects.toMatchObject({
      code: 'validation_failed',
      details: [{ path: 'url', message: 'resolves to a private address' }],
    });
  });

  it('keeps the failure run, the open circuit and the disabled reason through any patch but enabled: true or a new URL', async () => {
    const webhook = await createWebhook();
    const at = new Date(now).toISOString();
    await stored.recordFailure(webhook.tenantId, webhook.id, at);
    await stored.recordFailure(webhook.tenantId, webhook.id, at);
    await stored.openCircuit(webhook.tenantId, webhook.id, { openedAt: at, probeAt: at, coolOffSeconds: 30 });
    await stored.disable(webhook.tenantId, webhook.id, { reason: 'failing for 5 days', at });

    await serviceOver().update(webhook.tenantId, webhook.id, { description: 'still broken', enabled: false });
    expect(await read(webhook)).toMatchObject({
      consecutiveFailures: 2,
      failingSince: at,
      circuit: { openedAt: at },
      disabledReason: 'failing for 5 days',
      disabledAt: at,
    });

    await serviceOver().update(webhook.tenantId, webhook.id, { url: `${webhook.url}/fixed` });
    const moved = await read(webhook);
    for (const field of ['consecutiveFailures', 'failingSince', 'circuit']) expect(moved).not.toHaveProperty(field);
    expect(moved).toMatchObject({ enabled: false, disabledReason: 'failing for 5 days' });

    await serviceOver().update(webhook.tenantId, webhook.id, { enabled: true });
    const reEnabled = await read(webhook);
    expect(reEnabled.enabled).toBe(true);
    for (const field of ['disabledReason', 'disabledAt']) expect(reEnabled).not.toHaveProperty(field);
  });

  it('retries a write raced by another writer and gives up after three raced writes', async () => {
    const webhook = await createWebhook();
    const twiceRaced = racedStore(2);

    const result = await serviceOver(twiceRaced.repository).update(webhook.tenantId, webhook.id, { name: 'mine' });

    expect(twiceRaced.writes()).toBe(3);
    expect(result.version).toBe(4);
    expect(await read(webhook)).toMatchObject({ name: 'mine', description: 'competing write 2', version: 4 });

    const alwaysRaced = racedStore(Infinity);
    await expect(serviceOver(alwaysRaced.repository).update(webhook.tenantId, webhook.id, { name: 'lost' })).rejects.toThrow(StaleVersionError);
    expect(alwaysRaced.writes()).toBe(3);

    const failing = racedStore(0, new Error('store unavailable'));
    await expect(serviceOver(failing.repository).update(webhook.tenantId, webhook.id, { name: 'lost' })).rejects.toThrow('store unavailable');
    expect(failing.writes()).toBe(1);
    expect((await read(webhook)).name).toBe('mine');
  });

  it('with an expected version, refuses a stale one and a raced write, naming the versions, and retries neither', async () => {
    const webhook = await createWebhook();
    await serviceOver().update(webhook.tenantId, webhook.id, { name: 'v2' });

    await expect(serviceOver().update(webhook.tenantId, webhook.id, { name: 'v3' }, 1)).rejects.toMatchObject({
      code: 'precondition_failed',
      message: `webhook ${webhook.id} is at version 2, not 1`,
    });

    const raced = racedStore(1);
    await expect(serviceOver(raced.repository).update(webhook.tenantId, webhook.id, { name: 'v3' }, 2)).rejects.toMatchObject({
      code: 'precondition_failed',
      message: `webhook ${webhook.id} was modified concurrently`,
    });
    expect(raced.writes()).toBe(1);
    expect(await read(webhook)).toMatchObject({ name: 'v2', description: 'competing write 1', version: 3 });
  });
});

describe('credentials at rest', () => {
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const TOKEN = 'Bearer s3cr3t-token-of-the-endpoint';
  const rawItem = async (webhook: { tenantId: string; id: string }) =>
    (await store.db.send(new GetCommand({ TableName: store.tableName, Key: itemKeys.webhook(webhook.tenantId, webhook.id), ConsistentRead: true })))
      .Item!;

  it('are sealed in the item: neither the secret nor a header value is in any attribute, the header names are', async () => {
    const tenantId = `tenant-${(tenantSequence += 1)}`;
    const { webhook } = await serviceOver().create(tenantId, {
      url: 'https://receiver.example.com/sealed',
      events: ['order.created'],
      enabled: true,
      secret: SECRET,
      headers: { Authorization: TOKEN, 'X-Api-Key': 'key-of-the-endpoint' },
    });

    const item = await rawItem({ tenantId, id: webhook.id });
    expect(item.credentials).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(item).not.toHaveProperty('secret');
    expect(item).not.toHaveProperty('headers');
    expect(item.headerNames).toEqual(['Authorization', 'X-Api-Key']);
    const everything = JSON.stringify(item);
    for (const plaintext of [SECRET, SECRET.slice(6), TOKEN, 's3cr3t', 'key-of-the-endpoint']) expect(everything).not.toContain(plaintext);
    expect(await read({ tenantId, id: webhook.id })).toMatchObject({
      secret: SECRET,
      headers: { Authorization: TOKEN, 'X-Api-Key': 'key-of-the-endpoint' },
    });
    expect(await serviceOver().getSecret(tenantId, webhook.id)).toBe(SECRET);
  });

  it('open only for the webhook they were sealed for', async () => {
    const first = await createWebhook();
    const second = await createWebhook();
    const { credentials } = await rawItem(first);
    await store.db.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: itemKeys.webhook(second.tenantId, second.id),
        UpdateExpression: 'SET credentials = :moved',
        ExpressionAttributeValues: { ':moved': credentials },
      }),
    );
    await expect(serviceOver().getSecret(second.tenantId, second.id)).rejects.toThrow('unable to authenticate data');
    expect(await serviceOver().getSecret(first.tenantId, first.id)).toBe(first.secret);
  });

  it('in plaintext, as written before encryption, keep working and are sealed on the next write', async () => {
    const tenantId = `tenant-${(tenantSequence += 1)}`;
    const id = ulidIds.webhookId();
    const previous = { secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oDAAAA', expiresAt: new Date(now + 3_600_000).toISOString() };
    const at = new Date(now).toISOString();
    await store.db.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          ...itemKeys.webhook(tenantId, id),
          tenantId,
          id,
          name: 'legacy',
          url: 'https://receiver.example.com/legacy',
          events: ['order.created'],
          enabled: true,
          secret: SECRET,
          previousSecrets: [previous],
          version: 1,
          createdAt: at,
          updatedAt: at,
        },
      }),
    );
    expect(await serviceOver().getSecret(tenantId, id)).toBe(SECRET);
    expect((await serviceOver().get(tenantId, id)).value).not.toHaveProperty('secret');

    const { value } = await serviceOver().update(tenantId, id, { description: 'touched' });
    expect(value.changes).toEqual({ description: { from: null, to: 'touched' } });
    const item = await rawItem({ tenantId, id });
    expect(item).not.toHaveProperty('secret');
    expect(item).not.toHaveProperty('previousSecrets');
    expect(JSON.stringify(item)).not.toContain(SECRET);
    expect(await read({ tenantId, id })).toMatchObject({ secret: SECRET, previousSecrets: [previous], description: 'touched', version: 2 });

    // A writer from before encryption (an old container during a deploy) rotates: its plaintext, newer than the
    // sealed value beside it, is what counts, and the next rotation seals it and removes it.
    const rotatedByOldCode = 'whsec_D3GWtCRJisdDimJNW+c6tTZTqpc8pEAABBBB';
    await store.db.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: itemKeys.webhook(tenantId, id),
        UpdateExpression: 'SET secret = :secret, version = :three',
        ExpressionAttributeValues: { ':secret': rotatedByOldCode, ':three': 3 },
      }),
    );
    expect(await serviceOver().getSecret(tenantId, id)).toBe(rotatedByOldCode);
    const rotated = await serviceOver().rotateSecret(tenantId, id, undefined);
    const after = await rawItem({ tenantId, id });
    expect(after).not.toHaveProperty('secret');
    expect(JSON.stringify(after)).not.toContain(rotatedByOldCode);
    expect(await read({ tenantId, id })).toMatchObject({
      secret: rotated.secret,
      previousSecrets: [{ secret: rotatedByOldCode }],
      version: 4,
    });
  });

  it('keep the headers write-only: PATCH replaces them all, null removes them, the changes name them only', async () => {
    const { tenantId, id } = await createWebhook();
    const service = serviceOver();

    const added = await service.update(tenantId, id, { headers: { Authorization: TOKEN } });
    expect(added.value.changes).toEqual({ headers: { from: null, to: ['Authorization'] } });
    expect(added.value.webhook.headerNames).toEqual(['Authorization']);
    expect(JSON.stringify(added.value)).not.toContain(TOKEN);

    const replaced = await service.update(tenantId, id, { headers: { Authorization: 'Bearer next', 'X-Tenant': 'acme' } });
    expect(replaced.value.changes).toEqual({ headers: { from: ['Authorization'], to: ['Authorization', 'X-Tenant'] } });
    expect((await read({ tenantId, id })).headers).toEqual({ Authorization: 'Bearer next', 'X-Tenant': 'acme' });

    const same = await service.update(tenantId, id, { headers: { Authorization: 'Bearer next', 'X-Tenant': 'acme' } });
    expect(same.value.changes).toEqual({});
    expect(same.version).toBe(replaced.version);

    const emptied = await service.update(tenantId, id, { headers: {} });
    expect(emptied.value.changes).toEqual({ headers: { from: ['Authorization', 'X-Tenant'], to: null } });
    expect(emptied.value.webhook).not.toHaveProperty('headerNames');
    expect((await service.update(tenantId, id, { headers: {} })).value.changes).toEqual({});
    await service.update(tenantId, id, { headers: { Authorization: 'Bearer next', 'X-Tenant': 'acme' } });

    const removed = await service.update(tenantId, id, { headers: null });
    expect(removed.value.changes).toEqual({ headers: { from: ['Authorization', 'X-Tenant'], to: null } });
    expect(removed.value.webhook).not.toHaveProperty('headerNames');
    const record = await read({ tenantId, id });
    expect(record).not.toHaveProperty('headers');
    expect(record).not.toHaveProperty('headerNames');
    expect(record.secret).toBeDefined();
  });
});

describe('a webhook that does not exist', () => {
  it('is a NotFoundError naming its id, for every use case', async () => {
    const missing = ulidIds.webhookId();
    const notFound = { code: 'not_found', message: `No webhook with id ${missing}` };
    const service = serviceOver();

    await expect(service.get('tenant-x', missing)).rejects.toMatchObject(notFound);
    await expect(service.getSecret('tenant-x', missing)).rejects.toMatchObject(notFound);
    await expect(service.rotateSecret('tenant-x', missing, undefined)).rejects.toMatchObject(notFound);
    await expect(service.update('tenant-x', missing, { name: 'x' })).rejects.toMatchObject(notFound);
    await expect(service.delete('tenant-x', missing)).rejects.toMatchObject(notFound);
  });
});

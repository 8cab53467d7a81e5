import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../../functions/adapters/dynamodb/table-design.js';
import { DEFAULT_CLAIM_LEASE_MS, DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { ConflictError, StaleVersionError } from '../../functions/domain/errors.js';
import type { WebhookRecord } from '../../functions/domain/webhook.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { startTestTable } from '../support/dynamodb-store.js';

/** The store adapter suite: runs on the embedded store, or on DynamoDB Local via TEST_DYNAMODB_ENDPOINT. */
let store: Awaited<ReturnType<typeof startTestTable>>;
let now = Date.parse('2026-06-01T00:00:00.000Z');
const clock = { now: () => new Date(now) };
let repository: DynamoWebhookRepository;
let sentCommands: string[] = [];
let sentInputs: Record<string, unknown>[] = [];

beforeAll(async () => {
  store = await startTestTable();
  store.db.middlewareStack.add(
    (next, context) => async (args) => {
      sentCommands.push(context.commandName ?? 'unknown');
      sentInputs.push(args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  repository = new DynamoWebhookRepository(store.db, store.tableName, clock);
});
afterAll(() => store.stop());

let sequence = 0;
const webhook = (overrides: Partial<WebhookRecord> = {}): WebhookRecord => {
  sequence += 1;
  return {
    tenantId: 'acme',
    id: ulidIds.webhookId(),
    name: `hook ${sequence}`,
    url: `https://example.com/hooks/${sequence}`,
    events: ['order.created'],
    enabled: true,
    credentials: { sealed: 'v1.sealed-by-the-service' },
    version: 1,
    createdAt: clock.now().toISOString(),
    updatedAt: clock.now().toISOString(),
    ...overrides,
  };
};

describe('webhook store', () => {
  it('reads back what it stored, optional fields included', async () => {
    const stored = webhook({ filters: { dcId: ['1', '2'] }, metadata: { team: 'a' }, description: 'd' });
    await repository.create(stored);
    expect(await repository.get('acme', stored.id)).toEqual(stored);
    expect(await repository.get('globex', stored.id)).toBeUndefined();
  });

  it('lists a tenant newest first, page by page, with a cursor only while more follow', async () => {
    const tenantId = 'paging';
    const created: WebhookRecord[] = [];
    for (let index = 0; index < 5; index += 1) {
      const record = webhook({ tenantId });
      await repository.create(record);
      created.push(record);
    }
    await repository.create(webhook({ tenantId: 'paging-other' }));
    const newestFirst = created.map((record) => record.id).reverse();

    const first = await repository.list(tenantId, { limit: 2 });
    const second = await repository.list(tenantId, { limit: 2, afterId: first.lastId! });
    const third = await repository.list(tenantId, { limit: 2, afterId: second.lastId! });

    expect([first, second, third].map((page) => page.items.map((item) => item.id))).toEqual([
      newestFirst.slice(0, 2),
      newestFirst.slice(2, 4),
      newestFirst.slice(4),
    ]);
    expect(third.lastId).toBeUndefined();
    expect((await repository.list(tenantId, { limit: 5 })).lastId).toBeUndefined();
  });

  it('lets exactly one of many concurrent creates subscribe the same (url, event)', async () => {
    const contenders = Array.from({ length: 8 }, () => webhook({ url: 'https://race.example.com/hook' }));

    const outcomes = await Promise.allSettled(contenders.map((record) => repository.create(record)));

    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const rejections = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(rejections).toHaveLength(7);
    for (const rejection of rejections) expect(rejection.reason).toBeInstanceOf(ConflictError);
    const subscribers = await repository.findSubscribers('acme', 'order.created');
    expect(subscribers.filter((record) => record.url === 'https://race.example.com/hook')).toHaveLength(1);
  });

  it('allows the same url for other events, and the same (url, event) in other tenants', async () => {
    const url = 'https://shared.example.com/hook';
    await repository.create(webhook({ url, events: ['order.created'] }));
    await expect(repository.create(webhook({ url, events: ['order.price_changed'] }))).resolves.toBeUndefined();
    await expect(repository.create(webhook({ tenantId: 'globex', url }))).resolves.toBeUndefined();
  });

  it('rejects an update taking another webhook’s pair, and leaves no claim behind', async () => {
    const url = 'https://update-conflict.example.com/hook';
    const owner = webhook({ url, events: ['order.created'] });
    const mover = webhook({ url, events: ['order.status_changed'] });
    await repository.create(owner);
    await repository.create(mover);

    const next = { ...mover, events: ['order.status_changed', 'order.price_changed', 'order.created'], version: 2 };
    await expect(repository.update(next, mover)).rejects.toBeInstanceOf(ConflictError);

    expect(await repository.get('acme', mover.id)).toEqual(mover);
    // order.price_changed was claimed then released: another webhook can take it.
    await expect(repository.create(webhook({ url, events: ['order.price_changed'] }))).resolves.toBeUndefined();
  });

  it('refuses a write based on an outdated version', async () => {
    const original = webhook();
    await repository.create(original);
    await repository.update({ ...original, name: 'first', version: 2 }, original);

    await expect(repository.update({ ...original, name: 'second', version: 2 }, original)).rejects.toBeInstanceOf(
      StaleVersionError,
    );
    expect((await repository.get('acme', original.id))?.name).toBe('first');
  });

  it('writes only what an update changed: what the workers wrote since it read the webhook stays', async () => {
    const original = webhook({ description: 'to be removed', rateLimitPerSecond: 5 });
    await repository.create(original);
    const read = (await repository.get('acme', original.id))!;
    // The workers, between the API's read and its write (none of this changes the version):
    const run = await repository.recordFailure('acme', original.id, clock.now().toISOString());
    const circuit = { openedAt: clock.now().toISOString(), probeAt: new Date(now + 30_000).toISOString(), coolOffSeconds: 30 };
    expect(await repository.openCircuit('acme', original.id, circuit)).toBe(true);
    expect(await repository.holdInSlowLane('acme', original.id, new Date(now + 3_600_000).toISOString())).toBe(true);
    const slot = await repository.advanceSendSlot('acme', original.id, 200);
    const { description: _removed, ...withoutDescription } = read;
    sentCommands = [];

    await repository.update({ ...withoutDescription, name: 'renamed', version: read.version + 1 }, read);

    expect(sentCommands).toEqual(['UpdateItemCommand']);
    const stored = await repository.get('acme', original.id);
    expect(stored).toMatchObject({
      name: 'renamed',
      version: read.version + 1,
      failingSince: run!.failingSince,
      consecutiveFailures: 1,
      circuit,
      slowLaneUntil: new Date(now + 3_600_000).toISOString(),
      nextSendAt: expect.any(Number),
    });
    expect(stored!.nextSendAt).toBeGreaterThanOrEqual(slot!);
    expect(stored).not.toHaveProperty('description');
  });

  it('holds a webhook in the slow lane until a time, extended only by a later one, and not once it is gone', async () => {
    const original = webhook();
    await repository.create(original);
    const at = (seconds: number) => new Date(now + seconds * 1000).toISOString();

    expect(await repository.holdInSlowLane('acme', original.id, at(600))).toBe(true);
    expect(await repository.holdInSlowLane('acme', original.id, at(300))).toBe(false);
    expect((await repository.get('acme', original.id))?.slowLaneUntil).toBe(at(600));
    expect(await repository.holdInSlowLane('acme', original.id, at(900))).toBe(true);
    expect((await repository.get('acme', original.id))?.slowLaneUntil).toBe(at(900));

    await repository.delete('acme', original.id);
    expect(await repository.holdInSlowLane('acme', original.id, at(1200))).toBe(false);
    expect(await repository.get('acme', original.id)).toBeUndefined();
  });

  it('releases the old url’s pairs when a webhook moves to a new url', async () => {
    const original = webhook({ url: 'https://old.example.com/hook' });
    await repository.create(original);
    await repository.update({ ...original, url: 'https://new.example.com/hook', version: 2 }, original);

    await expect(repository.create(webhook({ url: 'https://old.example.com/hook' }))).resolves.toBeUndefined();
    await expect(repository.create(webhook({ url: 'https://new.example.com/hook' }))).rejects.toBeInstanceOf(ConflictError);
  });

  it('deletes, returns the deleted configuration and frees its pairs', async () => {
    const doomed = webhook({ url: 'https://deleted.example.com/hook' });
    await repository.create(doomed);

    expect(await repository.delete('acme', doomed.id)).toEqual(doomed);
    expect(await repository.delete('acme', doomed.id)).toBeUndefined();
    expect(await repository.get('acme', doomed.id)).toBeUndefined();
    await expect(repository.create(webhook({ url: 'https://deleted.example.com/hook' }))).resolves.toBeUndefined();
  });

  it('takes over a claim orphaned by a crash once its lease has passed, not before', async () => {
    const url = 'https://orphan.example.com/hook';
    await store.db.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          ...itemKeys.subscription('acme', 'order.created', url),
          webhookId: 'wh_CRASHEDBEFOREITSITEMWASWRIT',
          url,
          eventType: 'order.created',
          claimedAt: now,
        },
      }),
    );

    await expect(repository.create(webhook({ url }))).rejects.toBeInstanceOf(ConflictError);
    now += DEFAULT_CLAIM_LEASE_MS + 1;
    const successor = webhook({ url });
    await expect(repository.create(successor)).resolves.toBeUndefined();
    expect((await repository.findSubscribers('acme', 'order.created')).map((record) => record.id)).toContain(successor.id);
  });

  it('reads the webhooks asked for at once in one strongly consistent request, each asked twice once', async () => {
    const stored = [webhook(), webhook({ tenantId: 'globex' }), webhook()];
    for (const record of stored) await repository.create(record);
    const [first, second, third] = stored as [WebhookRecord, WebhookRecord, WebhookRecord];
    // Written just before the reads: a strongly consistent read sees it.
    await repository.update({ ...third, name: 'renamed', version: 2 }, third);
    const missing = ulidIds.webhookId();

    sentCommands = [];
    sentInputs = [];
    const reads = await Promise.all([
      repository.get(first.tenantId, first.id),
      repository.get(second.tenantId, second.id),
      repository.get('acme', missing),
      repository.get(third.tenantId, third.id),
      repository.get(first.tenantId, first.id),
      repository.get('acme', second.id), // another tenant's id
    ]);

    expect(sentCommands).toEqual(['BatchGetItemCommand']);
    expect(sentInputs[0]).toMatchObject({ RequestItems: { [store.tableName]: { ConsistentRead: true } } });
    expect((sentInputs[0] as { RequestItems: Record<string, { Keys: unknown[] }> }).RequestItems[store.tableName]?.Keys).toHaveLength(5);
    expect(reads.map((read) => read?.id)).toEqual([first.id, second.id, undefined, third.id, first.id, undefined]);
    expect(reads[3]).toMatchObject({ name: 'renamed', version: 2 });
    expect(reads[1]).toEqual(second);

    sentCommands = [];
    expect(await repository.get(first.tenantId, first.id)).toEqual(first);
    expect(await repository.get(first.tenantId, first.id)).toEqual(first);
    // One webhook at a time: a GetItem each, nothing remembered between them.
    expect(sentCommands).toEqual(['GetItemCommand', 'GetItemCommand']);
  });

  it('queries the subscribers of an event type asked for at once only once, and a failed query fails only its callers', async () => {
    const tenantId = 'coalesced';
    const created = [webhook({ tenantId }), webhook({ tenantId }), webhook({ tenantId, events: ['order.price_changed'] })];
    for (const record of created) await repository.create(record);
    // The store refuses the query of one event type (a throttled request, say).
    store.db.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand' && JSON.stringify(args.input).includes('order.refunded')) {
          throw new Error('ProvisionedThroughputExceededException');
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseOneQuery' },
    );
    sentCommands = [];
    const [first, second, priceChanged, refused, third] = await Promise.allSettled([
      repository.findSubscribers(tenantId, 'order.created'),
      repository.findSubscribers(tenantId, 'order.created'),
      repository.findSubscribers(tenantId, 'order.price_changed'),
      repository.findSubscribers(tenantId, 'order.refunded'),
      repository.findSubscribers(tenantId, 'order.created'),
    ]).finally(() => store.db.middlewareStack.remove('refuseOneQuery'));

    const ids = (result: PromiseSettledResult<WebhookRecord[]> | undefined) =>
      result?.status === 'fulfilled' ? result.value.map((record) => record.id).sort() : result;
    const createdIds = [created[0]!.id, created[1]!.id].sort();
    expect([ids(first), ids(second), ids(third)]).toEqual([createdIds, createdIds, createdIds]);
    expect(ids(priceChanged)).toEqual([created[2]!.id]);
    expect(refused).toMatchObject({ status: 'rejected', reason: new Error('ProvisionedThroughputExceededException') });
    expect(sentCommands.filter((command) => command === 'QueryCommand')).toHaveLength(3);
    expect(sentCommands.filter((command) => command === 'BatchGetItemCommand')).toHaveLength(2);
    // Each caller has an array of its own.
    expect((first as PromiseFulfilledResult<WebhookRecord[]>).value).not.toBe((second as PromiseFulfilledResult<WebhookRecord[]>).value);
  });

  it('finds the enabled subscribers of an event type with a bounded number of requests', async () => {
    const tenantId = 'fanout';
    const subscribed = Array.from({ length: 120 }, () => webhook({ tenantId, events: ['order.price_changed'] }));
    for (const record of subscribed) await repository.create(record);
    await repository.create(webhook({ tenantId, events: ['order.price_changed'], enabled: false }));
    await repository.create(webhook({ tenantId, events: ['order.created'] }));
    for (let index = 0; index < 30; index += 1) {
      await repository.create(webhook({ tenantId: `other-${index}`, events: ['order.price_changed'] }));
    }

    sentCommands = [];
    const found = await repository.findSubscribers(tenantId, 'order.price_changed');

    expect(found.map((record) => record.id).sort()).toEqual(subscribed.map((record) => record.id).sort());
    // One query of the tenant's subscriptions, one batch read per 100 webhooks; other tenants cost nothing.
    expect(sentCommands).toEqual(['QueryCommand', 'BatchGetItemCommand', 'BatchGetItemCommand']);
  });
});

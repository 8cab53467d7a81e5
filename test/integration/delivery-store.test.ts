import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import type { DeliveryRecord } from '../../functions/domain/delivery/delivery.ports.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { startTestTable } from '../support/dynamodb-store.js';

/** The delivery log in DynamoDB: runs on the embedded store, or on DynamoDB Local via TEST_DYNAMODB_ENDPOINT. */
let store: Awaited<ReturnType<typeof startTestTable>>;
let now = Date.parse('2026-06-01T00:00:00.000Z');
const clock = { now: () => new Date(now) };
let deliveries: DynamoDeliveryRepository;

beforeAll(async () => {
  store = await startTestTable();
  deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock, 30);
});
afterAll(() => store.stop());

const delivery = (webhookId: string, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  id: ulidIds.deliveryId(),
  tenantId: 'acme',
  webhookId,
  event: { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: clock.now().toISOString(), data: { a: 1 } },
  status: 'pending',
  attempts: [],
  createdAt: clock.now().toISOString(),
  updatedAt: clock.now().toISOString(),
  ...overrides,
});

describe('delivery store', () => {
  it('creates a delivery once and returns the existing one on a repeat', async () => {
    const first = delivery('wh_A');
    expect(await deliveries.createIfAbsent(first)).toEqual({ created: true, delivery: first });
    await deliveries.recordAttempt(
      { tenantId: 'acme', webhookId: 'wh_A', deliveryId: first.id },
      { attempt: 1, at: clock.now().toISOString(), durationMs: 5, statusCode: 500, error: 'http_5xx' },
      { status: 'retrying', nextAttemptAt: '2026-06-01T00:00:05.000Z', lastError: 'http_5xx' },
    );

    const repeat = await deliveries.createIfAbsent({ ...first, attempts: [] });

    expect(repeat.created).toBe(false);
    expect(repeat.delivery).toMatchObject({ status: 'retrying', attempts: [{ attempt: 1, statusCode: 500 }] });
  });

  it('appends attempts in order, clears nextAttemptAt and lastError on success', async () => {
    const record = delivery('wh_B');
    const key = { tenantId: 'acme', webhookId: 'wh_B', deliveryId: record.id };
    await deliveries.createIfAbsent(record);
    await deliveries.recordAttempt(key, { attempt: 1, at: record.createdAt, durationMs: 1, error: 'timeout' }, {
      status: 'retrying',
      nextAttemptAt: '2026-06-01T00:05:00.000Z',
      lastError: 'timeout',
    });
    await deliveries.recordAttempt(key, { attempt: 2, at: record.createdAt, durationMs: 2, statusCode: 200 }, { status: 'succeeded' });

    const stored = await deliveries.get(key);
    expect(stored?.attempts.map((attempt) => attempt.attempt)).toEqual([1, 2]);
    expect(stored?.status).toBe('succeeded');
    expect(stored).not.toHaveProperty('nextAttemptAt');
    expect(stored).not.toHaveProperty('lastError');
  });

  it('lists a webhook’s deliveries newest first, filtered by status, page by page', async () => {
    const made: DeliveryRecord[] = [];
    for (let index = 0; index < 7; index += 1) {
      const record = delivery('wh_C', { status: index % 2 === 0 ? 'failed' : 'succeeded' });
      await deliveries.createIfAbsent(record);
      made.push(record);
    }
    await deliveries.createIfAbsent(delivery('wh_other'));
    const failedNewestFirst = made.filter((record) => record.status === 'failed').map((record) => record.id).reverse();

    const first = await deliveries.list('acme', 'wh_C', { limit: 3, status: 'failed' });
    const second = await deliveries.list('acme', 'wh_C', { limit: 3, status: 'failed', afterId: first.lastId! });

    expect(first.items.map((record) => record.id)).toEqual(failedNewestFirst.slice(0, 3));
    expect(second.items.map((record) => record.id)).toEqual(failedNewestFirst.slice(3));
    expect(second.lastId).toBeUndefined();
    expect((await deliveries.list('acme', 'wh_C', { limit: 10 })).items).toHaveLength(7);
  });

  it('records a delivery with the first claim on it, pending, expiring after the retention', async () => {
    const record = delivery('wh_F');
    const key = { tenantId: 'acme', webhookId: 'wh_F', deliveryId: record.id };

    expect(await deliveries.claimAttempt(key, record.event, 1, new Date(now + 45_000))).toEqual({ kind: 'claimed', delivery: record });

    expect(await deliveries.get(key)).toEqual(record);
    expect((await deliveries.list('acme', 'wh_F', { limit: 10 })).items).toEqual([record]);
    now += 31 * 86_400_000;
    expect(await deliveries.get(key)).toBeUndefined();
  });

  it('lets one worker at a time claim an attempt, until it is recorded or the claim lapses', async () => {
    const record = delivery('wh_E');
    const key = { tenantId: 'acme', webhookId: 'wh_E', deliveryId: record.id };
    await deliveries.createIfAbsent(record);
    const lapseAt = new Date(now + 45_000);
    const claim = (attempt: number, until: Date) => deliveries.claimAttempt(key, record.event, attempt, until);

    expect(await claim(1, lapseAt)).toEqual({ kind: 'claimed', delivery: record });
    expect(await claim(1, new Date(now + 90_000))).toEqual({ kind: 'held', until: lapseAt });
    expect(await deliveries.get(key)).toEqual(record); // the claim is bookkeeping, not part of the delivery

    now += 45_000; // the first claimant died without recording: the attempt can be claimed again
    expect(await claim(1, new Date(now + 45_000))).toMatchObject({ kind: 'claimed' });
    await deliveries.recordAttempt(key, { attempt: 1, at: record.createdAt, durationMs: 3, statusCode: 500, error: 'http_5xx' }, {
      status: 'retrying',
      lastError: 'http_5xx',
    });

    expect(await claim(1, new Date(now + 45_000))).toEqual({ kind: 'made' });
    const second = await claim(2, new Date(now + 45_000));
    expect(second).toMatchObject({ kind: 'claimed', delivery: { status: 'retrying', attempts: [{ attempt: 1 }], createdAt: record.createdAt } });
  });

  it('releases a claim so that the attempt can be claimed at once, but never once the attempt is made', async () => {
    const record = delivery('wh_R');
    const key = { tenantId: 'acme', webhookId: 'wh_R', deliveryId: record.id };
    const claim = (attempt: number) => deliveries.claimAttempt(key, record.event, attempt, new Date(now + 45_000));
    await deliveries.createIfAbsent(record);
    await claim(1);

    await deliveries.releaseClaim(key, 1);

    expect(await claim(1)).toMatchObject({ kind: 'claimed' });
    await deliveries.recordAttempt(key, { attempt: 1, at: record.createdAt, durationMs: 3, statusCode: 500, error: 'http_5xx' }, {
      status: 'retrying',
    });
    await deliveries.releaseClaim(key, 1);
    expect(await claim(1)).toEqual({ kind: 'made' });
    await claim(2);
    await deliveries.releaseClaim(key, 1); // another attempt's claim stays
    expect(await claim(2)).toMatchObject({ kind: 'held' });
  });

  it('marks a delivery pending for a queued attempt unless that attempt is recorded already, keeping the last error', async () => {
    const record = delivery('wh_F', {
      status: 'retrying',
      lastError: 'http_5xx',
      nextAttemptAt: new Date(now + 60_000).toISOString(),
      attempts: [{ attempt: 1, at: clock.now().toISOString(), durationMs: 3, statusCode: 500, error: 'http_5xx' }],
    });
    const key = { tenantId: 'acme', webhookId: 'wh_F', deliveryId: record.id };
    await deliveries.createIfAbsent(record);

    await deliveries.markPending(key, 2);
    const { nextAttemptAt: _cleared, ...pending } = { ...record, status: 'pending' as const, updatedAt: clock.now().toISOString() };
    expect(await deliveries.get(key)).toEqual(pending);

    // A worker that made attempt 2 before the mark keeps its outcome.
    await deliveries.recordAttempt(key, { attempt: 2, at: clock.now().toISOString(), durationMs: 4, statusCode: 200 }, { status: 'succeeded' });
    await deliveries.markPending(key, 2);
    expect(await deliveries.get(key)).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1 }, { attempt: 2 }] });
    await deliveries.markPending(key, 3);
    expect((await deliveries.get(key))?.status).toBe('pending');

    const absent = { tenantId: 'acme', webhookId: 'wh_F', deliveryId: ulidIds.deliveryId() };
    await deliveries.markPending(absent, 1);
    expect(await deliveries.get(absent)).toBeUndefined();
    await deliveries.recordAttempt(key, { attempt: 3, at: clock.now().toISOString(), durationMs: 4, statusCode: 200 }, { status: 'succeeded' });
    now += 31 * 86_400_000; // past retention: left as it is
    await deliveries.markPending(key, 4);
    now -= 31 * 86_400_000;
    expect((await deliveries.get(key))?.status).toBe('succeeded');
  });

  it('hides deliveries past their retention even before TTL deletes them', async () => {
    const old = delivery('wh_D');
    await deliveries.createIfAbsent(old);
    now += 31 * 86_400_000;
    expect(await deliveries.get({ tenantId: 'acme', webhookId: 'wh_D', deliveryId: old.id })).toBeUndefined();
    expect((await deliveries.list('acme', 'wh_D', { limit: 10 })).items).toEqual([]);
    expect(await deliveries.claimAttempt({ tenantId: 'acme', webhookId: 'wh_D', deliveryId: old.id }, old.event, 1, clock.now())).toEqual({
      kind: 'expired',
    });
  });
});

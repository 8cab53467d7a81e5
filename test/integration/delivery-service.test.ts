import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { SqsDeliveryJobQueue } from '../../functions/adapters/sqs/delivery-queue.js';
import { DeliveryJob } from '../../functions/contracts/delivery.schema.js';
import type { DeliveryStatus } from '../../functions/contracts/delivery.schema.js';
import { DeliveryService } from '../../functions/domain/delivery/delivery.service.js';
import { NotFoundError, ValidationError } from '../../functions/domain/errors.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { startTestTable } from '../support/dynamodb-store.js';
import { sqsClientFor } from '../support/embedded-sqs-client.js';
import { makeDelivery, makeWebhook, queueMadeAtOnce } from '../support/records.js';

/**
 * The tenant-facing delivery use cases (the attempt log, retry, recover, ping) on the real store and the embedded
 * SQS, in the test's own process: the API suites that also cover them run `npm start` in a child process, out of
 * the mutation runs' reach (TESTING.md). Recover: every failed delivery since the time is re-sent, across as many
 * pages of the delivery log as it takes, and nothing else is.
 */
let now = Date.parse('2026-06-10T00:00:00.000Z');
const clock = { now: () => new Date(now) };
let store: Awaited<ReturnType<typeof startTestTable>>;
let sqsServer: EmbeddedSqs;
let sqs: SQSClient;

beforeAll(async () => {
  store = await startTestTable();
  sqsServer = new EmbeddedSqs({ region: 'us-east-1', now: () => now });
  await sqsServer.start();
  sqs = sqsClientFor(sqsServer);
});
afterAll(async () => {
  sqs.destroy();
  await sqsServer.stop();
  await store.stop();
});

const receiveAll = async (queueUrl: string): Promise<DeliveryJob[]> => {
  const jobs: DeliveryJob[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
    if (Messages.length === 0) return jobs;
    jobs.push(...Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!))));
  }
};

/** A service on a queue of its own, with one webhook of tenant `acme`. */
const setup = async (name: string) => {
  const queueUrl = sqsServer.createQueue(name);
  const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
  const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
  const jobs = new SqsDeliveryJobQueue(sqs, queueUrl);
  const service = new DeliveryService({ webhooks, deliveries, jobs, clock, ids: ulidIds });
  /** The service with a worker that makes each queued attempt before the service's next write. */
  const racedService = new DeliveryService({ webhooks, deliveries, jobs: queueMadeAtOnce(jobs, deliveries), clock, ids: ulidIds });
  const webhook = makeWebhook('acme', `https://receiver.example.com/hooks/${name}`, { name: `orders ${name}`, now: clock.now() });
  await webhooks.create(webhook);
  const key = (deliveryId: string) => ({ tenantId: 'acme', webhookId: webhook.id, deliveryId });
  /** A delivery of a new event, `minutesAgo` old, with `attempts` attempts made and ended in `status`. */
  const seed = async (minutesAgo: number, status: DeliveryStatus, attempts: number, extra: { lastError?: string; nextAttemptAt?: string } = {}) => {
    const createdAt = new Date(now - minutesAgo * 60_000);
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: createdAt.toISOString(), data: { n: minutesAgo } };
    const { record } = makeDelivery(webhook, event, { now: createdAt });
    const made = Array.from({ length: attempts }, (_, index) => ({ attempt: index + 1, at: createdAt.toISOString(), durationMs: 7, statusCode: 500 }));
    const stored = { ...record, status, attempts: made, ...extra };
    await deliveries.createIfAbsent(stored);
    return stored;
  };
  return { queueUrl, deliveries, service, racedService, webhook, key, seed };
};

const rejectionOf = async (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('the attempt log', () => {
  it('lists newest first with each attempt count and the optional fields, filtered by status, in cursor pages', async () => {
    const { service, webhook, seed } = await setup('list');
    const oldest = await seed(30, 'failed', 3, { lastError: 'http_5xx' });
    const middle = await seed(20, 'succeeded', 1);
    const newest = await seed(10, 'pending', 1, { lastError: 'timeout', nextAttemptAt: new Date(now + 5000).toISOString() });

    const first = await service.list('acme', webhook.id, { limit: 2 });
    const second = await service.list('acme', webhook.id, { limit: 2, cursor: first.nextCursor! });
    const failed = await service.list('acme', webhook.id, { limit: 10, status: 'failed' });

    const view = (record: typeof oldest) => ({
      id: record.id,
      webhookId: webhook.id,
      eventId: record.event.id,
      eventType: 'order.created',
      status: record.status,
      attempts: record.attempts.length,
      ...(record.nextAttemptAt !== undefined && { nextAttemptAt: record.nextAttemptAt }),
      ...(record.lastError !== undefined && { lastError: record.lastError }),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    });
    expect(first.data).toEqual([view(newest), view(middle)]);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(second).toEqual({ data: [view(oldest)], nextCursor: null });
    expect(failed).toEqual({ data: [view(oldest)], nextCursor: null });
  });

  it('shows one delivery with its attempts; an unknown delivery or webhook is not found', async () => {
    const { service, webhook, seed } = await setup('get');
    const delivery = await seed(5, 'failed', 2, { lastError: 'http_5xx' });

    expect(await service.get('acme', webhook.id, delivery.id)).toEqual({
      id: delivery.id,
      webhookId: webhook.id,
      eventId: delivery.event.id,
      eventType: 'order.created',
      status: 'failed',
      attempts: delivery.attempts,
      lastError: 'http_5xx',
      createdAt: delivery.createdAt,
      updatedAt: delivery.updatedAt,
    });
    expect(await rejectionOf(service.get('acme', webhook.id, 'dlv_missing'))).toEqual(new NotFoundError('No delivery with id dlv_missing'));
    expect(await rejectionOf(service.list('acme', 'wh_missing', { limit: 10 }))).toEqual(new NotFoundError('No webhook with id wh_missing'));
  });
});

describe('a manual retry', () => {
  it('queues the same event as one more attempt, marked manual, and shows the delivery pending', async () => {
    const { queueUrl, deliveries, service, webhook, key, seed } = await setup('retry');
    const delivery = await seed(5, 'failed', 3, { lastError: 'http_5xx' });

    expect(await service.retry('acme', webhook.id, delivery.id)).toEqual({ deliveryId: delivery.id, eventId: delivery.event.id });

    expect(await receiveAll(queueUrl)).toEqual([
      { deliveryId: delivery.id, tenantId: 'acme', webhookId: webhook.id, event: delivery.event, attempt: 4, manual: true },
    ]);
    expect((await deliveries.get(key(delivery.id)))?.status).toBe('pending');
    expect(await rejectionOf(service.retry('acme', webhook.id, 'dlv_missing'))).toBeInstanceOf(NotFoundError);
    expect(await receiveAll(queueUrl)).toEqual([]);
  });
});

describe('a manual retry or recover raced by its worker', () => {
  it('leaves the delivery as the worker recorded it, not pending', async () => {
    const { deliveries, racedService, webhook, key, seed } = await setup('raced');
    const retried = await seed(5, 'failed', 1);
    const recovered = await seed(4, 'failed', 2);

    await racedService.retry('acme', webhook.id, retried.id);
    expect(await racedService.recover('acme', webhook.id, new Date(now - 10 * 60_000))).toEqual({ recovered: 1 });

    expect(await deliveries.get(key(retried.id))).toMatchObject({ status: 'succeeded', attempts: [{}, { attempt: 2, statusCode: 200 }] });
    expect(await deliveries.get(key(recovered.id))).toMatchObject({ status: 'succeeded', attempts: [{}, {}, { attempt: 3 }] });
  });

  it('recovers each delivery once when its new attempt fails again before the next page is read', async () => {
    const { queueUrl, deliveries, webhook, key, seed } = await setup('raced-recover');
    const failed = [];
    for (let index = 0; index < 120; index += 1) failed.push(await seed(1 + index / 100, 'failed', 1));
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const failingAtOnce = queueMadeAtOnce(new SqsDeliveryJobQueue(sqs, queueUrl), deliveries, 'failed');
    const service = new DeliveryService({ webhooks, deliveries, jobs: failingAtOnce, clock, ids: ulidIds });

    expect(await service.recover('acme', webhook.id, new Date(now - 60 * 60_000))).toEqual({ recovered: 120 });

    const jobs = await receiveAll(queueUrl);
    expect(jobs.map((job) => job.deliveryId).sort()).toEqual(failed.map((delivery) => delivery.id).sort());
    expect(await deliveries.get(key(failed[0]!.id))).toMatchObject({ status: 'failed', attempts: [{}, { attempt: 2, statusCode: 500 }] });
  });
});

describe('a ping', () => {
  it('records a pending delivery of a ping event naming the webhook, and queues its first attempt', async () => {
    const { queueUrl, deliveries, service, webhook, key } = await setup('ping');

    const { deliveryId, eventId } = await service.ping('acme', webhook.id);

    const event = { id: eventId, type: 'ping', timestamp: clock.now().toISOString(), data: { webhookId: webhook.id, message: `Test event for webhook "${webhook.name}"` } };
    expect(await deliveries.get(key(deliveryId))).toMatchObject({ id: deliveryId, event, status: 'pending', attempts: [] });
    expect(await receiveAll(queueUrl)).toEqual([{ deliveryId, tenantId: 'acme', webhookId: webhook.id, event, attempt: 1 }]);
    expect(await rejectionOf(service.ping('acme', 'wh_missing'))).toEqual(new NotFoundError('No webhook with id wh_missing'));
  });
});

describe('recover', () => {
  it('refuses a time older than the log keeps or in the future, naming `since`, and queues nothing', async () => {
    const { queueUrl, service, webhook, seed } = await setup('recover-window');
    await seed(5, 'failed', 1);
    const refusal = new ValidationError([{ path: 'since', message: 'must be within the last 14 days' }]);

    for (const since of [new Date(now - 14 * 86_400_000 - 1000), new Date(now + 60_000)]) {
      const error = await rejectionOf(service.recover('acme', webhook.id, since));
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details).toEqual(refusal.details);
    }
    expect(await service.recover('acme', webhook.id, new Date(now - 14 * 86_400_000 + 1000))).toEqual({ recovered: 1 });
    expect(await receiveAll(queueUrl)).toHaveLength(1);
    expect(await service.recover('acme', webhook.id, new Date(now))).toEqual({ recovered: 0 }); // now itself is in the window
  });

it('re-sends every failed delivery since the time, over several pages, and no succeeded or older one', async () => {
  const queueUrl = sqsServer.createQueue('recover');
  const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
  const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
  const service = new DeliveryService({ webhooks, deliveries, jobs: new SqsDeliveryJobQueue(sqs, queueUrl), clock, ids: ulidIds });
  const webhook = makeWebhook('acme', 'https://receiver.example.com/hooks', { now: clock.now() });
  await webhooks.create(webhook);
  const since = new Date(now - 3 * 86_400_000);
  /** A delivery created `hoursAgo` before now, ended in `status` after one attempt. */
  const seed = async (hoursAgo: number, status: DeliveryStatus) => {
    const createdAt = new Date(now - hoursAgo * 3600_000);
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: createdAt.toISOString(), data: {} };
    const { record } = makeDelivery(webhook, event, { now: createdAt }); // its id sorts by the event time, as the log does
    await deliveries.createIfAbsent({
      ...record,
      status,
      attempts: [{ attempt: 1, at: createdAt.toISOString(), durationMs: 12, statusCode: status === 'failed' ? 500 : 200 }],
    });
    return record.id;
  };
  // 230 failed in the window (three pages of 100), interleaved with succeeded ones; failed ones from before it.
  const failedInWindow: string[] = [];
  const succeeded: string[] = [];
  for (let index = 0; index < 230; index += 1) {
    failedInWindow.push(await seed(1 + index * 0.25, 'failed'));
    if (index % 10 === 0) succeeded.push(await seed(1 + index * 0.25 + 0.1, 'succeeded'));
  }
  const tooOld = [await seed(24 * 4, 'failed'), await seed(24 * 5, 'failed')];

  expect(await service.recover('acme', webhook.id, since)).toEqual({ recovered: 230 });

  const jobs = await receiveAll(queueUrl);
  expect(jobs.map((job) => job.deliveryId).sort()).toEqual([...failedInWindow].sort());
  expect(jobs.every((job) => job.manual === true && job.attempt === 2)).toBe(true);
  for (const id of [...succeeded, ...tooOld]) expect(jobs.map((job) => job.deliveryId)).not.toContain(id);
  expect((await deliveries.get({ tenantId: 'acme', webhookId: webhook.id, deliveryId: tooOld[0]! }))?.status).toBe('failed');
  expect((await deliveries.get({ tenantId: 'acme', webhookId: webhook.id, deliveryId: failedInWindow[229]! }))?.status).toBe('pending');
}, 120_000);
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { createUndiciSender } from '../../functions/adapters/http/undici-sender.js';
import { EmfDeliveryMetrics } from '../../functions/adapters/metrics/emf-delivery-metrics.js';
import { SqsDeadLetterSink, SqsDeliveryJobQueue } from '../../functions/adapters/sqs/delivery-queue.js';
import { DeliveryJob } from '../../functions/contracts/delivery.schema.js';
import { DeliveryWorker } from '../../functions/domain/delivery/delivery-worker.service.js';
import { FanOut } from '../../functions/domain/delivery/fan-out.js';
import { WebhookService } from '../../functions/domain/webhook.service.js';
import { parkWithVisibilityTimeout, processSqsBatch } from '../../functions/handlers/sqs-batch.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { captureEmf } from '../support/emf.js';
import { startTestTable } from '../support/dynamodb-store.js';
import { recordTableActions } from '../support/table-actions.js';
import { DELIVERY_WORKER_TABLE_ACTIONS } from '../../lib/constructs/delivery-worker.js';
import { createDocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sqsClientFor } from '../support/embedded-sqs-client.js';
import { makeDelivery, makeWebhook } from '../support/records.js';

/**
 * Retry delays longer than SQS's 15-minute DelaySeconds, on a simulated clock shared by the worker and the
 * embedded SQS: the retry is queued with the maximum delay and a due time, parked with a visibility timeout when
 * it surfaces early, and made when due. Real store, real queue, real receiver.
 */
let now = Date.parse('2026-06-01T00:00:00.000Z');
const clock = { now: () => new Date(now) };
let store: Awaited<ReturnType<typeof startTestTable>>;
let sqsServer: EmbeddedSqs;
let sqs: SQSClient;
let receiver: Server;
let hits = 0;
let slowHits = 0;
/** The workers' own store client: its table actions are held against what the CDK construct grants the worker. */
let workerDb: DynamoDBDocumentClient;
let workerTableActions: Set<string>;
const workerRepositories = () => ({
  webhooks: new DynamoWebhookRepository(workerDb, store.tableName, clock),
  deliveries: new DynamoDeliveryRepository(workerDb, store.tableName, clock),
});

beforeAll(async () => {
  store = await startTestTable();
  workerDb = createDocumentClient({ region: 'us-east-1', endpoint: store.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  workerTableActions = recordTableActions(workerDb);
  sqsServer = new EmbeddedSqs({ region: 'us-east-1', now: () => now });
  await sqsServer.start();
  sqs = sqsClientFor(sqsServer);
  receiver = createServer((request, response) => {
    if (request.url === '/slow-ok') {
      slowHits += 1;
      setTimeout(() => response.writeHead(204).end(), 300);
      return;
    }
    hits += 1;
    response.writeHead(503).end('down for maintenance');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  workerDb.destroy();
  sqs.destroy();
  await sqsServer.stop();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await store.stop();
});

it('waits an hour between attempts by queueing with the maximum delay, then parking until due', async () => {
  const deliveriesQueue = sqsServer.createQueue('deliveries');
  const deadLetterQueue = sqsServer.createQueue('deliveries-dlq');
  const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
  const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
  const sender = createUndiciSender({ allowPrivateDestinations: true, allowHttp: true });
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const emf = captureEmf();
  const metrics = new EmfDeliveryMetrics('delivery-worker');
  const worker = new DeliveryWorker({
    ...workerRepositories(),
    jobs: new SqsDeliveryJobQueue(sqs, deliveriesQueue),
    deadLetters: new SqsDeadLetterSink(sqs, deadLetterQueue),
    sender,
    clock,
    retryPolicy: { delaysSeconds: [3600], jitter: 0 },
    attemptClaimSeconds: 45,
    health: { disableAfterSeconds: 5 * 86_400, minFailures: 10 },
    fanOut: new FanOut({ webhooks: workerRepositories().webhooks, jobs: new SqsDeliveryJobQueue(sqs, deliveriesQueue) }),
    logger: { info: () => undefined, warn: () => undefined },
    metrics,
  });
  const webhook = makeWebhook('acme', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, { now: clock.now() });
  await webhooks.create(webhook);
  const event = { id: 'evt_long_wait', type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
  const { record, job } = makeDelivery(webhook, event, { id: ulidIds.deliveryId(), now: clock.now() });
  const key = { tenantId: 'acme', webhookId: webhook.id, deliveryId: record.id };
  const consume = async () => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deliveriesQueue, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
    );
    const batch: SQSEvent = {
      Records: Messages.map((message) => ({ messageId: message.MessageId!, receiptHandle: message.ReceiptHandle!, body: message.Body! })) as SQSEvent['Records'],
    };
    return processSqsBatch(batch, (record) => worker.process(DeliveryJob.parse(JSON.parse(record.body))), {
      logger: { error: () => undefined },
      park: parkWithVisibilityTimeout(sqs, deliveriesQueue),
    });
  };
  const delayedMessages = async () => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: deliveriesQueue, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }),
    );
    return Number(Attributes?.ApproximateNumberOfMessagesDelayed);
  };

  // Attempt 1 fails: the retry is queued 15 minutes out, carrying its real due time.
  expect(await worker.process(job)).toEqual({
    kind: 'done',
  });
  expect(hits).toBe(1);
  expect(await deliveries.get(key)).toMatchObject({ status: 'retrying', nextAttemptAt: '2026-06-01T01:00:00.000Z' });
  expect(await delayedMessages()).toBe(1);

  // After 15 minutes the message surfaces early: it is parked for the remaining 45 minutes, nothing is sent.
  now += 15 * 60_000;
  const early = await consume();
  expect(early.batchItemFailures).toHaveLength(1);
  expect(hits).toBe(1);
  now += 44 * 60_000;
  expect((await consume()).batchItemFailures).toHaveLength(0); // still hidden: nothing received

  // At the due time the attempt is made; it is the last, so the delivery is dead-lettered.
  now += 60_000;
  expect((await consume()).batchItemFailures).toHaveLength(0);
  expect(hits).toBe(2);
  expect(await deliveries.get(key)).toMatchObject({ status: 'failed', lastError: 'http_5xx', attempts: [{ attempt: 1 }, { attempt: 2 }] });
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueue }));
  expect(JSON.parse(Messages[0]!.Body!)).toMatchObject({ kind: 'delivery_exhausted', job: { attempt: 2 } });
  await sender.close();

  // Each outcome was counted as Embedded Metric Format, valid by the EMF specification.
  metrics.flush();
  emf.restore();
  const lines = emf.lines();
  const total = (name: string) => lines.reduce((sum, line) => sum + (typeof line[name] === 'number' ? (line[name] as number) : 0), 0);
  expect(lines.every((line) => line._aws.CloudWatchMetrics[0]?.Namespace === 'WebhookPlatform')).toBe(true);
  expect(lines.filter((line) => line.Reason === 'http_5xx').map((line) => line.AttemptsFailed)).toEqual([1, 1]);
  expect(total('RetriesScheduled')).toBe(1);
  expect(total('DeadLettered')).toBe(1);
  expect(lines.some((line) => Object.keys(line).some((key) => /tenant|webhook/i.test(key)))).toBe(false);
});

describe('endpoint health', () => {
  const setup = async (options: { retries: number[]; minFailures: number }) => {
    const queueUrl = sqsServer.createQueue(`health-${Math.random().toString(36).slice(2)}`);
    const deadLetterUrl = sqsServer.createQueue(`health-dlq-${Math.random().toString(36).slice(2)}`);
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const jobs = new SqsDeliveryJobQueue(sqs, queueUrl);
    const sender = createUndiciSender({ allowPrivateDestinations: true, allowHttp: true });
    const worker = new DeliveryWorker({
      ...workerRepositories(),
      jobs,
      deadLetters: new SqsDeadLetterSink(sqs, deadLetterUrl),
      sender,
      clock,
      retryPolicy: { delaysSeconds: options.retries, jitter: 0 },
      attemptClaimSeconds: 45,
      health: { disableAfterSeconds: 5 * 86_400, minFailures: options.minFailures },
      fanOut: new FanOut({ webhooks: workerRepositories().webhooks, jobs }),
      logger: { info: () => undefined, warn: () => undefined },
      metrics: new EmfDeliveryMetrics('delivery-worker'),
    });
    const tenantId = `tenant${Math.random().toString(36).slice(2, 8)}`;
    const webhookFor = (path: string, events: string[]) =>
      makeWebhook(tenantId, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${path}`, { events, name: path, now: clock.now() });
    const failing = webhookFor('/failing', ['order.created']);
    const watcher = webhookFor('/watcher', ['webhook.disabled', 'delivery.exhausted']);
    await webhooks.create(failing);
    await webhooks.create(watcher);
    const attempt = async (deliveryId: string, number: number) => {
      const event = { id: `evt_${deliveryId}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
      const { job } = makeDelivery(failing, event, { id: deliveryId, now: clock.now() });
      return worker.process({ ...job, attempt: number });
    };
    /** The events queued for the watcher (fan-out queues jobs; a worker would record the deliveries). */
    const queuedForWatcher = async () => {
      const events: unknown[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
        if (Messages.length === 0) return events;
        const jobs = Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!)));
        events.push(...jobs.filter((job) => job.webhookId === watcher.id).map((job) => job.event));
      }
    };
    return { webhooks, failing, watcher, attempt, queuedForWatcher, close: () => sender.close(), tenantId };
  };

  it('disables a webhook whose every delivery failed for five days, and tells the tenant’s webhook.disabled subscribers', async () => {
    const health = await setup({ retries: [86_400, 86_400, 86_400, 86_400, 86_400, 86_400], minFailures: 3 });
    for (let day = 0; day < 5; day += 1) {
      await health.attempt(ulidIds.deliveryId(), 1);
      expect((await health.webhooks.get(health.tenantId, health.failing.id))?.enabled).toBe(true);
      now += 86_400_000;
    }

    await health.attempt(ulidIds.deliveryId(), 1); // five days after the first failure

    const disabled = await health.webhooks.get(health.tenantId, health.failing.id);
    expect(disabled).toMatchObject({ enabled: false, consecutiveFailures: 6, disabledReason: expect.stringContaining('6 failed attempts') });
    expect(await health.queuedForWatcher()).toEqual([
      expect.objectContaining({
        type: 'webhook.disabled',
        data: expect.objectContaining({ webhookId: health.failing.id, reason: disabled?.disabledReason }),
      }),
    ]);

    // Re-enabling through the API clears the reason and the failure run.
    const service = new WebhookService({
      webhooks: health.webhooks,
      destinations: { check: async () => undefined },
      clock,
      ids: ulidIds,
      secretOverlapSeconds: 86_400,
    });
    await service.update(health.tenantId, health.failing.id, { enabled: true });
    const reEnabled = await health.webhooks.get(health.tenantId, health.failing.id);
    expect(reEnabled?.enabled).toBe(true);
    for (const field of ['disabledReason', 'disabledAt', 'failingSince', 'consecutiveFailures']) expect(reEnabled).not.toHaveProperty(field);
    await health.close();
  });

  it('ends the failure run on a success, so scattered failures never disable', async () => {
    const health = await setup({ retries: [60], minFailures: 1 });
    await health.attempt(ulidIds.deliveryId(), 1);
    await health.webhooks.clearFailures(health.tenantId, health.failing.id);
    now += 6 * 86_400_000;
    await health.attempt(ulidIds.deliveryId(), 1);
    expect((await health.webhooks.get(health.tenantId, health.failing.id))?.enabled).toBe(true);
    await health.close();
  });

  it('announces a dead-lettered delivery as delivery.exhausted to the tenant’s other subscribed webhooks', async () => {
    const health = await setup({ retries: [], minFailures: 100 });
    const deliveryId = ulidIds.deliveryId();

    await health.attempt(deliveryId, 1);

    expect(await health.queuedForWatcher()).toEqual([
      expect.objectContaining({
        type: 'delivery.exhausted',
        data: { webhookId: health.failing.id, deliveryId, eventId: `evt_${deliveryId}`, eventType: 'order.created', attempts: 1, lastError: 'http_5xx' },
      }),
    ]);
    await health.close();
  });
});

describe('two copies of one job (an event published twice, a message received twice)', () => {
  const setup = async () => {
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
    const jobs = new SqsDeliveryJobQueue(sqs, sqsServer.createQueue(`copies-${Math.random().toString(36).slice(2)}`));
    const sender = createUndiciSender({ allowPrivateDestinations: true, allowHttp: true });
    const worker = new DeliveryWorker({
      ...workerRepositories(),
      jobs,
      deadLetters: new SqsDeadLetterSink(sqs, sqsServer.createQueue(`copies-dlq-${Math.random().toString(36).slice(2)}`)),
      sender,
      clock,
      retryPolicy: { delaysSeconds: [60], jitter: 0 },
      attemptClaimSeconds: 45,
      health: { disableAfterSeconds: 5 * 86_400, minFailures: 10 },
      fanOut: new FanOut({ webhooks: workerRepositories().webhooks, jobs }),
      logger: { info: () => undefined, warn: () => undefined },
      metrics: new EmfDeliveryMetrics('delivery-worker'),
    });
    const webhook = makeWebhook(`tenant${Math.random().toString(36).slice(2, 8)}`, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slow-ok`, {
      now: clock.now(),
    });
    await webhooks.create(webhook);
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
    const { record, job } = makeDelivery(webhook, event, { now: clock.now() });
    const key = { tenantId: webhook.tenantId, webhookId: webhook.id, deliveryId: record.id };
    return { worker, deliveries, job, key, close: () => sender.close() };
  };

  it('POSTs once when processed at the same time: the copy waits while the attempt is in flight, then is dropped', async () => {
    const { worker, deliveries, job, key, close } = await setup();
    const before = slowHits;

    const outcomes = await Promise.all([worker.process(job), worker.process(job)]);

    expect(slowHits - before).toBe(1);
    expect(outcomes).toEqual(expect.arrayContaining([{ kind: 'done' }, { kind: 'park', seconds: 45 }]));
    expect(await deliveries.get(key)).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1, statusCode: 204 }] });
    expect(await worker.process(job)).toEqual({ kind: 'done' }); // the parked copy, when it surfaces
    expect(slowHits - before).toBe(1);
    await close();
  });

  it('makes the attempt once the claim of a worker that died mid-attempt has lapsed', async () => {
    const { worker, deliveries, job, key, close } = await setup();
    const before = slowHits;
    await deliveries.claimAttempt(key, job.event, 1, new Date(now + 45_000)); // a worker claimed, then died before recording

    expect(await worker.process(job)).toEqual({ kind: 'park', seconds: 45 });
    expect(slowHits - before).toBe(0);
    now += 45_000;
    expect(await worker.process(job)).toEqual({ kind: 'done' });

    expect(slowHits - before).toBe(1);
    expect(await deliveries.get(key)).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1 }] });
    await close();
  });
});

it('makes only the table actions the CDK construct grants the worker', () => {
  expect([...workerTableActions].sort()).toEqual([...DELIVERY_WORKER_TABLE_ACTIONS].sort());
});

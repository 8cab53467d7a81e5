import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { createHttpSender, type HttpSender } from '../../functions/adapters/http/http-sender.js';
import { EmfDeliveryMetrics } from '../../functions/adapters/metrics/emf-delivery-metrics.js';
import { SqsDeadLetterSink, SqsDeliveryJobQueue } from '../../functions/adapters/sqs/delivery-queue.js';
import type { DeliveryLogger, DeliveryMetrics, DeliveryRepository } from '../../functions/domain/delivery/delivery.ports.js';
import { DeliveryJob } from '../../functions/contracts/delivery.schema.js';
import {
  type CircuitBreakerPolicy,
  DeliveryWorker,
  MAX_PARK_SECONDS,
  type SlowLanePolicy,
} from '../../functions/domain/delivery/delivery-worker.service.js';
import { FanOut } from '../../functions/domain/delivery/fan-out.js';
import { WebhookService } from '../../functions/domain/webhook.service.js';
import { toWebhookView } from '../../functions/domain/webhook.js';
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
import { eventually } from '../support/eventually.js';
import { makeDelivery, makeWebhook } from '../support/records.js';
import { sealCredentials } from '../../functions/domain/credentials.js';
import type { CredentialsVault } from '../../functions/domain/ports.js';
import { generateSecret } from '../../functions/domain/webhook.js';
import { createTestVault } from '../support/credentials-vault.js';

/**
 * Retry delays longer than SQS's 15-minute DelaySeconds, on a simulated clock shared by the worker and the
 * embedded SQS: the retry is queued with the maximum delay and a due time, parked with a visibility timeout when
 * it surfaces early, and made when due. Real store, real queue, real receiver.
 */
let now = Date.parse('2026-06-01T00:00:00.000Z');
const clock = { now: () => new Date(now) };
const vault = createTestVault();
let store: Awaited<ReturnType<typeof startTestTable>>;
let sqsServer: EmbeddedSqs;
let sqs: SQSClient;
let receiver: Server;
let hits = 0;
let slowHits = 0;
/** Every request the receiver read, with its headers. */
const requests: { url: string; headers: IncomingHttpHeaders; at: number }[] = [];
const switchStatus = new Map<string, number>();
/** `/failing` answers 503 until this is set, then 204. */
let failingRecovered = false;
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
  // `/status/{code}?body={text}` answers that status and body; `/retry-after/{code}/{seconds}` that status with
  // Retry-After; `/hangs` never answers; `/switch/{name}` answers
  // switchStatus.get(name), 503 until set; the rest as below.
  receiver = createServer((request, response) => {
    requests.push({ url: request.url ?? '/', headers: request.headers, at: Date.now() });
    if (request.url === '/failing' && failingRecovered) {
      response.writeHead(204).end();
      return;
    }
    const answer = /^\/status\/(\d{3})(?:\?body=(.*))?$/.exec(request.url ?? '');
    if (answer) {
      response.writeHead(Number(answer[1])).end(decodeURIComponent(answer[2] ?? ''));
      return;
    }
    if (request.url === '/hangs') return; // never answers
    const retryAfter = /^\/retry-after\/(\d{3})\/(\d+)$/.exec(request.url ?? '');
    if (retryAfter) {
      response.writeHead(Number(retryAfter[1]), { 'retry-after': retryAfter[2]! }).end();
      return;
    }
    const switched = /^\/switch\/(.+)$/.exec(request.url ?? '');
    if (switched) {
      response.writeHead(switchStatus.get(switched[1]!) ?? 503).end();
      return;
    }
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

/** A worker on the real store, embedded queues and the HTTP sender, with the defaults of these tests. */
const newWorker = (options: {
  jobsQueueUrl: string;
  deadLetterQueueUrl: string;
  retries: number[];
  minFailures?: number;
  deliveries?: DeliveryRepository;
  metrics?: DeliveryMetrics;
  logger?: DeliveryLogger;
  sender?: HttpSender;
  /** Unless given, a threshold no test here reaches. */
  circuitBreaker?: CircuitBreakerPolicy;
  /** Unless given, one lane. */
  slowLane?: SlowLanePolicy & { queueUrl: string };
  random?: () => number;
  /** In place of the store's webhook repository (a raced one). */
  webhooks?: DynamoWebhookRepository;
  /** In place of real waits for a send slot. */
  sleep?: (ms: number) => Promise<void>;
  /** In place of the vault over the embedded KMS. */
  vault?: CredentialsVault;
}) => {
  const sender = options.sender ?? createHttpSender({ allowPrivateDestinations: true, allowHttp: true });
  const jobs = new SqsDeliveryJobQueue(sqs, options.jobsQueueUrl, options.slowLane?.queueUrl);
  const repositories = workerRepositories();
  const worker = new DeliveryWorker({
    ...repositories,
    ...(options.webhooks && { webhooks: options.webhooks }),
    ...(options.deliveries && { deliveries: options.deliveries }),
    ...(options.sleep && { sleep: options.sleep }),
    jobs,
    vault: options.vault ?? vault,
    deadLetters: new SqsDeadLetterSink(sqs, options.deadLetterQueueUrl),
    sender,
    clock,
    retryPolicy: { delaysSeconds: options.retries, jitter: 0 },
    attemptClaimSeconds: 45,
    health: { disableAfterSeconds: 5 * 86_400, minFailures: options.minFailures ?? 10 },
    circuitBreaker: options.circuitBreaker ?? { failureThreshold: 1000, coolOffSeconds: 30, maxCoolOffSeconds: 600 },
    ...(options.random && { random: options.random }),
    ...(options.slowLane && { slowLane: { deadlineMs: options.slowLane.deadlineMs, holdSeconds: options.slowLane.holdSeconds } }),
    fanOut: new FanOut({ webhooks: repositories.webhooks, jobs }),
    logger: options.logger ?? { debug: () => undefined, info: () => undefined, warn: () => undefined },
    metrics: options.metrics ?? new EmfDeliveryMetrics('delivery-worker'),
  });
  return { worker, close: () => sender.close() };
};

const uniqueName = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2)}`;
const receiverUrl = (path: string) => `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${path}`;

/**
 * Receives from the queue as the event source mapping does, runs the worker on the batch (parking included) and
 * deletes the messages it finished.
 */
const consumeWith = (worker: DeliveryWorker, queueUrl: string) => async () => {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }));
  const batch: SQSEvent = {
    Records: Messages.map((message) => ({ messageId: message.MessageId!, receiptHandle: message.ReceiptHandle!, body: message.Body! })) as SQSEvent['Records'],
  };
  const result = await processSqsBatch(batch, (record) => worker.process(DeliveryJob.parse(JSON.parse(record.body))), {
    logger: { error: () => undefined },
    park: parkWithVisibilityTimeout(sqs, queueUrl),
  });
  const kept = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
  const finished = batch.Records.filter((record) => !kept.has(record.messageId));
  if (finished.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: finished.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
      }),
    );
  }
  return { ...result, received: batch.Records.length };
};

/** The worker's logger and metrics ports, recording every call in order. */
const recorder = () => {
  const logged: { level: 'debug' | 'info' | 'warn'; message: string; fields: Record<string, unknown> }[] = [];
  const counted: unknown[][] = [];
  const logger: DeliveryLogger = {
    debug: (message, fields) => logged.push({ level: 'debug', message, fields }),
    info: (message, fields) => logged.push({ level: 'info', message, fields }),
    warn: (message, fields) => logged.push({ level: 'warn', message, fields }),
  };
  const metrics: DeliveryMetrics = {
    eventReceived: () => counted.push(['eventReceived']),
    eventRejected: () => counted.push(['eventRejected']),
    attemptSucceeded: (durationMs, eventAgeMs) => counted.push(['attemptSucceeded', durationMs, eventAgeMs]),
    attemptFailed: (reason, durationMs) => counted.push(['attemptFailed', reason, durationMs]),
    retryScheduled: () => counted.push(['retryScheduled']),
    deadLettered: () => counted.push(['deadLettered']),
    endpointDisabled: () => counted.push(['endpointDisabled']),
    circuitOpened: () => counted.push(['circuitOpened']),
    deliveryHeld: () => counted.push(['deliveryHeld']),
    deliveryThrottled: () => counted.push(['deliveryThrottled']),
    deliveryMovedToSlowLane: () => counted.push(['deliveryMovedToSlowLane']),
  };
  return { logged, counted, logger, metrics };
};

it('waits an hour between attempts by queueing with the maximum delay, then parking until due', async () => {
  const deliveriesQueue = sqsServer.createQueue('deliveries');
  const deadLetterQueue = sqsServer.createQueue('deliveries-dlq');
  const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
  const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const emf = captureEmf();
  const metrics = new EmfDeliveryMetrics('delivery-worker');
  const { worker, close } = newWorker({ jobsQueueUrl: deliveriesQueue, deadLetterQueueUrl: deadLetterQueue, retries: [3600], metrics });
  const webhook = makeWebhook('acme', receiverUrl('/hook'), { now: clock.now() });
  await webhooks.create(webhook);
  const event = { id: 'evt_long_wait', type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
  const { record, job } = makeDelivery(webhook, event, { id: ulidIds.deliveryId(), now: clock.now() });
  const key = { tenantId: 'acme', webhookId: webhook.id, deliveryId: record.id };
  const consume = consumeWith(worker, deliveriesQueue);
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
  await close();

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
  const setup = async (options: { retries: number[]; minFailures: number; failingEvents?: string[] }) => {
    const queueUrl = sqsServer.createQueue(uniqueName('health'));
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const { worker, close } = newWorker({
      jobsQueueUrl: queueUrl,
      deadLetterQueueUrl: sqsServer.createQueue(uniqueName('health-dlq')),
      retries: options.retries,
      minFailures: options.minFailures,
    });
    const tenantId = `tenant${Math.random().toString(36).slice(2, 8)}`;
    const webhookFor = (path: string, events: string[]) => makeWebhook(tenantId, receiverUrl(path), { events, name: path, now: clock.now() });
    const failing = webhookFor('/failing', options.failingEvents ?? ['order.created']);
    const watcher = webhookFor('/watcher', ['webhook.disabled', 'delivery.exhausted']);
    await webhooks.create(failing);
    await webhooks.create(watcher);
    const attempt = async (deliveryId: string, number: number) => {
      const event = { id: `evt_${deliveryId}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
      const { job } = makeDelivery(failing, event, { id: deliveryId, now: clock.now() });
      return worker.process({ ...job, attempt: number });
    };
    /** The jobs queued (fan-out queues jobs; a worker would record the deliveries), taken off the queue. */
    const queuedJobs = async () => {
      const jobs: DeliveryJob[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
        if (Messages.length === 0) return jobs;
        jobs.push(...Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!))));
      }
    };
    /** The events queued for the watcher. */
    const queuedForWatcher = async () => (await queuedJobs()).filter((job) => job.webhookId === watcher.id).map((job) => job.event);
    return { webhooks, failing, watcher, attempt, queuedJobs, queuedForWatcher, close, tenantId };
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
      vault,
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

  it('ends the failure run on a successful attempt, so scattered failures never disable', async () => {
    const health = await setup({ retries: [60], minFailures: 1 });
    await health.attempt(ulidIds.deliveryId(), 1);
    expect(await health.webhooks.get(health.tenantId, health.failing.id)).toMatchObject({ consecutiveFailures: 1 });
    failingRecovered = true;
    try {
      await health.attempt(ulidIds.deliveryId(), 1); // delivered
    } finally {
      failingRecovered = false;
    }
    const afterSuccess = await health.webhooks.get(health.tenantId, health.failing.id);
    for (const field of ['failingSince', 'consecutiveFailures']) expect(afterSuccess).not.toHaveProperty(field);

    now += 6 * 86_400_000;
    await health.attempt(ulidIds.deliveryId(), 1); // fails again, six days after the first failure

    expect(await health.webhooks.get(health.tenantId, health.failing.id)).toMatchObject({ enabled: true, consecutiveFailures: 1 });
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

  it('never tells the webhook an operational event is about, though it subscribes to that event too', async () => {
    const health = await setup({ retries: [], minFailures: 1, failingEvents: ['order.created', 'delivery.exhausted', 'webhook.disabled'] });
    await health.attempt(ulidIds.deliveryId(), 1);
    const jobs = await health.queuedJobs(); // read before the clock moves on past the queue's retention
    now += 6 * 86_400_000; // a failure run of more than five days: the next failure disables the webhook too
    await health.attempt(ulidIds.deliveryId(), 1);
    jobs.push(...(await health.queuedJobs()));

    expect(jobs.filter((job) => job.webhookId === health.watcher.id).map((job) => job.event.type).sort()).toEqual([
      'delivery.exhausted',
      'webhook.disabled',
    ]);
    expect(jobs.filter((job) => job.webhookId === health.failing.id)).toEqual([]);
    await health.close();
  });
});

describe('two copies of one job (an event published twice, a message received twice)', () => {
  const setup = async () => {
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
    const { logged, logger } = recorder();
    const { worker, close } = newWorker({
      jobsQueueUrl: sqsServer.createQueue(uniqueName('copies')),
      deadLetterQueueUrl: sqsServer.createQueue(uniqueName('copies-dlq')),
      retries: [60],
      logger,
    });
    const webhook = makeWebhook(`tenant${Math.random().toString(36).slice(2, 8)}`, receiverUrl('/slow-ok'), { now: clock.now() });
    await webhooks.create(webhook);
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
    const { record, job } = makeDelivery(webhook, event, { now: clock.now() });
    const key = { tenantId: webhook.tenantId, webhookId: webhook.id, deliveryId: record.id };
    /** The worker's log lines other than its attempts', with the fields every line of this job carries. */
    const otherLines = () => logged.filter((line) => line.message !== 'delivery attempt');
    const fields = { ...key, eventId: event.id, eventType: event.type, attempt: 1 };
    return { worker, webhooks, deliveries, webhook, job, key, close, otherLines, fields };
  };

  it('drops a copy that arrives after the claim lapsed when the attempt was already made', async () => {
    const { worker, deliveries, job, key, close, otherLines, fields } = await setup();
    const before = slowHits;
    expect(await worker.process(job)).toEqual({ kind: 'done' });

    now += 10 * 60_000; // long past the 45 s claim
    expect(await worker.process(job)).toEqual({ kind: 'done' });

    expect(slowHits - before).toBe(1);
    expect(await deliveries.get(key)).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1 }] });
    expect(otherLines()).toEqual([{ level: 'info', message: 'duplicate job dropped: attempt already made', fields }]);
    await close();
  });

  it('POSTs once when processed at the same time: the copy waits while the attempt is in flight, then is dropped', async () => {
    const { worker, deliveries, job, key, close, otherLines, fields } = await setup();
    const before = slowHits;

    const outcomes = await Promise.all([worker.process(job), worker.process(job)]);

    expect(slowHits - before).toBe(1);
    expect(outcomes).toEqual(expect.arrayContaining([{ kind: 'done' }, { kind: 'park', seconds: 45 }]));
    expect(otherLines()).toEqual([{ level: 'info', message: 'duplicate job parked: attempt in progress elsewhere', fields }]);
    expect(await deliveries.get(key)).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1, statusCode: 204 }] });
    expect(await worker.process(job)).toEqual({ kind: 'done' }); // the parked copy, when it surfaces
    expect(slowHits - before).toBe(1);
    await close();
  });

  it('sends nothing while the credentials cannot be opened (KMS unreachable), and gives the claim up for the next receive', async () => {
    const { worker, webhooks, deliveries, webhook, job, key, close } = await setup();
    const sealed = { ...webhook, credentials: await sealCredentials(vault, webhook, { secret: generateSecret() }), version: webhook.version + 1 };
    await webhooks.update(sealed, webhook);
    const unreachable = newWorker({
      jobsQueueUrl: sqsServer.createQueue(uniqueName('no-kms')),
      deadLetterQueueUrl: sqsServer.createQueue(uniqueName('no-kms-dlq')),
      retries: [60],
      vault: { seal: (plaintext, context) => vault.seal(plaintext, context), open: () => Promise.reject(new Error('KMS unreachable')) },
    });
    const before = slowHits;

    await expect(unreachable.worker.process(job)).rejects.toThrow('KMS unreachable');
    expect(slowHits - before).toBe(0);
    expect(await worker.process(job)).toEqual({ kind: 'done' }); // not parked behind a claim nobody holds

    expect(slowHits - before).toBe(1);
    expect(await deliveries.get(key)).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1, statusCode: 204 }] });
    await Promise.all([close(), unreachable.close()]);
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

  it('drops a copy whose delivery is past its retention, without sending it', async () => {
    const { worker, deliveries, job, key, close, otherLines, fields } = await setup();
    await deliveries.claimAttempt(key, job.event, 1, new Date(now + 45_000)); // stored, then never recorded
    const before = slowHits;

    now += 31 * 86_400_000; // the store keeps deliveries 30 days
    expect(await worker.process(job)).toEqual({ kind: 'done' });

    expect(slowHits - before).toBe(0);
    expect(otherLines()).toEqual([{ level: 'warn', message: 'job dropped: its delivery is past retention', fields }]);
    await close();
  });

  it('stops a delivery whose webhook was deleted after its job was queued, without sending it', async () => {
    const { worker, webhooks, deliveries, webhook, job, key, close, otherLines, fields } = await setup();
    await webhooks.delete(webhook.tenantId, webhook.id);
    const before = slowHits;

    expect(await worker.process(job)).toEqual({ kind: 'done' });

    expect(slowHits - before).toBe(0);
    expect(await deliveries.get(key)).toMatchObject({ status: 'failed', lastError: 'webhook_deleted', attempts: [] });
    expect(otherLines()).toEqual([{ level: 'info', message: 'delivery stopped', fields: { ...fields, reason: 'webhook_deleted' } }]);
    await close();
  });
});

describe('each attempt', () => {
  const setup = async (retries: number[], options: { deliveries?: DeliveryRepository; path?: string } = {}) => {
    const queueUrl = sqsServer.createQueue(uniqueName('attempts'));
    const deadLetterQueueUrl = sqsServer.createQueue(uniqueName('attempts-dlq'));
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
    const { worker, close } = newWorker({ jobsQueueUrl: queueUrl, deadLetterQueueUrl, retries, ...(options.deliveries && { deliveries: options.deliveries }) });
    const path = options.path ?? `/hook/${uniqueName('attempt')}`; // 503 unless given
    const webhook = makeWebhook(`tenant${Math.random().toString(36).slice(2, 8)}`, receiverUrl(path), { now: clock.now() });
    await webhooks.create(webhook);
    return { worker, webhooks, deliveries, webhook, path, queueUrl, consume: consumeWith(worker, queueUrl), close };
  };
  const requestsTo = (path: string) => requests.filter((request) => request.url === path);

  it('is signed with the time it is made, not the event’s, so receivers’ timestamp tolerance accepts retries', async () => {
    const { worker, webhook, path, consume, close } = await setup([3600]);
    const eventTime = new Date(now - 2 * 3600_000); // published two hours ago
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: eventTime.toISOString(), data: {} };
    const { job } = makeDelivery(webhook, event, { now: clock.now() });
    const firstAt = now;

    await worker.process(job);
    now += 3600_000;
    await consume(); // the retry, queued with the longest delay and its due time, is due now
    const timestamps = requestsTo(path).map((request) => Number(request.headers['webhook-timestamp']));

    expect(timestamps).toEqual([Math.floor(firstAt / 1000), Math.floor((firstAt + 3600_000) / 1000)]);
    expect(timestamps).not.toContain(Math.floor(eventTime.getTime() / 1000));
    await close();
  });

  it('is not made for a webhook disabled after its job was queued: the delivery fails as webhook_disabled', async () => {
    const { worker, webhooks, deliveries, webhook, path, close } = await setup([60]);
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
    const { record, job } = makeDelivery(webhook, event, { now: clock.now() });
    await webhooks.disable(webhook.tenantId, webhook.id, { reason: 'disabled by the tenant', at: clock.now().toISOString() });

    expect(await worker.process(job)).toEqual({ kind: 'done' });

    expect(requestsTo(path)).toEqual([]);
    expect(await deliveries.get({ tenantId: webhook.tenantId, webhookId: webhook.id, deliveryId: record.id })).toMatchObject({
      status: 'failed',
      lastError: 'webhook_disabled',
      attempts: [],
    });
    await close();
  });

  it('queues its follow-up before recording itself: a crash while recording loses no retry', async () => {
    const realDeliveries = new DynamoDeliveryRepository(workerDb, store.tableName, clock);
    const crashing: DeliveryRepository = Object.assign(Object.create(realDeliveries) as DeliveryRepository, {
      recordAttempt: async () => {
        throw new Error('worker died while recording the attempt');
      },
    });
    const { worker, webhook, queueUrl, close } = await setup([5], { deliveries: crashing });
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
    const { job } = makeDelivery(webhook, event, { now: clock.now() });

    await expect(worker.process(job)).rejects.toThrow('worker died while recording the attempt');

    now += 10_000; // past the retry's 5 s delay
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!)))).toEqual([
      expect.objectContaining({ deliveryId: job.deliveryId, attempt: 2 }),
    ]);
    await close();
  });

  it('is made again after a crash between the receiver’s 2xx and its record: a repeat the receiver can see, with the same ids', async () => {
    const realDeliveries = new DynamoDeliveryRepository(workerDb, store.tableName, clock);
    const crashing: DeliveryRepository = Object.assign(Object.create(realDeliveries) as DeliveryRepository, {
      recordAttempt: async () => {
        throw new Error('worker died after the POST');
      },
    });
    const { webhook, path, queueUrl, deliveries, worker: restarted, close } = await setup([60], { path: `/status/200?body=${uniqueName('crash')}` });
    const crashed = newWorker({ jobsQueueUrl: queueUrl, deadLetterQueueUrl: sqsServer.createQueue(uniqueName('crash-dlq')), retries: [60], deliveries: crashing });
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
    const { record, job } = makeDelivery(webhook, event, { now: clock.now() });
    await new SqsDeliveryJobQueue(sqs, queueUrl).enqueue([job]);

    expect((await consumeWith(crashed.worker, queueUrl)()).batchItemFailures).toHaveLength(1); // POSTed, then died
    now += 29_000;
    expect((await consumeWith(restarted, queueUrl)()).batchItemFailures).toHaveLength(0); // hidden: nothing yet
    expect(requestsTo(path)).toHaveLength(1);
    now += 2_000; // the message is visible again (30 s), the claim (45 s) still held: parked until it lapses
    expect((await consumeWith(restarted, queueUrl)()).batchItemFailures).toHaveLength(1);
    now += 15_000;
    await consumeWith(restarted, queueUrl)();

    const posts = requestsTo(path);
    expect(posts).toHaveLength(2);
    for (const header of ['webhook-id', 'webhook-delivery-id', 'webhook-attempt-id']) {
      expect(posts[1]!.headers[header]).toBe(posts[0]!.headers[header]);
    }
    expect(posts[0]!.headers['webhook-attempt-id']).toBe(`${record.id}.1`);
    expect(await deliveries.get({ tenantId: webhook.tenantId, webhookId: webhook.id, deliveryId: record.id })).toMatchObject({
      status: 'succeeded',
      attempts: [{ attempt: 1, statusCode: 200 }],
    });
    await crashed.close();
    await close();
  });

  it('waits a day by parking under SQS’s 12-hour visibility cap, which the embedded SQS enforces as SQS does', async () => {
    const { worker, webhook, path, consume, close } = await setup([86_400, 60]);
    const event = { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
    const { job } = makeDelivery(webhook, event, { now: clock.now() });
    const start = now;
    await worker.process(job); // attempt 1 fails; attempt 2 is due in 24 h
    const parkedFor = async (at: number) => {
      now = at;
      return (await consume()).batchItemFailures.length;
    };

    expect(await parkedFor(start + 15 * 60_000)).toBe(1); // surfaces after the 15-minute delay: parked
    expect(await parkedFor(start + 15 * 60_000 + MAX_PARK_SECONDS * 1000 - 1000)).toBe(0); // still hidden
    expect(await parkedFor(start + 15 * 60_000 + MAX_PARK_SECONDS * 1000 + 1000)).toBe(1); // surfaces: parked again
    expect(requestsTo(path)).toHaveLength(1);
    expect(await parkedFor(start + 86_400_000 + 1000)).toBe(0); // due: attempt 2 is made

    expect(requestsTo(path)).toHaveLength(2);
    await close();
  });
});

describe('what each attempt leaves behind: the attempt record, one structured log line, the metrics', () => {
  /** One attempt of a fresh delivery to `url`, published `eventAgeMs` ago, by a worker recording its outputs. */
  const attemptTo = async (
    url: string,
    options: { retries?: number[]; eventAgeMs?: number; sender?: HttpSender; job?: Partial<DeliveryJob> } = {},
  ) => {
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
    const outputs = recorder();
    const queues = { jobs: sqsServer.createQueue(uniqueName('outputs')), deadLetters: sqsServer.createQueue(uniqueName('outputs-dlq')) };
    const { worker, close } = newWorker({
      jobsQueueUrl: queues.jobs,
      deadLetterQueueUrl: queues.deadLetters,
      retries: options.retries ?? [60],
      logger: outputs.logger,
      metrics: outputs.metrics,
      ...(options.sender && { sender: options.sender }),
    });
    const webhook = makeWebhook(`tenant${Math.random().toString(36).slice(2, 8)}`, url, { now: clock.now() });
    await webhooks.create(webhook);
    const event = {
      id: `evt_${ulidIds.eventId()}`,
      type: 'order.created',
      timestamp: new Date(now - (options.eventAgeMs ?? 0)).toISOString(),
      data: {},
    };
    const { record, job } = makeDelivery(webhook, event, { now: clock.now() });
    const key = { tenantId: webhook.tenantId, webhookId: webhook.id, deliveryId: record.id };
    try {
      expect(await worker.process({ ...job, ...options.job })).toEqual({ kind: 'done' });
    } finally {
      await close();
    }
    const stored = await deliveries.get(key);
    const attempt = stored!.attempts[0]!;
    expect(stored!.attempts).toHaveLength(1);
    expect(Number.isInteger(attempt.durationMs)).toBe(true);
    const fields = { ...key, eventId: event.id, eventType: 'order.created', attempt: options.job?.attempt ?? 1 };
    /** Messages on a queue: visible, in flight or delayed. */
    const messagesOn = async (queueUrl: string) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      return Object.values(Attributes).reduce((sum, count) => sum + Number(count), 0);
    };
    return { ...outputs, stored: stored!, attempt, fields, webhook, webhooks, queues, messagesOn, at: clock.now().toISOString() };
  };

  it('a 503 or 429 with Retry-After: the retry waits that long, within the schedule; Retry-After on another 4xx is not honoured', async () => {
    const after = (seconds: number) => new Date(now + seconds * 1000).toISOString();
    for (const [status, wait] of [
      [503, 600],
      [429, 600],
      [400, 60],
    ] as const) {
      const { stored } = await attemptTo(receiverUrl(`/retry-after/${status}/600`), { retries: [60, 3600] });
      expect({ status, nextAttemptAt: stored.nextAttemptAt }).toEqual({ status, nextAttemptAt: after(wait) });
    }
  });

  it('a 300: no success, retried as http_3xx', async () => {
    const { stored, attempt } = await attemptTo(receiverUrl('/status/300'));
    expect(stored.status).toBe('retrying');
    expect(attempt).toMatchObject({ statusCode: 300, error: 'http_3xx' });
  });

  it('a redriven job (its schedule started anew) waits the schedule’s first delay after a failure, not the one its attempt number gives', async () => {
    const { stored } = await attemptTo(receiverUrl('/status/503'), { retries: [60, 3600], job: { attempt: 5, scheduleOffset: 4 } });
    expect(stored).toMatchObject({ status: 'retrying', nextAttemptAt: new Date(now + 60_000).toISOString() });
  });

  it('a manual retry that fails: recorded as failed, neither retried nor dead-lettered', async () => {
    const { stored, queues, messagesOn } = await attemptTo(receiverUrl('/status/503'), { retries: [60], job: { manual: true } });
    expect(stored).toMatchObject({ status: 'failed', lastError: 'http_5xx' });
    expect(await messagesOn(queues.jobs)).toBe(0);
    expect(await messagesOn(queues.deadLetters)).toBe(0);
  });

  it('a 2xx: its status and response body, no error; logged as delivered; counted with its latency and the event’s age', async () => {
    const result = await attemptTo(receiverUrl('/status/200?body=accepted'), { eventAgeMs: 4_000 });
    const { durationMs } = result.attempt;

    expect(result.stored).toMatchObject({ status: 'succeeded' });
    expect(result.stored).not.toHaveProperty('lastError');
    expect(result.attempt).toEqual({ attempt: 1, at: result.at, durationMs, statusCode: 200, responseSnippet: 'accepted' });
    expect(result.logged).toEqual([
      { level: 'info', message: 'delivery attempt', fields: { ...result.fields, outcome: 'delivered', statusCode: 200, durationMs } },
    ]);
    expect(result.counted).toEqual([['attemptSucceeded', durationMs, 4_000]]);
  });

  it('an empty response body: no response snippet', async () => {
    const result = await attemptTo(receiverUrl('/status/204'));

    expect(result.attempt).toEqual({ attempt: 1, at: result.at, durationMs: result.attempt.durationMs, statusCode: 204 });
  });

  it('a 5xx: its status, body and error class; logged as failed; counted as a failure and a scheduled retry', async () => {
    const result = await attemptTo(receiverUrl('/status/503?body=busy'));
    const { durationMs } = result.attempt;

    expect(result.stored).toMatchObject({ status: 'retrying', lastError: 'http_5xx' });
    expect(result.attempt).toEqual({ attempt: 1, at: result.at, durationMs, statusCode: 503, responseSnippet: 'busy', error: 'http_5xx' });
    expect(result.logged).toEqual([
      {
        level: 'info',
        message: 'delivery attempt',
        fields: { ...result.fields, outcome: 'failed', statusCode: 503, error: 'http_5xx', durationMs },
      },
    ]);
    expect(result.counted).toEqual([['attemptFailed', 'http_5xx', durationMs], ['retryScheduled']]);
  });

  it.each([
    [301, 'http_3xx'],
    [404, 'http_4xx'],
  ])('a %i: failed as %s', async (status, error) => {
    const result = await attemptTo(receiverUrl(`/status/${status}`));

    expect(result.attempt).toMatchObject({ statusCode: status, error });
    expect(result.counted[0]).toEqual(['attemptFailed', error, result.attempt.durationMs]);
  });

  it('no response, the last attempt: only the error class is recorded; logged, dead-lettered and counted so', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const result = await attemptTo(`http://127.0.0.1:${closedPort}/hook`, { retries: [] });
    const { durationMs } = result.attempt;

    expect(result.stored).toMatchObject({ status: 'failed', lastError: 'connection' });
    expect(result.attempt).toEqual({ attempt: 1, at: result.at, durationMs, error: 'connection' });
    expect(result.logged).toEqual([
      { level: 'info', message: 'delivery attempt', fields: { ...result.fields, outcome: 'failed', error: 'connection', durationMs } },
      { level: 'warn', message: 'delivery dead-lettered', fields: { ...result.fields, lastError: 'connection', attempts: 1 } },
    ]);
    expect(result.counted).toEqual([['attemptFailed', 'connection', durationMs], ['deadLettered']]);
  });

  it('a timeout and a blocked destination: counted under their own reasons', async () => {
    const timedOut = await attemptTo(receiverUrl('/hangs'), {
      sender: createHttpSender({ allowPrivateDestinations: true, allowHttp: true, requestTimeoutMs: 200 }),
    });
    const blocked = await attemptTo(receiverUrl('/status/204'), { sender: createHttpSender({ allowHttp: true }) });

    expect(timedOut.attempt).toMatchObject({ error: 'timeout' });
    expect(timedOut.counted[0]).toEqual(['attemptFailed', 'timeout', timedOut.attempt.durationMs]);
    expect(blocked.attempt).toMatchObject({ error: 'destination_blocked' });
    expect(blocked.counted[0]).toEqual(['attemptFailed', 'blocked', blocked.attempt.durationMs]);
  });

  it('a 410: recorded as http_410, the webhook disabled with the reason logged, counted as a failure and a disabled endpoint', async () => {
    const result = await attemptTo(receiverUrl('/status/410?body=gone'));
    const { durationMs } = result.attempt;
    const reason = `The endpoint answered 410 Gone at ${result.at}`;

    expect(result.stored).toMatchObject({ status: 'failed', lastError: 'http_410' });
    expect(result.attempt).toEqual({ attempt: 1, at: result.at, durationMs, statusCode: 410, responseSnippet: 'gone', error: 'http_410' });
    expect(await result.webhooks.get(result.webhook.tenantId, result.webhook.id)).toMatchObject({ enabled: false, disabledReason: reason });
    expect(result.logged).toEqual([
      { level: 'info', message: 'delivery attempt', fields: { ...result.fields, outcome: 'gone', statusCode: 410, durationMs } },
      { level: 'warn', message: 'webhook disabled', fields: { tenantId: result.webhook.tenantId, webhookId: result.webhook.id, reason } },
    ]);
    expect(result.counted).toEqual([['attemptFailed', 'http_410', durationMs], ['endpointDisabled']]);
  });
});

describe('the circuit breaker', () => {
  const policy = { failureThreshold: 3, coolOffSeconds: 30, maxCoolOffSeconds: 50 };
  /** A webhook at `/switch/{name}` (503 until switched) with a watcher of webhook.circuit_opened, and a worker. */
  const setup = async () => {
    const name = uniqueName('breaker');
    const queueUrl = sqsServer.createQueue(name);
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
    const outputs = recorder();
    const { worker, close } = newWorker({
      jobsQueueUrl: queueUrl,
      deadLetterQueueUrl: sqsServer.createQueue(`${name}-dlq`),
      retries: [3600],
      circuitBreaker: policy,
      logger: outputs.logger,
      metrics: outputs.metrics,
      random: () => 0, // held jobs come back at the probe time itself
    });
    const tenantId = `tenant${Math.random().toString(36).slice(2, 8)}`;
    const endpoint = makeWebhook(tenantId, receiverUrl(`/switch/${name}`), { name: 'endpoint', now: clock.now() });
    const watcher = makeWebhook(tenantId, receiverUrl('/watcher'), { events: ['webhook.circuit_opened'], name: 'watcher', now: clock.now() });
    await webhooks.create(endpoint);
    await webhooks.create(watcher);
    const jobFor = (index: number) => {
      const event = { id: `evt_${name}_${index}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} };
      return makeDelivery(endpoint, event, { now: clock.now() });
    };
    /** Every job on the queue now, as DeliveryJobs, left on it. */
    const queued = async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
      return Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!)));
    };
    const posts = () => requests.filter((request) => request.url === `/switch/${name}`).length;
    const stored = async () => (await webhooks.get(tenantId, endpoint.id))!;
    const keyOf = (job: DeliveryJob) => ({ tenantId, webhookId: endpoint.id, deliveryId: job.deliveryId });
    /** Runs the worker on the queue until nothing is visible. */
    const drain = async () => {
      while ((await consumeWith(worker, queueUrl)()).received > 0);
    };
    return { name, queueUrl, worker, close, deliveries, outputs, endpoint, watcher, jobFor, queued, posts, stored, keyOf, drain };
  };
  /** Makes failed attempts until the circuit opens. */
  const open = async (breaker: Awaited<ReturnType<typeof setup>>) => {
    for (let index = 0; index < policy.failureThreshold; index += 1) await breaker.worker.process(breaker.jobFor(index).job);
  };

  it('opens after the threshold of failed attempts in a row, counts it once and tells the tenant', async () => {
    const breaker = await setup();
    const openedAt = clock.now().toISOString();

    await open(breaker);

    expect(breaker.posts()).toBe(3);
    const stored = await breaker.stored();
    expect(stored.circuit).toEqual({ openedAt, probeAt: new Date(now + 30_000).toISOString(), coolOffSeconds: 30 });
    expect(toWebhookView(stored).health).toEqual({
      state: 'circuit_open',
      failingSince: openedAt,
      consecutiveFailures: 3,
      circuitOpenedAt: openedAt,
      nextProbeAt: new Date(now + 30_000).toISOString(),
    });
    expect(breaker.outputs.counted.filter(([name]) => name === 'circuitOpened')).toHaveLength(1);
    expect(breaker.outputs.logged).toContainEqual({
      level: 'warn',
      message: 'circuit opened',
      fields: { tenantId: breaker.endpoint.tenantId, webhookId: breaker.endpoint.id, consecutiveFailures: 3, lastError: 'http_5xx', nextProbeAt: stored.circuit!.probeAt },
    });
    const announced = (await breaker.queued()).filter((job) => job.webhookId === breaker.watcher.id);
    expect(announced.map((job) => job.event)).toEqual([
      expect.objectContaining({
        type: 'webhook.circuit_opened',
        data: { webhookId: breaker.endpoint.id, url: breaker.endpoint.url, openedAt, nextProbeAt: stored.circuit!.probeAt, consecutiveFailures: 3, lastError: 'http_5xx' },
      }),
    ]);
    await breaker.close();
  });

  it('holds jobs while open: not attempted, not recorded, not counted as failures, queued again for the probe time', async () => {
    const breaker = await setup();
    await open(breaker);
    const { record, job } = breaker.jobFor(99);

    expect(await breaker.worker.process(job)).toEqual({ kind: 'done' });

    expect(breaker.posts()).toBe(3);
    expect(await breaker.deliveries.get(breaker.keyOf(job))).toBeUndefined();
    expect((await breaker.stored()).consecutiveFailures).toBe(3);
    expect(breaker.outputs.counted.filter(([name]) => name === 'deliveryHeld')).toHaveLength(1);
    expect((await breaker.queued()).filter((queuedJob) => queuedJob.deliveryId === record.id)).toEqual([]); // delayed
    now += 30_000;
    expect((await breaker.queued()).filter((queuedJob) => queuedJob.deliveryId === record.id)).toEqual([job]);
    await breaker.close();
  });

  it('lets one probe through when due; a failed probe doubles the cool-off, up to the maximum', async () => {
    const breaker = await setup();
    await open(breaker);
    const held = [breaker.jobFor(10).job, breaker.jobFor(11).job];
    for (const job of held) await breaker.worker.process(job);

    now += 30_000;
    await Promise.all(held.map((job) => breaker.worker.process(job))); // both due at once

    expect(breaker.posts()).toBe(4); // one probe
    expect((await breaker.stored()).circuit).toEqual({
      openedAt: new Date(now - 30_000).toISOString(),
      probeAt: new Date(now + 50_000).toISOString(),
      coolOffSeconds: 50, // 2 x 30, capped
    });
    expect(breaker.outputs.counted.filter(([name]) => name === 'circuitOpened')).toHaveLength(1); // re-opened, not opened
    await breaker.close();
  });

  it('gives the probe only to a job that makes its attempt: a copy of an attempt already made leaves it to the next', async () => {
    const breaker = await setup();
    await open(breaker);
    const attempted = breaker.jobFor(0).job; // a copy of the first job open() attempted
    now += 30_000;

    await breaker.worker.process(attempted); // dropped: its attempt is made
    await breaker.worker.process(breaker.jobFor(40).job);

    expect(breaker.posts()).toBe(4); // the probe
    expect(breaker.outputs.logged).toContainEqual(expect.objectContaining({ message: 'duplicate job dropped: attempt already made' }));
    await breaker.close();
  });

  it('lets the job that lost the race for the probe be attempted at its next turn, its claim given up', async () => {
    const breaker = await setup();
    await open(breaker);
    switchStatus.set(breaker.name, 204);
    const racing = [breaker.jobFor(50).job, breaker.jobFor(51).job];
    now += 30_000;

    await Promise.all(racing.map((job) => breaker.worker.process(job))); // both read the circuit before the probe was taken
    expect(breaker.posts()).toBe(4);
    now += 30_000;
    for (const job of racing) await breaker.worker.process(job); // the probe's copy is dropped, the other attempted

    expect(breaker.posts()).toBe(5);
    for (const job of racing) {
      expect(await breaker.deliveries.get(breaker.keyOf(job))).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1, statusCode: 204 }] });
    }
    await breaker.close();
  });

  it('holds jobs one cool-off while a probe is in flight, and lets another through once a dead probe’s lease lapses', async () => {
    const breaker = await setup();
    await open(breaker);
    now += 30_000;
    const { probeAt } = (await breaker.stored()).circuit!;
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const leaseUntil = new Date(now + 45_000).toISOString(); // a worker took the probe, then died
    expect(await webhooks.takeProbe(breaker.endpoint.tenantId, breaker.endpoint.id, { probeAt, at: clock.now().toISOString(), leaseUntil })).toBe(true);
    const { job } = breaker.jobFor(30);

    await breaker.worker.process(job);
    now += 30_000; // one cool-off, not the lease
    expect((await breaker.queued()).filter((queued) => queued.deliveryId === job.deliveryId)).toEqual([job]);
    expect(breaker.posts()).toBe(3);

    now += 15_000; // the lease lapsed
    await breaker.worker.process(job);
    expect(breaker.posts()).toBe(4);
    await breaker.close();
  });

  it('closes on a successful probe: the failure run ends, and every held job is delivered once', async () => {
    const breaker = await setup();
    await open(breaker);
    const held = [20, 21, 22, 23].map((index) => breaker.jobFor(index).job);
    for (const job of held) await breaker.worker.process(job); // held: queued again for the probe time
    switchStatus.set(breaker.name, 204);

    now += 30_000;
    await breaker.drain(); // the probe succeeds; the jobs held meanwhile come back a cool-off later
    now += 60_000;
    await breaker.drain();

    const stored = await breaker.stored();
    expect(stored).not.toHaveProperty('circuit');
    expect(stored).not.toHaveProperty('failingSince');
    expect(toWebhookView(stored).health).toEqual({ state: 'healthy' });
    for (const job of held) {
      expect(await breaker.deliveries.get(breaker.keyOf(job))).toMatchObject({ status: 'succeeded', attempts: [{ attempt: 1, statusCode: 204 }] });
    }
    expect(breaker.posts()).toBe(3 + held.length);
    expect(breaker.outputs.logged).toContainEqual(expect.objectContaining({ message: 'circuit closed' }));
    await breaker.close();
  });
});

describe('the slow lane', () => {
  const holdSeconds = 600;
  /** A worker whose shared lane waits `deadlineMs` for an answer, a webhook at `path`, and both lanes' queues. */
  const setup = async (path: string, deadlineMs = 150) => {
    const name = uniqueName('lanes');
    const sharedQueueUrl = sqsServer.createQueue(name);
    const slowQueueUrl = sqsServer.createQueue(`${name}-slow`);
    const outputs = recorder();
    const { worker, close } = newWorker({
      jobsQueueUrl: sharedQueueUrl,
      deadLetterQueueUrl: sqsServer.createQueue(`${name}-dlq`),
      retries: [60, 60],
      slowLane: { deadlineMs, holdSeconds, queueUrl: slowQueueUrl },
      logger: outputs.logger,
      metrics: outputs.metrics,
      sender: createHttpSender({ allowPrivateDestinations: true, allowHttp: true, requestTimeoutMs: Math.max(2000, deadlineMs + 1000) }),
    });
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, clock);
    const tenantId = `tenant${Math.random().toString(36).slice(2, 8)}`;
    const endpoint = makeWebhook(tenantId, receiverUrl(path), { now: clock.now() });
    await webhooks.create(endpoint);
    const { record, job } = makeDelivery(endpoint, { id: `evt_${name}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} }, { now: clock.now() });
    /** The jobs on a queue now, left on it. */
    const queued = async (queueUrl: string) => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
      return Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!)));
    };
    const stored = async () => (await webhooks.get(tenantId, endpoint.id))!;
    const key = { tenantId, webhookId: endpoint.id, deliveryId: record.id };
    const posts = () => requests.filter((request) => request.url === path && request.headers['webhook-delivery-id'] === record.id);
    return { worker, close, outputs, webhooks, deliveries, endpoint, job, key, queued, stored, posts, sharedQueueUrl, slowQueueUrl };
  };

  it('abandons a request unanswered at the deadline: not recorded, not counted as failed, its job on the slow lane, the endpoint there for the hold', async () => {
    const lanes = await setup('/slow-ok'); // answers after 300 ms

    expect(await lanes.worker.process(lanes.job)).toEqual({ kind: 'done' });

    expect(lanes.posts()).toHaveLength(1);
    expect(await lanes.deliveries.get(lanes.key)).toMatchObject({ status: 'pending', attempts: [] });
    const stored = await lanes.stored();
    expect(stored.slowLaneUntil).toBe(new Date(now + holdSeconds * 1000).toISOString());
    expect(stored.failingSince).toBeUndefined();
    expect(toWebhookView(stored).health).toEqual({ state: 'healthy', slowLaneUntil: stored.slowLaneUntil });
    expect(await lanes.queued(lanes.sharedQueueUrl)).toEqual([]);
    expect(await lanes.queued(lanes.slowQueueUrl)).toEqual([{ ...lanes.job, lane: 'slow' }]);
    expect(lanes.outputs.counted).toEqual([['deliveryMovedToSlowLane']]);
    expect(lanes.outputs.logged).toEqual([
      {
        level: 'warn',
        message: 'delivery moved to the slow lane: no answer within the deadline',
        fields: expect.objectContaining({ deliveryId: lanes.job.deliveryId, attempt: 1, deadlineMs: 150, durationMs: expect.any(Number) }),
      },
    ]);
    await lanes.close();
  });

  it('cuts off the other requests in flight to the endpoint at once, when one reaches the deadline', async () => {
    // A deadline of 4 s: the second request is sent 0.7 s after the first, before the first is a stall (1 s).
    const lanes = await setup('/hangs', 4000);
    const { job: second } = makeDelivery(lanes.endpoint, { ...lanes.job.event, id: `${lanes.job.event.id}-2` }, { now: clock.now() });
    const first = lanes.worker.process(lanes.job);
    await eventually(async () => requests.some((request) => request.headers['webhook-delivery-id'] === lanes.job.deliveryId) || undefined, 5000, 'the first request in flight', 10);
    await new Promise((resolve) => setTimeout(resolve, 700));

    await Promise.all([first, lanes.worker.process(second)]);

    const cutOff = lanes.outputs.logged.filter((line) => line.message === 'delivery moved to the slow lane: no answer within the deadline');
    expect(cutOff.map((line) => line.fields.deliveryId).sort()).toEqual([lanes.job.deliveryId, second.deliveryId].sort());
    // The second was cut off with the first, before its own deadline.
    expect(cutOff.find((line) => line.fields.deliveryId === second.deliveryId)!.fields.durationMs).toBeLessThan(3800);
    expect((await lanes.queued(lanes.slowQueueUrl)).map((job) => job.deliveryId).sort()).toEqual([lanes.job.deliveryId, second.deliveryId].sort());
    await lanes.close();
  });

  it('sends an endpoint nothing more from the shared lane while a request to it waits a quarter of the deadline unanswered', async () => {
    const lanes = await setup('/hangs', 1000);
    const { job: next } = makeDelivery(lanes.endpoint, { ...lanes.job.event, id: `${lanes.job.event.id}-next` }, { now: clock.now() });
    const first = lanes.worker.process(lanes.job);
    await eventually(async () => requests.some((request) => request.headers['webhook-delivery-id'] === lanes.job.deliveryId) || undefined, 5000, 'the first request in flight', 10);
    now += 250;

    await lanes.worker.process(next);

    expect(lanes.posts()).toHaveLength(1);
    expect(requests.filter((request) => request.headers['webhook-delivery-id'] === next.deliveryId)).toEqual([]);
    expect(lanes.outputs.logged).toContainEqual({
      level: 'info',
      message: 'delivery moved to the slow lane',
      fields: expect.objectContaining({ deliveryId: next.deliveryId, reason: 'requests_unanswered' }),
    });
    expect(await lanes.deliveries.get({ ...lanes.key, deliveryId: next.deliveryId })).toBeUndefined(); // not claimed
    await first;
    expect((await lanes.queued(lanes.slowQueueUrl)).map((job) => job.deliveryId).sort()).toEqual([lanes.job.deliveryId, next.deliveryId].sort());
    await lanes.close();
  });

  it('marks such an endpoint stalled on its item, so that other workers and the router send it nothing more from the shared lane', async () => {
    const lanes = await setup('/hangs', 1000);
    const other = newWorker({
      jobsQueueUrl: lanes.sharedQueueUrl,
      deadLetterQueueUrl: sqsServer.createQueue(uniqueName('dlq')),
      retries: [60],
      slowLane: { deadlineMs: 1000, holdSeconds, queueUrl: lanes.slowQueueUrl },
      logger: lanes.outputs.logger,
      metrics: lanes.outputs.metrics,
    });
    const { job: next } = makeDelivery(lanes.endpoint, { ...lanes.job.event, id: `${lanes.job.event.id}-other` }, { now: clock.now() });
    const first = lanes.worker.process(lanes.job);

    const stalled = await eventually(async () => (await lanes.stored()).stalledUntil, 5000, 'the stall mark', 20);
    expect(stalled).toBe(new Date(now + 1000).toISOString());
    await other.worker.process(next);

    expect(requests.filter((request) => request.headers['webhook-delivery-id'] === next.deliveryId)).toEqual([]);
    expect(lanes.outputs.logged).toContainEqual({
      level: 'info',
      message: 'delivery moved to the slow lane',
      fields: expect.objectContaining({ deliveryId: next.deliveryId, reason: 'requests_unanswered' }),
    });
    await first;
    await Promise.all([lanes.close(), other.close()]);
  });

  it('waits for the answer in the slow lane, at once (the claim was released), with the same ids, and extends the hold on a slow answer', async () => {
    const lanes = await setup('/slow-ok');
    await lanes.worker.process(lanes.job);
    now += 60_000;

    const [moved] = await lanes.queued(lanes.slowQueueUrl);
    expect(await lanes.worker.process(moved!)).toEqual({ kind: 'done' });

    const delivery = await lanes.deliveries.get(lanes.key);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: [expect.objectContaining({ attempt: 1, statusCode: 204 })] });
    const ids = [lanes.job.event.id, lanes.job.deliveryId, '1'];
    expect(lanes.posts().map(({ headers }) => [headers['webhook-id'], headers['webhook-delivery-id'], headers['webhook-attempt']])).toEqual([ids, ids]);
    expect((await lanes.stored()).slowLaneUntil).toBe(new Date(now + holdSeconds * 1000).toISOString());
    await lanes.close();
  });

  it('sends the endpoint back to the shared lane when an answer in the slow lane comes within the deadline', async () => {
    const lanes = await setup('/status/204');
    await lanes.webhooks.holdInSlowLane(lanes.endpoint.tenantId, lanes.endpoint.id, new Date(now + 1000).toISOString());

    await lanes.worker.process({ ...lanes.job, lane: 'slow' });

    expect(await lanes.deliveries.get(lanes.key)).toMatchObject({ status: 'succeeded' });
    expect(await lanes.stored()).not.toHaveProperty('slowLaneUntil');
    await lanes.close();
  });

  it('passes on unattempted the shared lane’s jobs of an endpoint in the slow lane, or with its circuit open', async () => {
    const slow = await setup('/status/204');
    await slow.webhooks.holdInSlowLane(slow.endpoint.tenantId, slow.endpoint.id, new Date(now + 1000).toISOString());
    const open = await setup('/status/204');
    const probeAt = new Date(now + 30_000).toISOString();
    await open.webhooks.openCircuit(open.endpoint.tenantId, open.endpoint.id, { openedAt: clock.now().toISOString(), probeAt, coolOffSeconds: 30 });

    for (const [lanes, reason] of [[slow, 'slow_endpoint'], [open, 'circuit_open']] as const) {
      expect(await lanes.worker.process(lanes.job)).toEqual({ kind: 'done' });

      expect(lanes.posts()).toEqual([]);
      expect(await lanes.deliveries.get(lanes.key)).toBeUndefined();
      expect(await lanes.queued(lanes.slowQueueUrl)).toEqual([{ ...lanes.job, lane: 'slow' }]);
      expect(lanes.outputs.counted).toEqual([['deliveryMovedToSlowLane']]);
      expect(lanes.outputs.logged).toEqual([
        { level: 'info', message: 'delivery moved to the slow lane', fields: expect.objectContaining({ deliveryId: lanes.job.deliveryId, reason }) },
      ]);
      await lanes.close();
    }
  });

  it('is left, with the circuit and the failure run, when the webhook moves to a new url', async () => {
    const lanes = await setup('/slow-ok');
    await lanes.worker.process(lanes.job);
    await lanes.webhooks.recordFailure(lanes.endpoint.tenantId, lanes.endpoint.id, clock.now().toISOString());
    await lanes.webhooks.openCircuit(lanes.endpoint.tenantId, lanes.endpoint.id, { openedAt: clock.now().toISOString(), probeAt: clock.now().toISOString(), coolOffSeconds: 30 });
    const service = new WebhookService({ webhooks: lanes.webhooks, vault, destinations: { check: async () => undefined }, clock, ids: ulidIds, secretOverlapSeconds: 86_400 });

    await service.update(lanes.endpoint.tenantId, lanes.endpoint.id, { url: receiverUrl('/status/204') });

    const moved = await lanes.stored();
    for (const field of ['slowLaneUntil', 'circuit', 'failingSince', 'consecutiveFailures']) expect(moved).not.toHaveProperty(field);
    expect(toWebhookView(moved).health).toEqual({ state: 'healthy' });
    await lanes.close();
  });

  it('queues a retry on the lane its endpoint is in: the slow lane during the hold, the shared lane after it', async () => {
    const lanes = await setup('/status/503');
    const until = new Date(now + 1000).toISOString();
    await lanes.webhooks.holdInSlowLane(lanes.endpoint.tenantId, lanes.endpoint.id, until);
    const slowJob = { ...lanes.job, lane: 'slow' as const };

    await lanes.worker.process(slowJob);
    expect(await lanes.queued(lanes.slowQueueUrl)).toEqual([]); // delayed 60 s
    now += 60_000;
    const [retry] = await lanes.queued(lanes.slowQueueUrl);
    expect(retry).toEqual({ ...slowJob, attempt: 2 });

    await lanes.worker.process(retry!); // the hold has ended
    now += 60_000;
    expect(await lanes.queued(lanes.sharedQueueUrl)).toEqual([{ ...lanes.job, attempt: 3 }]);
    expect(lanes.posts()).toHaveLength(2);
    await lanes.close();
  });
});

/** A webhook limited to 5/s (slots 210 ms apart) with its next free slot at `nextSendAt`, stored. */
const storeRateLimitedWebhook = async (prefix: string, nextSendAt: number) => {
  const name = uniqueName(prefix);
  const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
  const path = `/status/204?body=${name}`;
  const webhook = { ...makeWebhook(`tenant${Math.random().toString(36).slice(2, 8)}`, receiverUrl(path), { now: clock.now() }), rateLimitPerSecond: 5, nextSendAt };
  await webhooks.create(webhook);
  return { name, path, webhook, webhooks };
};

describe('a rate limit', () => {
  it('keeps a reserved slot for a job back on time, and gives a job back late a fresh one', async () => {
    const name = uniqueName('slots');
    const queueUrl = sqsServer.createQueue(name);
    const outputs = recorder();
    const { worker, close } = newWorker({ jobsQueueUrl: queueUrl, deadLetterQueueUrl: sqsServer.createQueue(`${name}-dlq`), retries: [60], metrics: outputs.metrics });
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
    const path = `/status/204?body=${name}`;
    // Limited to 1/s with the next five seconds' slots already taken.
    const webhook = { ...makeWebhook(`tenant${Math.random().toString(36).slice(2, 8)}`, receiverUrl(path), { now: clock.now() }), rateLimitPerSecond: 1, nextSendAt: now + 5_000 };
    await webhooks.create(webhook);
    const jobFor = (index: number, sendAt: number) => ({
      ...makeDelivery(webhook, { id: `evt_${name}_${index}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} }).job,
      sendAt,
    });

    await worker.process(jobFor(1, now - 10)); // its slot, 10 ms ago: within the margin
    await worker.process(jobFor(2, now - 500)); // half a second late: a fresh slot, five seconds out

    expect(requests.filter((request) => request.url === path)).toHaveLength(1);
    expect(outputs.counted.filter(([metric]) => metric === 'deliveryThrottled')).toHaveLength(1);
    expect((await webhooks.get(webhook.tenantId, webhook.id))?.nextSendAt).toBeGreaterThan(now + 5_000);
    await close();
  });


  it('never sends in a slot handed out in the past: the worker that sends now is the one that moved the next slot on', async () => {
    // The next free slot passed long ago, as the worker reads it.
    const { name, path, webhook, webhooks: stored } = await storeRateLimitedWebhook('past-slot', now - 10_000);
    // Right after the worker's read, another worker moves the next slot on, to 100 ms ago: the restart from what
    // this worker saw fails, and its advance hands out a slot 100 ms in the past.
    const raced = Object.assign(Object.create(stored) as DynamoWebhookRepository, {
      get: async (tenantId: string, id: string) => {
        const record = await stored.get(tenantId, id);
        await stored.restartSendSlots(tenantId, id, { seen: now - 10_000, next: now - 100 });
        return record;
      },
    });
    const name2 = uniqueName('past-slot-queue');
    const { worker, close } = newWorker({ jobsQueueUrl: sqsServer.createQueue(name2), deadLetterQueueUrl: sqsServer.createQueue(`${name2}-dlq`), retries: [60], webhooks: raced });
    const job = makeDelivery(webhook, { id: `evt_${name}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} }).job;

    expect(await worker.process(job)).toEqual({ kind: 'done' });

    expect(requests.filter((request) => request.url === path)).toHaveLength(1);
    // It took the slot after the past one (now + 110 ms), so the next free one is an interval after that: sending
    // now would have left it at now + 110 ms, where the next job would send 110 ms after this one.
    expect((await stored.get(webhook.tenantId, webhook.id))?.nextSendAt).toBe(now - 100 + 2 * 210);
    await close();
  });

  it('gives up a slot its wait overran by more than the margin, and sends in a fresh one', async () => {
    const { name, path, webhook, webhooks } = await storeRateLimitedWebhook('overran', now + 500);
    const started = now;
    // The first wait overruns by 300 ms (a busy worker); the others end on time.
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      now += waits.length === 1 ? ms + 300 : ms;
    };
    const { worker, close } = newWorker({ jobsQueueUrl: sqsServer.createQueue(name), deadLetterQueueUrl: sqsServer.createQueue(`${name}-dlq`), retries: [60], sleep });
    const delivery = makeDelivery(webhook, { id: `evt_${name}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} });

    try {
      expect(await worker.process(delivery.job)).toEqual({ kind: 'done' });

      // Slot at +500 ms, woken at +800: the slot after it (+710) is past too, so the fresh one is +920.
      expect(waits).toEqual([500, 120]);
      expect(requests.filter((request) => request.url === path)).toHaveLength(1);
      const key = { tenantId: webhook.tenantId, webhookId: webhook.id, deliveryId: delivery.job.deliveryId };
      const recorded = await new DynamoDeliveryRepository(store.db, store.tableName, clock).get(key);
      expect(recorded?.attempts).toMatchObject([{ attempt: 1, at: new Date(started + 920).toISOString() }]);
      expect((await webhooks.get(webhook.tenantId, webhook.id))?.nextSendAt).toBe(started + 1130);
    } finally {
      now = started;
      await close();
    }
  });

  it('queues a job again, its claim given up, when the fresh slot after an overrun wait is too far off to wait for', async () => {
    const { name, path, webhook, webhooks } = await storeRateLimitedWebhook('overran-far', now + 500);
    const started = now;
    // The wait overruns by 300 ms, and meanwhile other workers took the next five seconds' slots.
    const sleep = async (ms: number) => {
      now += ms + 300;
      await webhooks.restartSendSlots(webhook.tenantId, webhook.id, { seen: started + 710, next: started + 5000 });
    };
    const queueUrl = sqsServer.createQueue(name);
    const outputs = recorder();
    const { worker, close } = newWorker({ jobsQueueUrl: queueUrl, deadLetterQueueUrl: sqsServer.createQueue(`${name}-dlq`), retries: [60], sleep, metrics: outputs.metrics });
    const { job } = makeDelivery(webhook, { id: `evt_${name}`, type: 'order.created', timestamp: clock.now().toISOString(), data: {} });

    try {
      expect(await worker.process(job)).toEqual({ kind: 'done' });
      expect(requests.filter((request) => request.url === path)).toHaveLength(0);
      expect(outputs.counted.filter(([metric]) => metric === 'deliveryThrottled')).toHaveLength(1);

      // Back for its slot: the claim was given up, so this copy makes the attempt.
      now = started + 5000;
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      expect(Messages).toHaveLength(1);
      const requeued = DeliveryJob.parse(JSON.parse(Messages[0]!.Body!));
      expect(requeued).toMatchObject({ deliveryId: job.deliveryId, attempt: 1, sendAt: started + 5000 });
      expect(await worker.process(requeued)).toEqual({ kind: 'done' });
      expect(requests.filter((request) => request.url === path)).toHaveLength(1);
    } finally {
      now = started;
      await close();
    }
  });

  it('spaces attempts 1/rate apart across concurrent jobs; the excess waits its turn, none dropped, none failed', async () => {
    // Real time on both sides: the store's and the queue's clocks are the wall clock, as the limit is.
    const realClock = { now: () => new Date() };
    const realTimeSqs = new EmbeddedSqs({ region: 'us-east-1' });
    await realTimeSqs.start();
    const queueClient = sqsClientFor(realTimeSqs);
    const queueUrl = realTimeSqs.createQueue('rate-limited');
    const webhooks = new DynamoWebhookRepository(store.db, store.tableName, realClock);
    const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, realClock);
    const sender = createHttpSender({ allowPrivateDestinations: true, allowHttp: true });
    const outputs = recorder();
    const jobs = new SqsDeliveryJobQueue(queueClient, queueUrl);
    const worker = new DeliveryWorker({
      webhooks,
      deliveries,
      jobs,
      vault,
      deadLetters: new SqsDeadLetterSink(queueClient, realTimeSqs.createQueue('rate-limited-dlq')),
      sender,
      clock: realClock,
      retryPolicy: { delaysSeconds: [60], jitter: 0 },
      attemptClaimSeconds: 45,
      health: { disableAfterSeconds: 5 * 86_400, minFailures: 10 },
      circuitBreaker: { failureThreshold: 1000, coolOffSeconds: 30, maxCoolOffSeconds: 600 },
      fanOut: new FanOut({ webhooks, jobs }),
      logger: outputs.logger,
      metrics: outputs.metrics,
    });
    const path = `/status/204?body=${uniqueName('rate')}`;
    const webhook = { ...makeWebhook(`tenant${Math.random().toString(36).slice(2, 8)}`, receiverUrl(path)), rateLimitPerSecond: 5 };
    await webhooks.create(webhook);
    const arrivals: number[] = [];
    const before = requests.length;
    const all = Array.from({ length: 12 }, (_, index) =>
      makeDelivery(webhook, { id: `evt_rate_${index}`, type: 'order.created', timestamp: new Date().toISOString(), data: {} }).job,
    );

    try {
      await Promise.all(all.map((job) => worker.process(job))); // one burst, as concurrent workers would see it
      await eventually(
        async () => {
          const { Messages = [] } = await queueClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
          await Promise.all(Messages.map((message) => worker.process(DeliveryJob.parse(JSON.parse(message.Body!)))));
          return requests.length - before >= all.length || undefined;
        },
        20_000,
        'every rate-limited job sent',
        50,
      );
    } finally {
      await sender.close();
      queueClient.destroy();
      await realTimeSqs.stop();
    }
    arrivals.push(...requests.slice(before).filter((request) => request.url === path).map((request) => request.at));

    expect(arrivals).toHaveLength(12);
    // Slots are 200 ms apart: any six arrivals span about a second. Loose bounds for a loaded machine; the
    // benchmark measures the windows exactly.
    const sorted = [...arrivals].sort((a, b) => a - b);
    for (let index = 0; index + 5 < sorted.length; index += 1) expect(sorted[index + 5]! - sorted[index]!).toBeGreaterThan(800);
    for (const job of all) {
      expect(await deliveries.get({ tenantId: webhook.tenantId, webhookId: webhook.id, deliveryId: job.deliveryId })).toMatchObject({
        status: 'succeeded',
        attempts: [{ attempt: 1 }],
      });
    }
    expect(outputs.counted.some(([name]) => name === 'deliveryThrottled')).toBe(true);
    expect(outputs.counted.some(([name]) => name === 'attemptFailed')).toBe(false);
  });
});

it('makes only the table actions the CDK construct grants the worker', () => {
  expect([...workerTableActions].sort()).toEqual([...DELIVERY_WORKER_TABLE_ACTIONS].sort());
});

/**
 * The delivery pipeline end to end on emulated AWS services, with the REAL Lambda handlers: EventBridge PutEvents
 * (moto) → the platform's rule → the events queue (moto SQS) → `event-router.handler` → the delivery queue →
 * `delivery-worker.handler` → a real HTTP receiver that verifies signatures with standardwebhooks and
 * @octokit/webhooks-methods. Webhooks and deliveries live in DynamoDB Local (TEST_DYNAMODB_ENDPOINT, from the
 * `aws` project's global setup). Each queue is polled like Lambda's SQS event source mapping does
 * (local/event-source-mapping.ts: batches of at most 10, deletes only the records not in batchItemFailures,
 * failed records come back after the visibility timeout).
 *
 * What the emulators prove: the handlers, configured only through their environment as on Lambda, talk to SQS and
 * DynamoDB with valid requests; every (event, webhook) pair ends delivered or in the delivery dead-letter queue
 * with its attempts, none lost or left on a queue; invalid events end in the rejected-events queue with reasons.
 * What they cannot prove: IAM (moto and DynamoDB Local accept any credentials), real Lambda scaling (the event
 * source mapping's concurrency, batching window and scale-out; a warm container per poller here) and alarm
 * evaluation (CloudWatch; the handlers' EMF metrics are switched off here).
 * Covered instead by template assertions: IAM in test/infra/pipeline-stack.test.ts 'least privilege' (each
 * function's queue and table actions, ChangeMessageVisibility for the worker), test/infra/stateful-stack.test.ts
 * 'events queue' (only EventBridge, for this rule's ARN, may send) and 'every queue' (SSE, refuses non-TLS);
 * Lambda scaling in pipeline-stack.test.ts 'event sources' (BatchSize, MaximumConcurrency, ReportBatchItemFailures)
 * and 'visibility timeouts', and test/infra/webhook-function.test.ts 'WebhookFunction.consume'; alarms in
 * test/infra/monitoring-stack.test.ts 'alarms' (metric, statistic, threshold and missing-data treatment of each:
 * DLQ depth, oldest message age, success rate, function errors and throttles), which no emulator evaluates.
 */
import { CreateEventBusCommand, type EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { verify as verifyHubSignature } from '@octokit/webhooks-methods';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { buildEventPattern } from '../../functions/contracts/event-routing.js';
import type { DeliveryRecord } from '../../functions/domain/delivery/delivery.ports.js';
import type { WebhookService } from '../../functions/domain/webhook.service.js';
import { startEventSourceMapping } from '../../local/event-source-mapping.js';
import { startTestTable } from '../support/dynamodb-store.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import {
  createQueue,
  DUMMY_CREDENTIALS,
  drain,
  eventually,
  MOTO_REGION,
  type MotoQueue,
  motoEndpoint,
  motoEventBridgeClient,
  motoKmsClient,
  motoSqsClient,
  parseBody,
  queueDepth,
  claimMoto,
} from './support/moto-clients.js';

const SOURCE = 'com.example.shop';
const QUEUE_VISIBILITY_SECONDS = 5;

let sqs: SQSClient;
let events: EventBridgeClient;
let store: Awaited<ReturnType<typeof startTestTable>>;
let receiver: WebhookReceiver;
let webhooks: WebhookService;
let deliveries: DynamoDeliveryRepository;
let busName: string;
const queues = {} as Record<'events' | 'eventsDlq' | 'rejected' | 'delivery' | 'deliveryDlq', MotoQueue>;
const mappings: { stop: () => Promise<void> }[] = [];
/** Records per handler invocation, per function. */
const invocations = { router: [] as number[], worker: [] as number[] };
const mappingErrors: string[] = [];
/** Everything read off the delivery DLQ so far (reading deletes). */
const deadLetters: Record<string, any>[] = [];

let releaseMoto: (() => Promise<void>) | undefined;

beforeAll(async () => {
  releaseMoto = await claimMoto();
  sqs = motoSqsClient();
  events = motoEventBridgeClient();
  store = await startTestTable(); // DynamoDB Local at TEST_DYNAMODB_ENDPOINT (createTableIfMissing)
  receiver = await startWebhookReceiver();

  // The queues as the stateful stack has them, with short visibility timeouts so that redeliveries happen in a test.
  queues.deliveryDlq = await createQueue(sqs, 'pipeline-deliveries-dlq');
  queues.delivery = await createQueue(sqs, 'pipeline-deliveries', {
    attributes: { VisibilityTimeout: String(QUEUE_VISIBILITY_SECONDS) },
    deadLetter: { queue: queues.deliveryDlq, maxReceiveCount: 10 },
  });
  queues.eventsDlq = await createQueue(sqs, 'pipeline-events-dlq');
  queues.events = await createQueue(sqs, 'pipeline-events', {
    attributes: { VisibilityTimeout: String(QUEUE_VISIBILITY_SECONDS) },
    deadLetter: { queue: queues.eventsDlq, maxReceiveCount: 5 },
  });
  queues.rejected = await createQueue(sqs, 'pipeline-rejected-events');
  busName = 'pipeline-bus';
  await events.send(new CreateEventBusCommand({ Name: busName }));
  await events.send(
    new PutRuleCommand({ Name: 'pipeline-rule', EventBusName: busName, EventPattern: JSON.stringify(buildEventPattern([SOURCE])) }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: 'pipeline-rule', EventBusName: busName, Targets: [{ Id: 'events-queue', Arn: queues.events.arn }] }),
  );

  // The stateful stack's credentials key, in moto's KMS: the write API and the worker seal and open with it.
  const { KeyMetadata } = await motoKmsClient().send(new CreateKeyCommand({ Description: 'webhook credentials' }));
  // The functions' environment as the CDK sets it, pointed at the emulators; the handlers parse it at import.
  Object.assign(process.env, {
    CREDENTIALS_KEY_ID: KeyMetadata!.Arn!,
    KMS_ENDPOINT: motoEndpoint(),
    TABLE_NAME: store.tableName,
    AWS_REGION: MOTO_REGION,
    DYNAMODB_ENDPOINT: store.endpoint,
    SQS_ENDPOINT: motoEndpoint(),
    DELIVERY_QUEUE_URL: queues.delivery.url,
    DELIVERY_DLQ_URL: queues.deliveryDlq.url,
    REJECTED_EVENTS_QUEUE_URL: queues.rejected.url,
    RETRY_SCHEDULE: '1',
    // The failing endpoint here runs its whole schedule; circuits have their own tests (delivery-worker, local-mode).
    CIRCUIT_FAILURE_THRESHOLD: '1000',
    REQUEST_TIMEOUT_MS: '3000',
    ALLOW_PRIVATE_DESTINATIONS: 'true',
    ALLOW_HTTP_URLS: 'true',
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    // The EMF metric lines would flood the test output; the metrics have their own tests.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
  });
  const router = (await import('../../functions/handlers/event-router.handler.js')).handler;
  const worker = (await import('../../functions/handlers/delivery-worker.handler.js')).handler;
  const { createWebhookService } = await import('../../functions/handlers/wiring.js');
  const { createCredentialsVaultFor } = await import('../../functions/handlers/kms-wiring.js');
  const { parseApiEnvironment } = await import('../../functions/handlers/config.js');
  const env = parseApiEnvironment();
  webhooks = createWebhookService(env, createCredentialsVaultFor(env));
  deliveries = new DynamoDeliveryRepository(store.db, store.tableName, { now: () => new Date() });

  const consume = (queue: MotoQueue, name: keyof typeof invocations, handler: (event: SQSEvent) => Promise<SQSBatchResponse>) =>
    startEventSourceMapping({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      region: MOTO_REGION,
      batchSize: 10,
      // One poller per queue (the two functions still run side by side): moto's ReceiveMessage is not atomic, and
      // concurrent receives of one queue hand out duplicates far more often than SQS's at-least-once delivery does.
      concurrency: 1,
      log: (line) => void mappingErrors.push(line),
      handler: (event) => {
        invocations[name].push(event.Records.length);
        return handler(event);
      },
    });
  mappings.push(consume(queues.events, 'router', router), consume(queues.delivery, 'worker', worker));
}, 360_000);

afterAll(async () => {
  try {
    await Promise.all(mappings.map((mapping) => mapping.stop()));
  } finally {
    await releaseMoto?.();
  }
  await receiver?.stop();
  sqs?.destroy();
  events?.destroy();
  await store?.stop();
});

const createWebhook = async (tenantId: string, path: string, eventTypes: string[]) =>
  webhooks.create(tenantId, { url: receiver.url(path), events: eventTypes, enabled: true });

const publish = async (entries: { tenantId: string; id: string; type: string; data: unknown; source?: string }[]) => {
  for (let offset = 0; offset < entries.length; offset += 10) {
    const result = await events.send(
      new PutEventsCommand({
        Entries: entries.slice(offset, offset + 10).map((entry) => ({
          EventBusName: busName,
          Source: entry.source ?? SOURCE,
          DetailType: entry.type,
          Detail: JSON.stringify({ tenantId: entry.tenantId, id: entry.id, data: entry.data }),
        })),
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
  }
};

const orderCreated = (orderId: string) => ({
  orderId,
  customerId: 'cus_1',
  total: { amount: 1999, currency: 'EUR' },
  lines: [{ sku: 'SKU-1', quantity: 1 }],
});

const deliveriesOf = async (tenantId: string, webhookId: string): Promise<DeliveryRecord[]> =>
  (await deliveries.list(tenantId, webhookId, { limit: 100 })).items;

/** Reads the delivery DLQ into `deadLetters` and returns this webhook's entries. */
const deadLettersOf = async (webhookId: string) => {
  deadLetters.push(...(await drain(sqs, queues.deliveryDlq)).map(parseBody));
  return deadLetters.filter((entry) => entry.job?.webhookId === webhookId);
};

const settled = async (queue: MotoQueue) => {
  const depth = await queueDepth(sqs, queue);
  return depth.visible + depth.inFlight + depth.delayed === 0 ? depth : undefined;
};

describe('delivery pipeline on moto SQS/EventBridge and DynamoDB Local, real handlers', () => {
  it('delivers a published event, signed so that standardwebhooks and @octokit/webhooks-methods verify it', async () => {
    const { webhook, secret } = await createWebhook('signing', '/ok/signed', ['order.created']);

    await publish([{ tenantId: 'signing', id: 'evt-signed', type: 'order.created', data: orderCreated('ord_signed') }]);

    const request = await eventually(async () => receiver.at('/ok/signed')[0], 20_000, 'delivery to /ok/signed');
    expect(JSON.parse(request.body)).toEqual({
      id: 'evt-signed',
      type: 'order.created',
      timestamp: expect.any(String),
      data: orderCreated('ord_signed'),
    });
    expect(new StandardWebhook(secret).verify(request.body, request.headers as Record<string, string>)).toEqual(JSON.parse(request.body));
    expect(await verifyHubSignature(secret, request.body, String(request.headers['x-hub-signature-256']))).toBe(true);
    expect(request.headers).toMatchObject({ 'webhook-id': 'evt-signed', 'webhook-attempt': '1' });
    const [delivery] = await eventually(async () => {
      const items = await deliveriesOf('signing', webhook.id);
      return items[0]?.status === 'succeeded' ? items : undefined;
    });
    expect(delivery!.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200, responseSnippet: 'thanks' })]);
  });

  it('ends every (event, webhook) pair delivered or dead-lettered with its attempts: none lost, no queue left holding any', async () => {
    const tenantId = 'ledger';
    const type = 'order.price_changed';
    const healthy = [await createWebhook(tenantId, '/ok/ledger-1', [type]), await createWebhook(tenantId, '/ok/ledger-2', [type])];
    const failing = await createWebhook(tenantId, '/fail/ledger', [type]);
    const ids = Array.from({ length: 25 }, (_, index) => `evt-ledger-${index}`);
    const money = (amount: number) => ({ amount, currency: 'EUR' });

    await publish(ids.map((id) => ({ tenantId, id, type, data: { orderId: id, previous: money(1), current: money(2) } })));

    // Healthy endpoints: each event delivered, the delivery succeeded on its first attempt.
    for (const [index, { webhook }] of healthy.entries()) {
      const succeeded = await eventually(async () => {
        const items = await deliveriesOf(tenantId, webhook.id);
        return items.length === ids.length && items.every((item) => item.status === 'succeeded') ? items : undefined;
      }, 30_000, `deliveries of healthy webhook ${index + 1}`);
      expect(succeeded.map((item) => item.event.id).sort()).toEqual([...ids].sort());
      expect(succeeded.every((item) => item.attempts.length === 1)).toBe(true);
      expect(new Set(receiver.at(`/ok/ledger-${index + 1}`).map((request) => request.headers['webhook-id']))).toEqual(new Set(ids));
    }

    // The failing endpoint: two attempts each (RETRY_SCHEDULE=1), then the delivery DLQ with both attempts.
    const exhausted = await eventually(async () => {
      const entries = await deadLettersOf(failing.webhook.id);
      return entries.length >= ids.length ? entries : undefined;
    }, 30_000, 'dead letters of the failing webhook');
    expect(exhausted.map((entry) => entry.job.event.id).sort()).toEqual([...ids].sort());
    for (const entry of exhausted) {
      expect(entry).toMatchObject({
        kind: 'delivery_exhausted',
        lastError: 'http_5xx',
        job: { tenantId, webhookId: failing.webhook.id, attempt: 2 },
        attempts: [
          expect.objectContaining({ attempt: 1, statusCode: 500, error: 'http_5xx' }),
          expect.objectContaining({ attempt: 2, statusCode: 500, error: 'http_5xx' }),
        ],
      });
    }
    const failed = await eventually(async () => {
      const items = await deliveriesOf(tenantId, failing.webhook.id);
      return items.length === ids.length && items.every((item) => item.status === 'failed') ? items : undefined;
    }, 10_000, 'failed deliveries recorded');
    expect(failed.every((item) => item.attempts.length === 2 && item.lastError === 'http_5xx')).toBe(true);
    // SQS delivers at least once: compare the attempts made, not how often each arrived.
    const hits = new Set(receiver.at('/fail/ledger').map((request) => `${request.headers['webhook-id']}#${request.headers['webhook-attempt']}`));
    expect([...hits].sort()).toEqual(ids.flatMap((id) => [`${id}#1`, `${id}#2`]).sort());

    // Nothing left anywhere, and nothing reached the DLQs by redrive (only the worker's own dead letters).
    for (const queue of [queues.events, queues.delivery]) await eventually(() => settled(queue), 15_000, `${queue.name} drained`);
    expect(await drain(sqs, queues.eventsDlq)).toEqual([]);
    await deadLettersOf(failing.webhook.id);
    expect(deadLetters.filter((entry) => entry.kind !== 'delivery_exhausted')).toEqual([]);
    expect(Math.max(...invocations.router, ...invocations.worker)).toBeLessThanOrEqual(10);
    expect(mappingErrors).toEqual([]);
  });

  it('keeps an invalid event in the rejected-events queue with the reasons, and delivers nothing', async () => {
    await createWebhook('rejects', '/ok/never', ['order.created']);

    await publish([
      { tenantId: 'rejects', id: 'evt-invalid', type: 'order.created', data: { ...orderCreated('x'), orderId: 42 } },
      { tenantId: 'rejects', id: 'evt-wrong-source', type: 'order.created', data: orderCreated('y'), source: 'someone.else' },
    ]);

    // Everything read off the rejected-events queue (reading deletes), until both pipeline queues are empty.
    const rejected: Record<string, unknown>[] = [];
    const readRejected = async () => rejected.push(...(await drain(sqs, queues.rejected)).map(parseBody));
    await eventually(async () => ((await readRejected()) > 0 ? true : undefined), 20_000, 'a rejected event');
    await eventually(() => settled(queues.events), 15_000, 'events queue drained');
    await eventually(() => settled(queues.delivery), 15_000, 'delivery queue drained');
    await readRejected();

    expect(rejected).toEqual([
      expect.objectContaining({
        kind: 'event_rejected',
        event: expect.objectContaining({ source: SOURCE, 'detail-type': 'order.created', detail: expect.objectContaining({ tenantId: 'rejects', id: 'evt-invalid' }) }),
        reasons: [expect.stringContaining('detail.data.orderId')],
        at: expect.any(String),
      }),
    ]);
    // The wrong-source event is valid: had the rule let it through, the router would have delivered it here.
    expect(receiver.at('/ok/never')).toEqual([]);
    expect(await drain(sqs, queues.eventsDlq)).toEqual([]);
  });
});

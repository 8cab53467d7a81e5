import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { createEmbeddedKms } from '../../local/embedded-kms.js';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { startTestTable } from '../support/dynamodb-store.js';
import { sqsClientFor } from '../support/embedded-sqs-client.js';
import { makeDelivery, makeWebhook } from '../support/records.js';

/**
 * The delivery worker's Lambda entry point as deployed: configured only through its environment, wired at import,
 * on the embedded store and SQS, against a real receiver. What its wiring decides, beyond the worker's own tests.
 */
const RETRY_DELAY_SECONDS = 600;
let store: Awaited<ReturnType<typeof startTestTable>>;
let sqsServer: EmbeddedSqs;
let sqs: SQSClient;
let receiver: Server;
let handler: (event: SQSEvent) => Promise<unknown>;
let kms: Awaited<ReturnType<ReturnType<typeof createEmbeddedKms>['listen']>>;

beforeAll(async () => {
  store = await startTestTable();
  sqsServer = new EmbeddedSqs({ region: 'us-east-1' });
  await sqsServer.start();
  sqs = sqsClientFor(sqsServer);
  receiver = createServer((_request, response) => response.writeHead(503).end());
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const credentialsKey = createEmbeddedKms({ region: 'us-east-1', account: '000000000000' });
  kms = await credentialsKey.listen();
  Object.assign(process.env, {
    KMS_ENDPOINT: kms.endpoint,
    CREDENTIALS_KEY_ID: credentialsKey.keyArn,
    TABLE_NAME: store.tableName,
    AWS_REGION: 'us-east-1',
    DYNAMODB_ENDPOINT: store.endpoint,
    SQS_ENDPOINT: sqsServer.endpoint,
    DELIVERY_QUEUE_URL: sqsServer.createQueue('handler-deliveries'),
    SLOW_LANE_QUEUE_URL: sqsServer.createQueue('handler-deliveries-slow-lane'),
    DELIVERY_DLQ_URL: sqsServer.createQueue('handler-deliveries-dlq'),
    RETRY_SCHEDULE: String(RETRY_DELAY_SECONDS),
    CIRCUIT_FAILURE_THRESHOLD: '100', // all 20 failing deliveries are attempted, none held
    ALLOW_PRIVATE_DESTINATIONS: 'true',
    ALLOW_HTTP_URLS: 'true',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler } = await import('../../functions/handlers/delivery-worker.handler.js'));
});
afterAll(async () => {
  sqs.destroy();
  await sqsServer.stop();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await kms.stop();
  await store.stop();
});

it('spreads the retries of deliveries failing together by the schedule’s ±20 % jitter', async () => {
  const webhooks = new DynamoWebhookRepository(store.db, store.tableName, { now: () => new Date() });
  const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, { now: () => new Date() });
  const webhook = makeWebhook('acme', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/down`);
  await webhooks.create(webhook);
  const jobs = Array.from({ length: 20 }, () =>
    makeDelivery(webhook, { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: new Date().toISOString(), data: {} }).job,
  );

  for (let first = 0; first < jobs.length; first += 10) {
    await handler({
      Records: jobs.slice(first, first + 10).map((job, index) => ({
        messageId: `m-${first + index}`,
        receiptHandle: `r-${first + index}`,
        body: JSON.stringify(job),
      })),
    } as SQSEvent);
  }

  const waits = await Promise.all(
    jobs.map(async (job) => {
      const record = await deliveries.get({ tenantId: job.tenantId, webhookId: job.webhookId, deliveryId: job.deliveryId });
      expect(record).toMatchObject({ status: 'retrying', attempts: [{ statusCode: 503 }] });
      return (Date.parse(record!.nextAttemptAt!) - Date.parse(record!.attempts[0]!.at)) / 1000;
    }),
  );
  for (const wait of waits) {
    expect(wait).toBeGreaterThanOrEqual(RETRY_DELAY_SECONDS * 0.8);
    expect(wait).toBeLessThanOrEqual(RETRY_DELAY_SECONDS * 1.2);
  }
  expect(Math.max(...waits) - Math.min(...waits)).toBeGreaterThan(10); // 20 draws over a 240 s range
});

it('parks a record not yet due on the queue it came from, the slow lane’s included', async () => {
  const webhook = makeWebhook('acme', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/down`);
  const { job } = makeDelivery(webhook, { id: `evt_${ulidIds.eventId()}`, type: 'order.created', timestamp: new Date().toISOString(), data: {} });
  const queueUrl = process.env.SLOW_LANE_QUEUE_URL!;
  const notDue = { ...job, lane: 'slow' as const, notBefore: Date.now() + 3_600_000 };
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(notDue) }));
  const receivedAt = Date.now();
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 3 }));
  const [message] = Messages;

  await handler({
    Records: [
      { messageId: message!.MessageId!, receiptHandle: message!.ReceiptHandle!, body: message!.Body!, eventSourceARN: sqsServer.queueArn('handler-deliveries-slow-lane') },
    ],
  } as SQSEvent);

  // Past the receive's 3 s the record is still hidden: parked for the hour, on its own queue.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, receivedAt + 4000 - Date.now())));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' });
});

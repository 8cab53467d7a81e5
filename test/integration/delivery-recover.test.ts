import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { SqsDeliveryJobQueue } from '../../functions/adapters/sqs/delivery-queue.js';
import { DeliveryJob } from '../../functions/contracts/delivery.schema.js';
import type { DeliveryStatus } from '../../functions/contracts/delivery.schema.js';
import { DeliveryService } from '../../functions/domain/delivery/delivery.service.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { startTestTable } from '../support/dynamodb-store.js';
import { sqsClientFor } from '../support/embedded-sqs-client.js';
import { makeDelivery, makeWebhook } from '../support/records.js';

/**
 * POST /v1/webhooks/{id}/recover's use case on the real store and the embedded SQS: every failed delivery since
 * the time is re-sent, across as many pages of the delivery log as it takes, and nothing else is.
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

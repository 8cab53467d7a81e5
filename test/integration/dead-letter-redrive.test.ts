import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { SqsDeadLetterSource } from '../../functions/adapters/sqs/dead-letter-source.js';
import { SqsDeadLetterSink, SqsDeliveryJobQueue } from '../../functions/adapters/sqs/delivery-queue.js';
import { DeliveryJob } from '../../functions/contracts/delivery.schema.js';
import { DeadLetterRedrive } from '../../functions/domain/delivery/dead-letter-redrive.service.js';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { startTestTable } from '../support/dynamodb-store.js';
import { sqsClientFor } from '../support/embedded-sqs-client.js';
import { makeDelivery, makeWebhook, queueMadeAtOnce } from '../support/records.js';

/**
 * The operator's DLQ recovery (`admin dlq list|redrive`) on the embedded SQS and store, in process: what is listed
 * stays on the DLQ; a redrive sends the same job through the normal path, numbered after the attempts made, with
 * the schedule started anew, and takes only what the filter selects.
 */
let store: Awaited<ReturnType<typeof startTestTable>>;
let sqsServer: EmbeddedSqs;
let sqs: SQSClient;

beforeAll(async () => {
  store = await startTestTable();
  sqsServer = new EmbeddedSqs({ region: 'us-east-1' });
  await sqsServer.start();
  sqs = sqsClientFor(sqsServer);
});
afterAll(async () => {
  sqs.destroy();
  await sqsServer.stop();
  await store.stop();
});

const setup = async () => {
  const name = `dlq-${Math.random().toString(36).slice(2, 8)}`;
  const deliveryQueue = sqsServer.createQueue(name);
  const deadLetterQueue = sqsServer.createQueue(`${name}-dlq`);
  const deliveries = new DynamoDeliveryRepository(store.db, store.tableName, { now: () => new Date() });
  const sink = new SqsDeadLetterSink(sqs, deadLetterQueue);
  const [first, second] = [makeWebhook(name, 'https://a.example.com/hook'), makeWebhook(name, 'https://b.example.com/hook')];
  /** A delivery of `webhook` that failed `attempts` attempts and was dead-lettered `at`. */
  const exhausted = async (webhook: typeof first, index: number, attempts: number, at: Date) => {
    const event = { id: `evt_${name}_${index}`, type: 'order.created', timestamp: at.toISOString(), data: {} };
    const { record, job } = makeDelivery(webhook, event, { now: at });
    const made = Array.from({ length: attempts }, (_, attempt) => ({ attempt: attempt + 1, at: at.toISOString(), durationMs: 5, statusCode: 500, error: 'http_5xx' }));
    await deliveries.createIfAbsent({ ...record, status: 'failed', lastError: 'http_5xx', attempts: made });
    // Its last attempt was made in the slow lane, in a rate limit's send slot.
    const last = { ...job, attempt: attempts, notBefore: at.getTime(), manual: true, lane: 'slow' as const, sendAt: at.getTime() };
    await sink.deadLetter({ job: last, attempts: made, lastError: 'http_5xx', at: at.toISOString() });
    return { record, job: last };
  };
  const jobs = new SqsDeliveryJobQueue(sqs, deliveryQueue);
  const source = new SqsDeadLetterSource(sqs, deadLetterQueue);
  const redrive = new DeadLetterRedrive({ source, jobs, deliveries });
  const queuedJobs = async () => {
    const jobs: DeliveryJob[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deliveryQueue, MaxNumberOfMessages: 10 }));
      if (Messages.length === 0) return jobs;
      jobs.push(...Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!))));
    }
  };
  return { first, second, exhausted, redrive, deliveries, queuedJobs, deadLetterQueue, jobs, source };
};

it('lists what the filter selects and leaves every entry on the DLQ', async () => {
  const { first, second, exhausted, redrive } = await setup();
  const old = new Date(Date.now() - 3_600_000);
  await exhausted(first, 1, 3, old);
  await exhausted(first, 2, 3, new Date());
  await exhausted(second, 3, 3, new Date());

  expect(await redrive.list()).toHaveLength(3);
  expect((await redrive.list({ webhookId: first.id })).map((entry) => entry.job.webhookId)).toEqual([first.id, first.id]);
  const since = await redrive.list({ webhookId: first.id, since: new Date(Date.now() - 60_000) });
  expect(since.map((entry) => entry.job.event.id)).toEqual([expect.stringMatching(/_2$/)]);
  expect(since[0]).toMatchObject({ kind: 'delivery_exhausted', lastError: 'http_5xx', attempts: 3 });
  const atTheInstant = await redrive.list({ webhookId: first.id, since: new Date(since[0]!.deadLetteredAt) });
  expect(atTheInstant).toHaveLength(1); // `since` includes an entry dead-lettered at that very instant
  expect(await redrive.list()).toHaveLength(3); // listing took nothing off the queue
});

it('redrives the selected entries as their next attempt with the schedule started anew, keeping the rest', async () => {
  const { first, second, exhausted, redrive, deliveries, queuedJobs, deadLetterQueue } = await setup();
  const a = await exhausted(first, 1, 3, new Date());
  const b = await exhausted(first, 2, 11, new Date());
  await exhausted(second, 3, 3, new Date());
  const progress: [number, number][] = [];

  const result = await redrive.redrive({ webhookId: first.id }, (done, total) => progress.push([done, total]));

  expect(result).toEqual({ redriven: 2, kept: 1 });
  expect(progress).toEqual([
    [1, 2],
    [2, 2],
  ]);
  const jobs = (await queuedJobs()).sort((x, y) => x.attempt - y.attempt);
  // Onto the shared lane, without the due time, manual flag or send slot of the last attempt.
  const { notBefore: _a, manual: _aManual, lane: _aLane, sendAt: _aSlot, ...aJob } = a.job;
  const { notBefore: _b, manual: _bManual, lane: _bLane, sendAt: _bSlot, ...bJob } = b.job;
  expect(jobs).toEqual([
    { ...aJob, attempt: 4, scheduleOffset: 3 },
    { ...bJob, attempt: 12, scheduleOffset: 11 },
  ]);
  for (const { record } of [a, b]) {
    expect(await deliveries.get({ tenantId: record.tenantId, webhookId: record.webhookId, deliveryId: record.id })).toMatchObject({
      status: 'pending',
    });
  }
  expect((await redrive.list()).map((entry) => entry.job.webhookId)).toEqual([second.id]);
  // Gone from the DLQ, not merely hidden: only the kept entry is left, visible or not.
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterQueue, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  expect(Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible)).toBe(1);
});

it('numbers a redriven job after its own attempt when its delivery is no longer stored', async () => {
  const { first, redrive, queuedJobs, deadLetterQueue } = await setup();
  const event = { id: 'evt_gone', type: 'order.created', timestamp: new Date().toISOString(), data: {} };
  const { job } = makeDelivery(first, event);
  // A job the worker could not process, moved here by the queue's redrive policy: no delivery was ever stored.
  await sqs.send(new SendMessageCommand({ QueueUrl: deadLetterQueue, MessageBody: JSON.stringify({ ...job, attempt: 2 }) }));

  expect(await redrive.redrive()).toEqual({ redriven: 1, kept: 0 });

  expect(await queuedJobs()).toEqual([{ ...job, attempt: 3, scheduleOffset: 2 }]);
});

it('leaves a redriven delivery succeeded when its worker made the attempt before the redrive marked it pending', async () => {
  const { first, exhausted, deliveries, jobs, source } = await setup();
  const { record } = await exhausted(first, 1, 3, new Date());
  const redrive = new DeadLetterRedrive({ source, jobs: queueMadeAtOnce(jobs, deliveries), deliveries });

  expect(await redrive.redrive()).toEqual({ redriven: 1, kept: 0 });

  const key = { tenantId: record.tenantId, webhookId: record.webhookId, deliveryId: record.id };
  expect(await deliveries.get(key)).toMatchObject({ status: 'succeeded', attempts: [{}, {}, {}, { attempt: 4, statusCode: 200 }] });
});

/**
 * The SQS adapters of the delivery pipeline against moto's SQS, through the real AWS SDK v3 client: the delivery
 * job queue (batching, DelaySeconds, message attributes), the visibility timeout and the parking of not-yet-due
 * records (ChangeMessageVisibility), redrive to a dead-letter queue after maxReceiveCount receives, the deletes
 * an SQS event source makes after a partial batch failure, and the two sinks' documents.
 *
 * What the emulator proves: the requests the adapters build are valid SQS API calls that SQS accepts, and the
 * queue semantics the pipeline relies on (delay, visibility, receive counts, redrive, batch limits, the 12-hour
 * visibility cap) hold for them, in real time.
 * What it cannot prove: IAM (moto accepts any credentials and ignores queue policies, `aws:SecureTransport` and
 * SSE), real Lambda scaling (event source pollers, maxConcurrency, throttling) and alarm evaluation (CloudWatch).
 * Covered instead by template assertions: IAM in test/infra/pipeline-stack.test.ts 'least privilege' (each
 * function's queue and table actions, ChangeMessageVisibility for the worker), test/infra/stateful-stack.test.ts
 * 'events queue' (only EventBridge, for this rule's ARN, may send) and 'every queue' (SSE, refuses non-TLS);
 * Lambda scaling in pipeline-stack.test.ts 'event sources' (BatchSize, MaximumConcurrency, ReportBatchItemFailures)
 * and 'visibility timeouts', and test/infra/webhook-function.test.ts 'WebhookFunction.consume'; alarms in
 * test/infra/monitoring-stack.test.ts 'alarms' (metric, statistic, threshold and missing-data treatment of each:
 * DLQ depth, oldest message age, success rate, function errors and throttles), which no emulator evaluates.
 *
 * Moto 5.2.5 quirks seen here: it counts the 12-hour visibility cap from the message's SENT time (SQS counts from
 * the receive), so it is stricter than SQS for old messages; it accepts message bodies SQS refuses (e.g. U+0000);
 * its ReceiveMessage is not atomic, so two concurrent receivers can get the same message (hence one poller here).
 */
import { SendMessageBatchCommand, SendMessageCommand, DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { SqsDeadLetterSink, SqsDeliveryJobQueue, SqsRejectedEventSink } from '../../functions/adapters/sqs/delivery-queue.js';
import { DeliveryJob } from '../../functions/contracts/delivery.schema.js';
import type { JobOutcome } from '../../functions/domain/delivery/delivery-worker.service.js';
import { parkWithVisibilityTimeout, processSqsBatch } from '../../functions/handlers/sqs-batch.js';
import { startEventSourceMapping } from '../../local/event-source-mapping.js';
import {
  createQueue,
  drain,
  eventually,
  MOTO_REGION,
  motoSqsClient,
  type MotoQueue,
  parseBody,
  queueAttributes,
  queueDepth,
  receive,
  claimMoto,
  sleep,
  toSqsRecord,
} from './support/moto-clients.js';

let sqs: SQSClient;
/** Entries per SendMessageBatch request the client sent, recorded by a middleware on the real client. */
const batchSizes: number[] = [];

let releaseMoto: (() => Promise<void>) | undefined;

beforeAll(async () => {
  releaseMoto = await claimMoto();
  sqs = motoSqsClient();
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand') batchSizes.push((args.input as { Entries: unknown[] }).Entries.length);
      return next(args);
    },
    { step: 'initialize', name: 'recordBatchSizes' },
  );
}, 300_000);
afterAll(async () => {
  await releaseMoto?.();
  sqs?.destroy();
});

let sequence = 0;
const jobFor = (type = 'order.created'): DeliveryJob => {
  sequence += 1;
  return {
    deliveryId: `dlv_${sequence}`,
    tenantId: 'acme',
    webhookId: 'wh_moto',
    event: { id: `evt_${sequence}`, type, timestamp: new Date().toISOString(), data: { n: sequence } },
    attempt: 1,
  };
};

const silentLogger = () => {
  const errors: unknown[][] = [];
  return { errors, error: (...args: unknown[]) => void errors.push(args) };
};

/** The messages of the first receive that gets any: a delayed message's, once its delay is over. */
const receivedOnceDue = (queue: MotoQueue) =>
  eventually(async () => {
    const messages = await receive(sqs, queue);
    return messages.length > 0 ? messages : undefined;
  }, 10_000);

describe('SqsDeliveryJobQueue', () => {
  it('splits 23 jobs into SendMessageBatch requests of at most 10, each job arriving once with its eventType attribute', async () => {
    const queue = await createQueue(sqs, 'jobs-batched');
    const types = ['order.created', 'order.status_changed', 'order.price_changed'];
    const jobs = Array.from({ length: 23 }, (_, index) => jobFor(types[index % types.length]));
    batchSizes.length = 0;

    await new SqsDeliveryJobQueue(sqs, queue.url).enqueue(jobs);

    expect([...batchSizes].sort((a, b) => a - b)).toEqual([3, 10, 10]);
    const messages = await drain(sqs, queue);
    expect(messages.map((message) => DeliveryJob.parse(parseBody(message))).sort((a, b) => a.deliveryId.localeCompare(b.deliveryId))).toEqual(
      [...jobs].sort((a, b) => a.deliveryId.localeCompare(b.deliveryId)),
    );
    for (const message of messages) {
      expect(message.MessageAttributes).toEqual({
        eventType: { DataType: 'String', StringValue: DeliveryJob.parse(parseBody(message)).event.type },
      });
    }
  });

  it('needs the split: SQS refuses a batch of 11 entries', async () => {
    const queue = await createQueue(sqs, 'jobs-too-many');

    const send = sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: Array.from({ length: 11 }, (_, index) => ({ Id: String(index), MessageBody: '{}' })),
      }),
    );

    await expect(send).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
  });

  it('holds jobs back for DelaySeconds: not receivable at once, delivered after the delay', async () => {
    const queue = await createQueue(sqs, 'jobs-delayed');
    const job = jobFor();
    const sentAt = Date.now();

    await new SqsDeliveryJobQueue(sqs, queue.url).enqueue([job], 2);

    expect(await receive(sqs, queue)).toEqual([]);
    expect(await queueDepth(sqs, queue)).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    const [message] = await receivedOnceDue(queue);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_900);
    expect(DeliveryJob.parse(parseBody(message!))).toEqual(job);
  });

  it('delays a job with notBefore until then, as far as SQS’s 15 minutes reach; a job due already at once', async () => {
    const queue = await createQueue(sqs, 'jobs-not-before');
    const sentAt = Date.now();
    const soon = { ...jobFor(), notBefore: sentAt + 2_000 };
    const later = { ...jobFor(), notBefore: sentAt + 3_600_000 }; // beyond the 900 s SQS allows: delayed 900 s
    const due = { ...jobFor(), notBefore: sentAt - 5_000 };

    await new SqsDeliveryJobQueue(sqs, queue.url).enqueue([soon, later, due]);

    expect((await receive(sqs, queue)).map((message) => DeliveryJob.parse(parseBody(message)))).toEqual([due]);
    expect(await queueDepth(sqs, queue)).toMatchObject({ delayed: 2 });
    const [message] = await receivedOnceDue(queue);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_900);
    expect(DeliveryJob.parse(parseBody(message!))).toEqual(soon);
    expect(await queueDepth(sqs, queue)).toMatchObject({ delayed: 1 });
  });

  it('puts each job on its lane’s queue: the slow lane’s jobs on the slow lane’s, the rest on the delivery queue', async () => {
    const shared = await createQueue(sqs, 'jobs-shared-lane');
    const slow = await createQueue(sqs, 'jobs-slow-lane');
    const sharedJobs = [jobFor(), jobFor()];
    const slowJobs = [{ ...jobFor(), lane: 'slow' as const }];

    await new SqsDeliveryJobQueue(sqs, shared.url, slow.url).enqueue([sharedJobs[0]!, ...slowJobs, sharedJobs[1]!]);

    const byId = (a: DeliveryJob, b: DeliveryJob) => a.deliveryId.localeCompare(b.deliveryId);
    expect((await drain(sqs, shared)).map((message) => DeliveryJob.parse(parseBody(message))).sort(byId)).toEqual(sharedJobs);
    expect((await drain(sqs, slow)).map((message) => DeliveryJob.parse(parseBody(message)))).toEqual(slowJobs);
  });

  it('refuses a slow lane’s job where there is no slow lane’s queue, queueing none of the batch', async () => {
    const queue = await createQueue(sqs, 'jobs-no-slow-lane');
    const slowJob = { ...jobFor(), lane: 'slow' as const };

    const enqueue = new SqsDeliveryJobQueue(sqs, queue.url).enqueue([jobFor(), slowJob]);

    await expect(enqueue).rejects.toThrow(`delivery job ${slowJob.deliveryId} is for the slow lane, which has no queue here`);
    expect(await queueDepth(sqs, queue)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('fails loudly, naming the code, when SQS refuses an entry as the sender’s fault', async () => {
    const queue = await createQueue(sqs, 'jobs-refused');

    // 901 s is beyond SQS's 15-minute DelaySeconds; the worker never asks for it (MAX_QUEUE_DELAY_SECONDS).
    const enqueue = new SqsDeliveryJobQueue(sqs, queue.url).enqueue([jobFor()], 901);

    await expect(enqueue).rejects.toThrow(/could not queue 1 delivery jobs: InvalidParameterValue/);
    expect(await queueDepth(sqs, queue)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});

describe('visibility timeout', () => {
  it('hides a received message for the queue’s visibility timeout, then hands it back with a higher receive count', async () => {
    const queue = await createQueue(sqs, 'visibility', { attributes: { VisibilityTimeout: '1' } });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'hello' }));

    const [first] = await receive(sqs, queue);
    const whileHidden = await receive(sqs, queue);
    await sleep(1_200);
    const [again] = await receive(sqs, queue);

    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(whileHidden).toEqual([]);
    expect(again).toMatchObject({ MessageId: first!.MessageId, Body: 'hello', Attributes: { ApproximateReceiveCount: '2' } });
    expect(again!.ReceiptHandle).not.toBe(first!.ReceiptHandle);
  });

  it('parks a record that is not due with ChangeMessageVisibility: reported failed, hidden past the queue timeout, back when due', async () => {
    const queue = await createQueue(sqs, 'parking', { attributes: { VisibilityTimeout: '1' } });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'not yet due' }));
    const [message] = await receive(sqs, queue);
    const logger = silentLogger();

    const response = await processSqsBatch(
      { Records: [toSqsRecord(message!, queue)] },
      async (): Promise<JobOutcome> => ({ kind: 'park', seconds: 3 }),
      { logger, park: parkWithVisibilityTimeout(sqs, queue.url) },
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message!.MessageId }]);
    expect(logger.errors).toEqual([]);
    await sleep(1_500); // past the queue's 1 s timeout: without the park the message would be back
    expect(await receive(sqs, queue)).toEqual([]);
    const [due] = await eventually(async () => {
      const messages = await receive(sqs, queue);
      return messages.length > 0 ? messages : undefined;
    }, 5_000);
    expect(due?.MessageId).toBe(message!.MessageId);
  });

  it('parks for a wait longer than SQS’s 12-hour cap without SQS refusing the visibility timeout', async () => {
    // SQS limits a message's visibility to 12 hours counted from the receive, so ChangeMessageVisibility(43200)
    // made any time after the receive is refused ("Total VisibilityTimeout for the message is beyond the limit").
    // The park must stay under the cap by the time that can have passed since the receive.
    const queue = await createQueue(sqs, 'parking-long', { attributes: { VisibilityTimeout: '1' } });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'due tomorrow' }));
    const [message] = await receive(sqs, queue);
    const logger = silentLogger();

    const response = await processSqsBatch(
      { Records: [toSqsRecord(message!, queue)] },
      async (): Promise<JobOutcome> => ({ kind: 'park', seconds: 86_400 }),
      { logger, park: parkWithVisibilityTimeout(sqs, queue.url) },
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message!.MessageId }]);
    expect(logger.errors).toEqual([]);
    await sleep(1_500);
    expect(await receive(sqs, queue)).toEqual([]);
  });
});

describe('partial batch failures and redrive', () => {
  it('deletes (DeleteMessageBatch) only the records not reported failed; the failed one comes back after the visibility timeout', async () => {
    const queue = await createQueue(sqs, 'partial', { attributes: { VisibilityTimeout: '1' } });
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: ['ok-1', 'boom', 'ok-2'].map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
    const messages = await receive(sqs, queue);
    expect(messages).toHaveLength(3);
    const records = messages.map((message) => toSqsRecord(message, queue));

    const { batchItemFailures } = await processSqsBatch(
      { Records: records },
      async (record): Promise<JobOutcome> => {
        if (record.body === 'boom') throw new Error('transient failure');
        return { kind: 'done' };
      },
      { logger: silentLogger() },
    );
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    const done = records.filter((record) => !failed.has(record.messageId));
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [
          ...done.map((record, index) => ({ Id: `done-${index}`, ReceiptHandle: record.receiptHandle })),
          { Id: 'stale', ReceiptHandle: 'not-a-receipt-handle' },
        ],
      }),
    );

    expect(batchItemFailures).toEqual([{ itemIdentifier: records.find((record) => record.body === 'boom')!.messageId }]);
    expect(deleted.Successful?.map((entry) => entry.Id).sort()).toEqual(['done-0', 'done-1']);
    expect(deleted.Failed).toEqual([expect.objectContaining({ Id: 'stale', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
    await sleep(1_200);
    const back = await receive(sqs, queue);
    expect(back.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount])).toEqual([['boom', '2']]);
  });

  it('is what the local event source mapping (the poller of moto-pipeline) does: batches of at most 10, failed records retried after the visibility timeout', async () => {
    const queue = await createQueue(sqs, 'mapping', { attributes: { VisibilityTimeout: '3' } });
    const bodies = Array.from({ length: 15 }, (_, index) => (index === 7 ? 'boom' : `ok-${index}`));
    for (let offset = 0; offset < bodies.length; offset += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: bodies.slice(offset, offset + 10).map((body, index) => ({ Id: String(index), MessageBody: body })),
        }),
      );
    }
    const batchSizesSeen: number[] = [];
    const seen: string[] = [];
    const mapping = startEventSourceMapping({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      region: MOTO_REGION,
      batchSize: 10,
      // One poller: moto's ReceiveMessage is not atomic, so concurrent receives can hand out the same message twice.
      concurrency: 1,
      log: () => undefined,
      handler: (event: SQSEvent) => {
        batchSizesSeen.push(event.Records.length);
        return processSqsBatch(
          event,
          async (record) => {
            seen.push(`${record.body}#${record.attributes.ApproximateReceiveCount}`);
            if (record.body === 'boom' && record.attributes.ApproximateReceiveCount === '1') throw new Error('transient');
            return { kind: 'done' };
          },
          { logger: silentLogger() },
        );
      },
    });

    try {
      await eventually(async () => (seen.includes('boom#2') ? true : undefined), 10_000, 'the failed record retried');
      await eventually(async () => {
        const depth = await queueDepth(sqs, queue);
        return depth.visible + depth.inFlight + depth.delayed === 0 ? true : undefined;
      }, 5_000, 'the queue emptied');
    } finally {
      await mapping.stop();
    }
    expect(Math.max(...batchSizesSeen)).toBeLessThanOrEqual(10);
    expect(seen.sort()).toEqual([...bodies.map((body) => `${body}#1`), 'boom#2'].sort());
  });

  it('moves a record the consumer keeps failing to the dead-letter queue after maxReceiveCount receives (RedrivePolicy)', async () => {
    const deadLetterQueue = await createQueue(sqs, 'redrive-dlq');
    const queue = await createQueue(sqs, 'redrive', { attributes: { VisibilityTimeout: '1' }, deadLetter: { queue: deadLetterQueue, maxReceiveCount: 3 } });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: JSON.stringify(jobFor()),
        MessageAttributes: { eventType: { DataType: 'String', StringValue: 'order.created' } },
      }),
    );
    const invocations: string[] = [];
    const mapping = startEventSourceMapping({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      region: MOTO_REGION,
      batchSize: 10,
      concurrency: 1,
      log: () => undefined,
      handler: (event: SQSEvent) =>
        processSqsBatch(
          event,
          async (record) => {
            invocations.push(record.attributes.ApproximateReceiveCount);
            throw new Error('always failing');
          },
          { logger: silentLogger() },
        ),
    });

    try {
      const [deadLetter] = await eventually(async () => {
        const messages = await receive(sqs, deadLetterQueue);
        return messages.length > 0 ? messages : undefined;
      }, 15_000);

      expect(invocations).toEqual(['1', '2', '3']);
      expect(DeliveryJob.parse(parseBody(deadLetter!))).toMatchObject({ webhookId: 'wh_moto', attempt: 1 });
      expect(deadLetter!.MessageAttributes).toEqual({ eventType: { DataType: 'String', StringValue: 'order.created' } });
    } finally {
      await mapping.stop();
    }
    expect(await queueDepth(sqs, queue)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const redrivePolicy = JSON.parse((await queueAttributes(sqs, queue)).RedrivePolicy!);
    expect({ ...redrivePolicy, maxReceiveCount: Number(redrivePolicy.maxReceiveCount) }).toEqual({
      deadLetterTargetArn: deadLetterQueue.arn,
      maxReceiveCount: 3,
    });
  });
});

describe('sinks', () => {
  it('SqsDeadLetterSink puts the exhausted delivery, its attempts and last error on the DLQ as `delivery_exhausted`', async () => {
    const queue = await createQueue(sqs, 'deliveries-dlq');
    const job = { ...jobFor(), attempt: 2 };
    const attempts = [
      { attempt: 1, at: '2026-06-01T00:00:00.000Z', durationMs: 12, statusCode: 500, error: 'http_5xx' },
      { attempt: 2, at: '2026-06-01T00:00:05.000Z', durationMs: 9, statusCode: 500, error: 'http_5xx' },
    ];

    await new SqsDeadLetterSink(sqs, queue.url).deadLetter({ job, attempts, lastError: 'http_5xx', at: '2026-06-01T00:00:05.000Z' });

    const [message] = await drain(sqs, queue);
    expect(parseBody(message!)).toEqual({ kind: 'delivery_exhausted', job, attempts, lastError: 'http_5xx', at: '2026-06-01T00:00:05.000Z' });
    expect(message!.MessageAttributes).toEqual({ kind: { DataType: 'String', StringValue: 'delivery_exhausted' } });
  });

  it('SqsRejectedEventSink puts the rejected event and the reasons on the rejected-events queue as `event_rejected`', async () => {
    const queue = await createQueue(sqs, 'rejected-events');
    const event = { id: 'eb-1', 'detail-type': 'order.created', source: 'com.example.shop', time: '2026-06-01T00:00:00Z', detail: {} };
    const reasons = ['detail.tenantId: Invalid input: expected string, received undefined'];

    await new SqsRejectedEventSink(sqs, queue.url).reject({ event, reasons, at: '2026-06-01T00:00:01.000Z' });

    const [message] = await drain(sqs, queue);
    expect(parseBody(message!)).toEqual({ kind: 'event_rejected', event, reasons, at: '2026-06-01T00:00:01.000Z' });
    expect(message!.MessageAttributes).toEqual({ kind: { DataType: 'String', StringValue: 'event_rejected' } });
  });
});

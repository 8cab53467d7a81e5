import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryJob } from '../../contracts/delivery.schema.js';
import type { DeadLetterSink, DeliveryJobQueue, RejectedEventSink } from '../../domain/delivery/delivery.ports.js';
import type { Clock } from '../../domain/ports.js';

const SQS_BATCH_LIMIT = 10;
/** SQS's longest message delay. */
const MAX_DELAY_SECONDS = 900;

/**
 * Delivery jobs as messages on the delivery queue, or the slow lane's queue for jobs of the slow lane, sent ten
 * per request. The event router and the delivery worker queue jobs for the slow lane, and only they are given
 * its queue. A job with `notBefore` is delayed until then, as far as SQS's 15-minute delay reaches.
 */
export class SqsDeliveryJobQueue implements DeliveryJobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly slowLaneQueueUrl?: string,
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  async enqueue(jobs: readonly DeliveryJob[], delaySeconds = 0): Promise<void> {
    const batches: { queueUrl: string; jobs: DeliveryJob[] }[] = [];
    for (const [queueUrl, laneJobs] of this.byQueue(jobs)) {
      for (let offset = 0; offset < laneJobs.length; offset += SQS_BATCH_LIMIT) {
        batches.push({ queueUrl, jobs: laneJobs.slice(offset, offset + SQS_BATCH_LIMIT) });
      }
    }
    await Promise.all(batches.map((batch) => this.sendBatch(batch.queueUrl, batch.jobs, delaySeconds)));
  }

  private byQueue(jobs: readonly DeliveryJob[]): Map<string, DeliveryJob[]> {
    const queues = new Map<string, DeliveryJob[]>();
    for (const job of jobs) {
      const queueUrl = job.lane === 'slow' ? this.slowLaneQueueUrl : this.queueUrl;
      if (queueUrl === undefined) throw new Error(`delivery job ${job.deliveryId} is for the slow lane, which has no queue here`);
      queues.set(queueUrl, [...(queues.get(queueUrl) ?? []), job]);
    }
    return queues;
  }

  private async sendBatch(queueUrl: string, jobs: readonly DeliveryJob[], delaySeconds: number): Promise<void> {
    const now = this.clock.now().getTime();
    const delayOf = (job: DeliveryJob) =>
      job.notBefore === undefined ? delaySeconds : Math.max(delaySeconds, Math.min(MAX_DELAY_SECONDS, Math.ceil((job.notBefore - now) / 1000)));
    let pending = jobs.map((job, index) => ({
      Id: String(index),
      MessageBody: JSON.stringify(job),
      DelaySeconds: delayOf(job),
      MessageAttributes: { eventType: { DataType: 'String', StringValue: job.event.type } },
    }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      const { Failed = [] } = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      if (Failed.length === 0) return;
      const senderFault = Failed.find((failure) => failure.SenderFault);
      if (senderFault || attempt >= 3) {
        throw new Error(`could not queue ${Failed.length} delivery jobs: ${Failed[0]?.Code} ${Failed[0]?.Message ?? ''}`);
      }
      const failedIds = new Set(Failed.map((failure) => failure.Id));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
    }
  }
}

/** Exhausted deliveries on the delivery DLQ, with their attempt history and last error. */
export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  deadLetter(entry: Parameters<DeadLetterSink['deadLetter']>[0]): Promise<void> {
    return sendDocument(this.sqs, this.queueUrl, 'delivery_exhausted', entry);
  }
}

/** Published events that failed validation, with the reasons, on the rejected-events queue. */
export class SqsRejectedEventSink implements RejectedEventSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  reject(entry: Parameters<RejectedEventSink['reject']>[0]): Promise<void> {
    return sendDocument(this.sqs, this.queueUrl, 'event_rejected', entry);
  }
}

const sendDocument = async (sqs: SQSClient, queueUrl: string, kind: string, entry: object): Promise<void> => {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({ kind, ...entry }),
      MessageAttributes: { kind: { DataType: 'String', StringValue: kind } },
    }),
  );
};

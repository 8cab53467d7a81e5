import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryJob } from '../../contracts/delivery.schema.js';
import type { DeadLetterSink, DeliveryJobQueue, RejectedEventSink } from '../../domain/delivery/delivery.ports.js';

const SQS_BATCH_LIMIT = 10;

/** Delivery jobs as messages on the delivery queue, sent ten per request. */
export class SqsDeliveryJobQueue implements DeliveryJobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(jobs: readonly DeliveryJob[], delaySeconds = 0): Promise<void> {
    const batches: DeliveryJob[][] = [];
    for (let offset = 0; offset < jobs.length; offset += SQS_BATCH_LIMIT) batches.push(jobs.slice(offset, offset + SQS_BATCH_LIMIT));
    await Promise.all(batches.map((batch) => this.sendBatch(batch, delaySeconds)));
  }

  private async sendBatch(jobs: readonly DeliveryJob[], delaySeconds: number): Promise<void> {
    let pending = jobs.map((job, index) => ({
      Id: String(index),
      MessageBody: JSON.stringify(job),
      DelaySeconds: delaySeconds,
      MessageAttributes: { eventType: { DataType: 'String', StringValue: job.event.type } },
    }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      const { Failed = [] } = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
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

import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type JobOutcome, MAX_PARK_SECONDS } from '../domain/delivery/delivery-worker.service.js';


interface BatchLogger {
  error(message: string, ...extra: unknown[]): void;
}

/** Hides a record for `seconds`, so the queue hands it back when it is due. */
export type ParkRecord = (record: SQSRecord, seconds: number) => Promise<void>;

export const parkWithVisibilityTimeout =
  (sqs: SQSClient, queueUrl: string): ParkRecord =>
  async (record, seconds) => {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(seconds, MAX_PARK_SECONDS),
      }),
    );
  };

/**
 * Runs every record of an SQS batch concurrently and reports partial failures (`ReportBatchItemFailures`): a
 * record that throws stays on the queue for another try without holding back the others. A parked record is
 * hidden until it is due and reported failed, so it stays on the queue.
 */
export const processSqsBatch = async (
  event: SQSEvent,
  processRecord: (record: SQSRecord) => Promise<JobOutcome>,
  deps: { logger: BatchLogger; park?: ParkRecord },
): Promise<SQSBatchResponse> => {
  const outcomes = await Promise.all(
    event.Records.map(async (record) => {
      try {
        const outcome = await processRecord(record);
        if (outcome.kind === 'done') return undefined;
        if (!deps.park) throw new Error('this consumer cannot park records');
        await deps.park(record, outcome.seconds);
      } catch (error) {
        deps.logger.error('record failed; it stays on the queue', { messageId: record.messageId, error });
      }
      return { itemIdentifier: record.messageId };
    }),
  );
  return { batchItemFailures: outcomes.filter((failure) => failure !== undefined) };
};

import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type JobOutcome, MAX_PARK_SECONDS } from '../domain/delivery/delivery-worker.service.js';
import type { EventRouter } from '../domain/delivery/event-router.service.js';

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
 * Parks each record on the queue it came from, one of `queueUrls` (the delivery queue and the slow lane's): the
 * one whose name, the last part of its URL, is the last part of the record's `eventSourceARN`.
 */
export const parkOnSourceQueue = (sqs: SQSClient, queueUrls: readonly string[]): ParkRecord => {
  const parkers = queueUrls.map((url) => ({ name: url.split('/').at(-1), park: parkWithVisibilityTimeout(sqs, url) }));
  return (record, seconds) => {
    const name = record.eventSourceARN.split(':').at(-1);
    const parker = parkers.find((candidate) => candidate.name === name);
    if (!parker) throw new Error(`cannot park a record from ${record.eventSourceARN}: not a queue this consumer polls`);
    return parker.park(record, seconds);
  };
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

const parseEventBody = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return body; // not an EventBridge event: the router rejects it with its reason
  }
};

/**
 * Routes a batch of the events queue (EventBridge rule target) as one (see EventRouter.routeBatch) and reports
 * the events that could not be routed, so they alone stay on the queue (`ReportBatchItemFailures`).
 */
export const routeSqsBatch = async (
  event: SQSEvent,
  router: Pick<EventRouter, 'routeBatch'>,
  logger: BatchLogger,
): Promise<SQSBatchResponse> => {
  const results = await router.routeBatch(event.Records.map((record) => parseEventBody(record.body)));
  const batchItemFailures = event.Records.flatMap((record, index) => {
    const result = results[index];
    if (result?.kind !== 'failed') return [];
    logger.error('record failed; it stays on the queue', { messageId: record.messageId, error: result.error });
    return [{ itemIdentifier: record.messageId }];
  });
  return { batchItemFailures };
};

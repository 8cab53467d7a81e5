import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface EventSourceMappingOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Records per invocation, at most 10 as for a standard queue. */
  readonly batchSize: number;
  /** Concurrent pollers, like the mapping's maximum concurrency. */
  readonly concurrency: number;
  readonly log: (line: string) => void;
}

/** A received message as Lambda's SQS event source hands it to a handler. */
export const toSqsRecord = (message: Message, queueArn: string, region: string): SQSRecord => ({
  messageId: message.MessageId ?? '',
  receiptHandle: message.ReceiptHandle ?? '',
  body: message.Body ?? '',
  attributes: message.Attributes as unknown as SQSRecord['attributes'],
  messageAttributes: Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      { dataType: value.DataType ?? 'String', ...(value.StringValue !== undefined && { stringValue: value.StringValue }) },
    ]),
  ),
  md5OfBody: message.MD5OfBody ?? '',
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: region,
});

/** Lambda's event source mapping long-polls for 20 s. */
const LONG_POLL_SECONDS = 20;

/**
 * What Lambda's SQS event source mapping does, for local mode: long-polls the queue, invokes the handler with
 * batches, deletes the records it did not report in `batchItemFailures`, and leaves failed records (or all of
 * them, if the invocation throws) to come back after their visibility timeout.
 */
export const startEventSourceMapping = (options: EventSourceMappingOptions) => {
  let running = true;
  // Stopping ends the pollers' long polls at once (one signal each: a signal shared by many requests warns of a
  // leak); a batch being handled is finished first.
  const stopping = Array.from({ length: options.concurrency }, () => new AbortController());
  const poll = async ({ signal }: AbortController) => {
    while (running) {
      try {
        const { Messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: LONG_POLL_SECONDS,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        if (Messages.length === 0) continue;
        const records = Messages.map((message) => toSqsRecord(message, options.queueArn, options.region));
        let failed: Set<string>;
        try {
          const response = await options.handler({ Records: records });
          failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
        } catch (error) {
          options.log(`invocation failed, the batch stays on the queue: ${(error as Error).message}`);
          continue;
        }
        const done = records.filter((record) => !failed.has(record.messageId));
        if (done.length > 0) {
          await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
            }),
          );
        }
      } catch (error) {
        if (running) {
          options.log(`event source mapping for ${options.queueArn}: ${(error as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
  };
  const pollers = stopping.map(poll);
  return {
    stop: async () => {
      running = false;
      for (const controller of stopping) controller.abort();
      await Promise.all(pollers);
    },
  };
};

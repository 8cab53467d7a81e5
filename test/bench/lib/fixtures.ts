import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { WebhookPayload } from '../../../functions/contracts/delivery.schema.js';
import { findEventType } from '../../../functions/contracts/event-catalogue.js';

export const EVENT_TYPE = 'order.created';
/** The catalogue's own example of an `order.created` payload: a realistic, small event (~0.2 KB). */
export const exampleData = () => structuredClone(findEventType(EVENT_TYPE)!.example) as Record<string, unknown>;

export const makeEvent = (id: string): WebhookPayload => ({
  id,
  type: EVENT_TYPE,
  timestamp: new Date().toISOString(),
  data: exampleData(),
});

let messageSequence = 0;
/** An SQS record as Lambda's event source mapping hands it to the function. */
export const sqsRecord = (body: unknown, queueArn: string, messageAttributes: SQSRecord['messageAttributes'] = {}): SQSRecord => {
  messageSequence += 1;
  const now = String(Date.now());
  return {
    messageId: `00000000-0000-4000-8000-${String(messageSequence).padStart(12, '0')}`,
    receiptHandle: `bench-receipt-${messageSequence}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'AIDABENCH',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
};

/** Splits records into SQS events of at most `size` records (the event source mapping's batch size). */
export const batchesOf = (records: readonly SQSRecord[], size = 10): SQSEvent[] => {
  const batches: SQSEvent[] = [];
  for (let offset = 0; offset < records.length; offset += size) batches.push({ Records: records.slice(offset, offset + size) });
  return batches;
};

/** Runs `work` over `items` with at most `concurrency` in flight. */
export const forEachConcurrently = async <T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item);
      }
    }),
  );
};

/**
 * What makes a function's log lines take their Lambda shape (see CompactLogFormatter): the function's name, and an
 * X-Ray trace header of an unsampled invocation, as 95 % of them are.
 */
export const LAMBDA_LOG_ENVIRONMENT = {
  AWS_LAMBDA_FUNCTION_NAME: 'bench-function',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0',
} as const;

/** Counts the bytes and lines this process writes to stdout and stderr (the function's log, as on Lambda). */
export const countLogOutput = () => {
  const totals = { bytes: 0, lines: 0 };
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      totals.bytes += Buffer.byteLength(text, 'utf8');
      totals.lines += text.split('\n').length - 1;
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  return {
    snapshot: () => ({ ...totals }),
  };
};

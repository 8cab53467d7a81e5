import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type EventPattern, matchesEventPattern } from '../functions/contracts/event-routing.js';

const MAX_ENTRIES = 10;
const MAX_ENTRY_BYTES = 256 * 1024;

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Time?: string | number;
  Resources?: string[];
  EventBusName?: string;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/**
 * EventBridge's PutEvents for local mode (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`): validates entries
 * as EventBridge does, and sends each entry matching the platform's rule pattern to the events queue in the
 * envelope an EventBridge SQS target receives. Entries no rule matches are accepted and dropped, as on AWS.
 */
export const createPutEvents =
  (deps: { sqs: SQSClient; eventsQueueUrl: string; pattern: EventPattern; region: string; account: string }) =>
  async (input: { Entries?: PutEventsEntry[] }): Promise<{ status: number; body: unknown }> => {
    const entries = input.Entries ?? [];
    if (entries.length === 0 || entries.length > MAX_ENTRIES) {
      return {
        status: 400,
        body: { __type: 'ValidationException', message: `Entries must hold between 1 and ${MAX_ENTRIES} entries` },
      };
    }
    const results: EntryResult[] = [];
    const routed: { Id: string; MessageBody: string }[] = [];
    for (const entry of entries) {
      const problem = validateEntry(entry);
      if (problem) {
        results.push(problem);
        continue;
      }
      const eventId = randomUUID();
      results.push({ EventId: eventId });
      if (!matchesEventPattern(deps.pattern, { source: entry.Source!, detailType: entry.DetailType! })) continue;
      routed.push({
        Id: String(routed.length),
        MessageBody: JSON.stringify({
          version: '0',
          id: eventId,
          'detail-type': entry.DetailType,
          source: entry.Source,
          account: deps.account,
          time: eventTime(entry.Time),
          region: deps.region,
          resources: entry.Resources ?? [],
          detail: JSON.parse(entry.Detail!),
        }),
      });
    }
    if (routed.length > 0) {
      await deps.sqs.send(new SendMessageBatchCommand({ QueueUrl: deps.eventsQueueUrl, Entries: routed }));
    }
    return {
      status: 200,
      body: { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results },
    };
  };

const validateEntry = (entry: PutEventsEntry): EntryResult | undefined => {
  if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required.' };
  }
  if (Buffer.byteLength(JSON.stringify(entry), 'utf8') > MAX_ENTRY_BYTES) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Entry size exceeds 256 KB.' };
  }
  try {
    const detail: unknown = JSON.parse(entry.Detail);
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) throw new Error('not an object');
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  return undefined;
};

const eventTime = (time: string | number | undefined): string => {
  if (time === undefined) return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const date = typeof time === 'number' ? new Date(time * 1000) : new Date(time);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
};

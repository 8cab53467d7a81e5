import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type EventPattern, matchesEventPattern } from '../functions/contracts/event-routing.js';

const PUT_EVENTS_TARGET = 'AWSEvents.PutEvents';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_ENTRIES = 10;
/** EventBridge's limit on a request's entries together, counted as it counts them (see entrySize). */
const MAX_ENTRIES_BYTES = 256 * 1024;
/** What EventBridge counts for an entry's Time, whatever its value. */
const TIME_BYTES = 14;

interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Time?: Date;
  readonly Resources?: readonly string[];
}

/** One request of EventBridge's wire protocol (AWS JSON 1.1), as it arrived. */
export interface EventBridgeRequest {
  /** The operation, from `X-Amz-Target`. */
  readonly target: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

export interface EventBridgeResponse {
  readonly status: number;
  readonly body: unknown;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/**
 * A request EventBridge refuses as a whole, before any entry: HTTP 400 with `{ "__type", "message" }`, which the AWS
 * SDKs raise as an error of that name. It does not deserialize into PutEvents' input (SerializationException, also
 * for a content type other than AWS JSON 1.1's, as Smithy's AWS JSON servers answer), breaks its constraints
 * (ValidationException, with AWS's messages), or names another operation (UnknownOperationException).
 */
class RefusedRequest extends Error {
  constructor(
    readonly type: 'SerializationException' | 'ValidationException' | 'UnknownOperationException',
    message: string,
  ) {
    super(message);
  }
}

/**
 * EventBridge's PutEvents for local mode (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`): refuses malformed
 * requests and validates entries as EventBridge does, and sends each entry matching the platform's rule pattern to
 * the events queue in the envelope an EventBridge SQS target receives. Entries no rule matches are accepted and
 * dropped, as on AWS.
 */
export const createEventBridgeEndpoint = (deps: {
  sqs: SQSClient;
  eventsQueueUrl: string;
  pattern: EventPattern;
  region: string;
  account: string;
}) => {
  const putEvents = async (entries: readonly PutEventsEntry[]): Promise<EventBridgeResponse> => {
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
          time: isoSeconds(entry.Time ?? new Date()),
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

  return async (request: EventBridgeRequest): Promise<EventBridgeResponse> => {
    try {
      if (request.target !== PUT_EVENTS_TARGET) {
        throw new RefusedRequest('UnknownOperationException', `Unknown operation ${request.target}.`);
      }
      return await putEvents(readEntries(request));
    } catch (error) {
      if (!(error instanceof RefusedRequest)) throw error;
      return { status: 400, body: { __type: error.type, message: error.message } };
    }
  };
};

export type EventBridgeEndpoint = ReturnType<typeof createEventBridgeEndpoint>;

/**
 * The entries of a PutEvents request, checked as EventBridge checks the request: that it deserializes (content type,
 * JSON, the shapes of Entries and their members), then Entries' constraints and their total size.
 */
const readEntries = (request: EventBridgeRequest): PutEventsEntry[] => {
  const mediaType = (request.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== CONTENT_TYPE) throw new RefusedRequest('SerializationException', `Content-Type must be ${CONTENT_TYPE}.`);
  let input: unknown;
  try {
    input = request.body === '' ? {} : JSON.parse(request.body);
  } catch {
    throw new RefusedRequest('SerializationException', 'The request body is not JSON.');
  }
  if (!isJsonObject(input)) throw new RefusedRequest('SerializationException', 'The request body is not a JSON object.');
  if (input.Entries === undefined || input.Entries === null) {
    throw invalid("Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (!Array.isArray(input.Entries)) throw new RefusedRequest('SerializationException', 'Entries is not a list.');
  const entries = input.Entries.map(readEntry);
  if (entries.length === 0) {
    throw invalid("Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  if (entries.length > MAX_ENTRIES) {
    throw invalid(
      `Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
    );
  }
  if (entries.reduce((total, entry) => total + entrySize(entry), 0) > MAX_ENTRIES_BYTES) {
    throw new RefusedRequest('ValidationException', 'Total size of the entries in the request is over the limit.');
  }
  return entries;
};

const invalid = (violation: string) => new RefusedRequest('ValidationException', `1 validation error detected: ${violation}`);

/** An entry of Entries with the members local mode reads, each of its type or absent (null is absent, as in AWS JSON). */
const readEntry = (value: unknown, index: number): PutEventsEntry => {
  const where = `Entries[${index}]`;
  if (!isJsonObject(value)) throw new RefusedRequest('SerializationException', `${where} is not a structure.`);
  const stringMember = (name: string): string | undefined => {
    const member = value[name] ?? undefined;
    if (member === undefined || typeof member === 'string') return member;
    throw new RefusedRequest('SerializationException', `${where}.${name} is not a string.`);
  };
  const resources = value.Resources ?? undefined;
  if (resources !== undefined && !(Array.isArray(resources) && resources.every((resource) => typeof resource === 'string'))) {
    throw new RefusedRequest('SerializationException', `${where}.Resources is not a list of strings.`);
  }
  return {
    Source: stringMember('Source'),
    DetailType: stringMember('DetailType'),
    Detail: stringMember('Detail'),
    Resources: resources,
    Time: readTime(value.Time ?? undefined, where),
  };
};

/** A Time as the SDKs send it (epoch seconds) or as an ISO string. */
const readTime = (time: unknown, where: string): Date | undefined => {
  if (time === undefined) return undefined;
  const date = typeof time === 'number' ? new Date(time * 1000) : typeof time === 'string' ? new Date(time) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new RefusedRequest('SerializationException', `${where}.Time is not a timestamp.`);
  }
  return date;
};

/** An entry's size as EventBridge counts it: 14 bytes for a Time, the UTF-8 bytes of its Source, DetailType, Detail and Resources. */
const entrySize = (entry: PutEventsEntry): number =>
  (entry.Time ? TIME_BYTES : 0) +
  [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])].reduce(
    (size, text) => size + Buffer.byteLength(text ?? '', 'utf8'),
    0,
  );

export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const validateEntry = (entry: PutEventsEntry): EntryResult | undefined => {
  if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required.' };
  }
  try {
    const detail: unknown = JSON.parse(entry.Detail);
    if (!isJsonObject(detail)) throw new Error('not an object');
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  return undefined;
};

const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Counts AWS SDK requests with a middleware on each client's `middlewareStack`: calls per service and command,
 * DynamoDB capacity units (the middleware asks every item operation for `ReturnConsumedCapacity: TOTAL`, which
 * the store computes from item sizes as DynamoDB does), and SQS payload bytes, from which billed requests follow
 * (SQS bills each 64 KB chunk of a request's payload as one request).
 */
export interface CallStats {
  calls: number;
  errors: number;
  readUnits: number;
  writeUnits: number;
  /** SQS: request payload bytes (sends), or bytes of the messages returned (receives). */
  bytes: number;
  /** SQS: requests as billed, in 64 KB chunks. */
  billedRequests: number;
}

export type Counts = Record<string, CallStats>;

const CAPACITY_COMMANDS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem']);
const READ_COMMANDS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
const SQS_CHUNK_BYTES = 64 * 1024;

/** lib-dynamodb's commands are named after the document operation; map them to the DynamoDB API operation. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
};

interface Stackable {
  middlewareStack: {
    add(middleware: unknown, options: Record<string, unknown>): void;
  };
}

type AnyArgs = { input: Record<string, unknown>; request?: unknown };
type AnyNext = (args: AnyArgs) => Promise<{ output: Record<string, unknown> }>;

const capacityOf = (output: Record<string, unknown>): number => {
  const consumed = output.ConsumedCapacity as { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;
  if (!consumed) return 0;
  return (Array.isArray(consumed) ? consumed : [consumed]).reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
};

const receivedBytes = (output: Record<string, unknown>): number =>
  ((output.Messages as { Body?: string }[] | undefined) ?? []).reduce((sum, message) => sum + Buffer.byteLength(message.Body ?? '', 'utf8'), 0);

export class RequestCounter {
  private counts: Counts = {};

  /** Counts the client's requests under `label` (e.g. `worker`), per `service.command`. */
  attach<T extends Stackable>(client: T, service: 'dynamodb' | 'sqs', label: string): T {
    client.middlewareStack.add(
      (next: AnyNext, context: { commandName?: string; benchRequestBytes?: number }) => async (args: AnyArgs) => {
        const raw = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        const command = service === 'dynamodb' ? (DOCUMENT_COMMANDS[raw] ?? raw) : raw;
        if (service === 'dynamodb' && CAPACITY_COMMANDS.has(command)) args.input.ReturnConsumedCapacity = 'TOTAL';
        const stats = this.stats(`${label} ${service}.${command}`);
        stats.calls += 1;
        try {
          const result = await next(args);
          if (service === 'dynamodb') {
            const units = capacityOf(result.output);
            if (READ_COMMANDS.has(command)) stats.readUnits += units;
            else stats.writeUnits += units;
          } else {
            const bytes = command === 'ReceiveMessage' ? receivedBytes(result.output) : (context.benchRequestBytes ?? 0);
            stats.bytes += bytes;
            stats.billedRequests += Math.max(1, Math.ceil(bytes / SQS_CHUNK_BYTES));
          }
          return result;
        } catch (error) {
          stats.errors += 1;
          throw error;
        }
      },
      { step: 'initialize', name: `benchCounter-${label}`, override: true },
    );
    client.middlewareStack.add(
      (next: AnyNext, context: { benchRequestBytes?: number }) => async (args: AnyArgs) => {
        const body = (args.request as { body?: unknown } | undefined)?.body;
        if (typeof body === 'string') context.benchRequestBytes = Buffer.byteLength(body, 'utf8');
        else if (body instanceof Uint8Array) context.benchRequestBytes = body.byteLength;
        return next(args);
      },
      { step: 'build', name: `benchBodySize-${label}`, override: true },
    );
    return client;
  }

  reset(): void {
    this.counts = {};
  }

  snapshot(): Counts {
    return structuredClone(this.counts);
  }

  private stats(key: string): CallStats {
    this.counts[key] ??= { calls: 0, errors: 0, readUnits: 0, writeUnits: 0, bytes: 0, billedRequests: 0 };
    return this.counts[key];
  }
}

/** Sums the counts whose key matches `filter` (keys are `label service.Command`). */
export const total = (counts: Counts, filter: (key: string) => boolean) => {
  const sum: CallStats = { calls: 0, errors: 0, readUnits: 0, writeUnits: 0, bytes: 0, billedRequests: 0 };
  for (const [key, stats] of Object.entries(counts)) {
    if (!filter(key)) continue;
    for (const field of Object.keys(sum) as (keyof CallStats)[]) sum[field] += stats[field];
  }
  return sum;
};

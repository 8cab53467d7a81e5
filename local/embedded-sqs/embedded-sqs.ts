import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmbeddedService, ServiceResponse } from '../in-process-transport.js';
import {
  type MessageAttributeValue,
  md5OfMessageAttributes,
  QueueEngine,
  QueueError,
  type QueueErrorType,
  type QueueSettings,
  type ReceivedMessage,
} from './queue-engine.js';
import { QueueStore } from './queue-store.js';

const ACCOUNT_ID = '000000000000';
const MAX_WAIT_SECONDS = 20;
/** Requests that change what a queue holds or when it hands a message out: answered only once saved. */
const SAVED_ACTIONS = new Set([
  'CreateQueue',
  'SetQueueAttributes',
  'SendMessage',
  'SendMessageBatch',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'PurgeQueue',
]);
/** How long a save waits for more changes to include. */
const SAVE_COALESCE_MS = 5;
const MAX_BATCH_ENTRIES = 10;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * HTTP status and awsQuery error code (sent in `x-amzn-query-error`, as SQS does) of each error. The SDK's
 * query-compatible JSON protocol picks the error class from that code, falling back to `__type`.
 */
const ERROR_WIRE: Record<QueueErrorType, { status: number; queryCode: string }> = {
  QueueDoesNotExist: { status: 400, queryCode: 'AWS.SimpleQueueService.NonExistentQueue' },
  MessageNotInflight: { status: 400, queryCode: 'AWS.SimpleQueueService.MessageNotInflight' },
  ReceiptHandleIsInvalid: { status: 404, queryCode: 'ReceiptHandleIsInvalid' },
  InvalidParameterValue: { status: 400, queryCode: 'InvalidParameterValue' },
  EmptyBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest' },
  TooManyEntriesInBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' },
  InvalidBatchEntryId: { status: 400, queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId' },
  UnsupportedOperation: { status: 400, queryCode: 'AWS.SimpleQueueService.UnsupportedOperation' },
};

type Input = Record<string, unknown>;

/**
 * The queue engine behind Amazon SQS's JSON wire protocol (`X-Amz-Target: AmazonSQS.<Action>`), on a loopback
 * port and as an in-process service (`service`, for InProcessRequestHandler), so `@aws-sdk/client-sqs` pointed at
 * it (with `useQueueUrlAsEndpoint: false`) works unchanged. When
 * `dataDir` is given, queue state is saved there (QueueStore: a snapshot and a journal of changes) and reloaded on
 * start: a request that changes what a queue holds (see SAVED_ACTIONS) is answered only once its changes are
 * written, and the requests arriving within SAVE_COALESCE_MS share one append. Receives are written with the next
 * change or at stop; one lost in a crash is a message received again, which SQS allows anyway.
 */
export class EmbeddedSqs {
  private server?: Server;
  private baseUrl = '';
  private readonly engine: QueueEngine;
  private readonly store?: QueueStore;
  /** The save the requests answered next are waiting for, while one is scheduled. */
  private scheduledSave?: Promise<void>;
  /** The long polls waiting on each queue, oldest first: each resolves to look at the queue again. */
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(
    private readonly options: { region: string; dataDir?: string; now?: () => number } = { region: 'us-east-1' },
  ) {
    if (options.dataDir) {
      mkdirSync(options.dataDir, { recursive: true });
      this.store = new QueueStore(options.dataDir);
    }
    this.engine = new QueueEngine(options.now, this.store?.load() ?? [], (queueName) => this.wakeOne(queueName));
  }

  get endpoint(): string {
    return this.baseUrl;
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /**
   * Stops accepting connections, lets requests in progress finish (a long poll returns at once) and saves the
   * state. Safe to call twice or before start.
   */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
        this.wakeAll();
      });
    }
    this.save();
    this.store?.close();
  }

  queueUrl(name: string): string {
    return `${this.baseUrl}/${ACCOUNT_ID}/${name}`;
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.options.region}:${ACCOUNT_ID}:${name}`;
  }

  /** Creates (or reconfigures) a queue and returns its URL. */
  createQueue(name: string, settings: Partial<QueueSettings> = {}): string {
    this.engine.createQueue(name, settings);
    this.save();
    return this.queueUrl(name);
  }

  /** The queues' answer to one request of SQS's JSON protocol, over HTTP or in process (see `service`). */
  readonly service: EmbeddedService = async (request) => {
    const target = request.headers['x-amz-target'] ?? '';
    const action = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    try {
      const input = JSON.parse(request.body || '{}') as Input;
      const output = await this.dispatch(action, input, request.signal);
      if (SAVED_ACTIONS.has(action)) await this.saveSoon();
      return reply(200, output);
    } catch (error) {
      if (error instanceof QueueError) {
        const { status, queryCode } = ERROR_WIRE[error.type];
        return replyError(status, error.type, `${queryCode};Sender`, error.message);
      }
      if (error instanceof SyntaxError) return replyError(400, 'InvalidParameterValue', 'InvalidParameterValue;Sender', error.message);
      return replyError(500, 'InternalError', 'InternalError;Receiver', (error as Error).message);
    }
  };

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    // A client that goes away (an aborted long poll) must not be handed messages it will never see.
    const clientGone = new AbortController();
    response.once('close', () => clientGone.abort());
    const answer = await this.service({
      method: request.method ?? 'POST',
      url: request.url ?? '/',
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)])),
      body: Buffer.concat(chunks).toString('utf8'),
      signal: clientGone.signal,
    });
    // While stopping, ends keep-alive connections after the answer, so server.close() need not wait for their timeout.
    const closing = this.server?.listening ? {} : { connection: 'close' };
    response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body), ...closing });
    response.end(answer.body);
  }

  private async dispatch(action: string, input: Input, clientGone: AbortSignal): Promise<unknown> {
    switch (action) {
      case 'CreateQueue': {
        const name = typeof input.QueueName === 'string' ? input.QueueName : '';
        if (!QUEUE_NAME.test(name)) {
          throw new QueueError('InvalidParameterValue', 'QueueName must be 1 to 80 letters, digits, hyphens or underscores.');
        }
        return { QueueUrl: this.createQueue(name, settingsFrom(input.Attributes as Input | undefined)) };
      }
      case 'GetQueueUrl':
        this.engine.queue(String(input.QueueName));
        return { QueueUrl: this.queueUrl(String(input.QueueName)) };
      case 'ListQueues':
        return { QueueUrls: this.engine.queueNames().map((name) => this.queueUrl(name)) };
      case 'GetQueueAttributes': {
        const attributes = pick(this.attributesOf(this.nameOf(input)), input.AttributeNames);
        return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
      }
      case 'SetQueueAttributes':
        this.engine.createQueue(this.nameOf(input), settingsFrom(input.Attributes as Input | undefined));
        return {};
      case 'SendMessage':
        return this.send(this.nameOf(input), input);
      case 'SendMessageBatch': {
        const name = this.nameOf(input);
        return this.batch(input, (entry) => this.send(name, entry));
      }
      case 'ReceiveMessage': {
        const messages = await this.receive(input, clientGone);
        return messages.length > 0 ? { Messages: messages.map((message) => shapeReceived(message, input)) } : {};
      }
      case 'DeleteMessage':
        this.engine.delete(this.nameOf(input), String(input.ReceiptHandle));
        return {};
      case 'DeleteMessageBatch': {
        const name = this.nameOf(input);
        return this.batch(input, (entry) => this.engine.delete(name, String(entry.ReceiptHandle)));
      }
      case 'ChangeMessageVisibility':
        this.engine.changeVisibility(this.nameOf(input), String(input.ReceiptHandle), Number(input.VisibilityTimeout));
        return {};
      case 'ChangeMessageVisibilityBatch': {
        const name = this.nameOf(input);
        return this.batch(input, (entry) =>
          this.engine.changeVisibility(name, String(entry.ReceiptHandle), Number(entry.VisibilityTimeout)),
        );
      }
      case 'PurgeQueue':
        this.engine.purge(this.nameOf(input));
        return {};
      default:
        throw new QueueError('UnsupportedOperation', `Unsupported action "${action}"`);
    }
  }

  private send(name: string, input: Input) {
    const body = typeof input.MessageBody === 'string' ? input.MessageBody : '';
    const message = this.engine.send(name, body, sendOptions(input));
    const md5OfAttributes = md5OfMessageAttributes(message.messageAttributes);
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(md5OfAttributes && { MD5OfMessageAttributes: md5OfAttributes }),
    };
  }

  /**
   * Long polling, as SQS does: waits up to WaitTimeSeconds for a message. A waiting poll looks at the queue again
   * only when one of its messages may have become receivable: one was sent or moved to it or had its visibility
   * changed (each wakes the oldest waiting poll), or the earliest hidden one's time has come. An idle poll costs
   * nothing, however many pollers wait.
   */
  private async receive(input: Input, clientGone: AbortSignal) {
    const name = this.nameOf(input);
    const waitSeconds = Number(input.WaitTimeSeconds ?? 0);
    if (!Number.isInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_WAIT_SECONDS) {
      throw new QueueError('InvalidParameterValue', `WaitTimeSeconds must be an integer from 0 to ${MAX_WAIT_SECONDS}.`);
    }
    const deadline = Date.now() + waitSeconds * 1000;
    const options = {
      max: Number(input.MaxNumberOfMessages ?? 1),
      ...(input.VisibilityTimeout !== undefined && { visibilityTimeout: Number(input.VisibilityTimeout) }),
    };
    for (;;) {
      if (clientGone.aborted) return [];
      const messages = this.engine.receive(name, options);
      const waitMs = deadline - Date.now();
      if (messages.length > 0 || waitMs <= 0 || !this.server?.listening) return messages;
      await this.nextChance(name, Math.min(waitMs, this.engine.msUntilNextVisible(name) ?? waitMs), clientGone);
    }
  }

  /** Resolves when the queue is woken, after `ms`, or when the client goes away, whichever comes first. */
  private nextChance(name: string, ms: number, clientGone: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(name) ?? new Set<() => void>();
      this.waiting.set(name, waiters);
      const done = () => {
        clearTimeout(timer);
        clientGone.removeEventListener('abort', done);
        waiters.delete(done);
        resolve();
      };
      // At least 1 ms: a message that turns visible this millisecond is received on the next turn, not spun on.
      const timer = setTimeout(done, Math.max(1, ms));
      clientGone.addEventListener('abort', done);
      waiters.add(done);
    });
  }

  private wakeOne(name: string): void {
    const oldest = this.waiting.get(name)?.values().next().value;
    oldest?.();
  }

  private wakeAll(): void {
    for (const waiters of this.waiting.values()) for (const done of [...waiters]) done();
  }

  /** Applies a batch entry by entry, as SQS does: a failing entry goes to Failed, the others still succeed. */
  private batch(input: Input, apply: (entry: Input) => object | void) {
    const entries = batchEntries(input);
    const Successful: { Id: unknown }[] = [];
    const Failed: { Id: unknown; Code: string; Message: string; SenderFault: boolean }[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id, ...(apply(entry) ?? {}) });
      } catch (error) {
        if (!(error instanceof QueueError)) throw error;
        Failed.push({ Id: entry.Id, Code: error.type, Message: error.message, SenderFault: true });
      }
    }
    return { Successful, Failed };
  }

  private attributesOf(name: string): Record<string, string> {
    const { settings, createdAt } = this.engine.queue(name);
    const counts = this.engine.counts(name);
    return {
      QueueArn: this.queueArn(name),
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      VisibilityTimeout: String(settings.visibilityTimeout),
      DelaySeconds: String(settings.delaySeconds),
      MessageRetentionPeriod: String(settings.retentionSeconds),
      CreatedTimestamp: String(Math.floor(createdAt / 1000)),
      ...(settings.redrive && {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: this.queueArn(settings.redrive.deadLetterQueueName),
          maxReceiveCount: settings.redrive.maxReceiveCount,
        }),
      }),
    };
  }

  private nameOf(input: Input): string {
    const url = String(input.QueueUrl ?? '');
    const name = url.slice(url.lastIndexOf('/') + 1);
    this.engine.queue(name);
    return name;
  }

  /** Resolves once a save made after this call has completed; calls within SAVE_COALESCE_MS share it. */
  private saveSoon(): Promise<void> {
    if (!this.store) return Promise.resolve();
    this.scheduledSave ??= new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        this.scheduledSave = undefined;
        try {
          this.save();
          resolve();
        } catch (error) {
          reject(error);
        }
      }, SAVE_COALESCE_MS);
    });
    return this.scheduledSave;
  }

  /** Appends the changes made since the last save to the journal (see QueueStore). */
  private save(): void {
    this.store?.append(this.engine.takeChanges(), () => this.engine.snapshot());
  }
}

const reply = (status: number, body: unknown, headers: Record<string, string> = {}): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0', ...headers },
  body: JSON.stringify(body),
});

const replyError = (status: number, type: string, queryError: string, message: string) =>
  reply(status, { __type: `com.amazonaws.sqs#${type}`, message }, { 'x-amzn-query-error': queryError });

const batchEntries = (input: Input): Input[] => {
  const entries = Array.isArray(input.Entries) ? (input.Entries as Input[]) : [];
  if (entries.length === 0) throw new QueueError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new QueueError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}.`);
  }
  const ids = new Set<unknown>();
  for (const { Id } of entries) {
    if (typeof Id !== 'string' || !BATCH_ENTRY_ID.test(Id)) {
      throw new QueueError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores.');
    }
    if (ids.has(Id)) throw new QueueError('BatchEntryIdsNotDistinct', `Id ${Id} repeated.`);
    ids.add(Id);
  }
  return entries;
};

const namesOf = (value: unknown): string[] => (Array.isArray(value) ? value.filter((name) => typeof name === 'string') : []);

/** The entries of `values` named in `names` ('All' selects every one), as SQS filters requested attributes. */
const pick = (values: Record<string, string>, names: unknown): Record<string, string> => {
  const requested = namesOf(names);
  if (requested.includes('All')) return values;
  return Object.fromEntries(Object.entries(values).filter(([name]) => requested.includes(name)));
};

/** Message attributes named in MessageAttributeNames: 'All' or '.*' for every one, 'prefix.*' for a prefix. */
const pickMessageAttributes = (attributes: Record<string, MessageAttributeValue>, names: unknown) => {
  const requested = namesOf(names);
  const wanted = (name: string) =>
    requested.some((pattern) =>
      pattern === 'All' || pattern === '.*' ? true : pattern.endsWith('.*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name,
    );
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => wanted(name)));
};

/** A received message as ReceiveMessage returns it: only the system and message attributes the request asked for. */
const shapeReceived = (message: ReceivedMessage, input: Input) => {
  const { MessageAttributes: allMessageAttributes, Attributes: allAttributes, ...rest } = message;
  const attributes = pick(allAttributes, [...namesOf(input.MessageSystemAttributeNames), ...namesOf(input.AttributeNames)]);
  const messageAttributes = pickMessageAttributes(allMessageAttributes ?? {}, input.MessageAttributeNames);
  const md5OfAttributes = md5OfMessageAttributes(messageAttributes);
  return {
    ...rest,
    ...(Object.keys(attributes).length > 0 && { Attributes: attributes }),
    ...(md5OfAttributes && { MessageAttributes: messageAttributes, MD5OfMessageAttributes: md5OfAttributes }),
  };
};

const sendOptions = (input: Input) => ({
  ...(input.DelaySeconds !== undefined && { delaySeconds: Number(input.DelaySeconds) }),
  ...(input.MessageAttributes !== undefined && {
    messageAttributes: input.MessageAttributes as Record<string, MessageAttributeValue>,
  }),
});

const settingsFrom = (attributes: Input | undefined): Partial<QueueSettings> => {
  if (!attributes) return {};
  const settings: Partial<QueueSettings> = {};
  if (attributes.VisibilityTimeout !== undefined) settings.visibilityTimeout = Number(attributes.VisibilityTimeout);
  if (attributes.DelaySeconds !== undefined) settings.delaySeconds = Number(attributes.DelaySeconds);
  if (attributes.MessageRetentionPeriod !== undefined) settings.retentionSeconds = Number(attributes.MessageRetentionPeriod);
  if (attributes.RedrivePolicy === '') {
    // An empty RedrivePolicy removes the policy, as in SQS.
    settings.redrive = undefined;
  } else if (typeof attributes.RedrivePolicy === 'string') {
    settings.redrive = redriveFrom(attributes.RedrivePolicy);
  }
  return settings;
};


const redriveFrom = (redrivePolicy: string): QueueSettings['redrive'] => {
  const invalid = (reason: string) =>
    new QueueError('InvalidParameterValue', `Value ${redrivePolicy} for parameter RedrivePolicy is invalid. Reason: ${reason}.`);
  let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  try {
    policy = JSON.parse(redrivePolicy) as typeof policy;
  } catch {
    throw invalid('Invalid JSON');
  }
  if (typeof policy?.deadLetterTargetArn !== 'string' || !policy.deadLetterTargetArn.startsWith('arn:aws:sqs:')) {
    throw invalid('Dead letter target must be an SQS queue ARN');
  }
  return {
    deadLetterQueueName: policy.deadLetterTargetArn.slice(policy.deadLetterTargetArn.lastIndexOf(':') + 1),
    maxReceiveCount: Number(policy.maxReceiveCount),
  };
};

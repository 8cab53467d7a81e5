import { createHash, randomUUID } from 'node:crypto';

/**
 * An in-process message queue with Amazon SQS standard-queue semantics: delays, visibility timeouts, receive
 * counts, redrive to a dead-letter queue after maxReceiveCount receives, retention. Served over SQS's JSON wire
 * protocol by embedded-sqs.ts so the real AWS SDK client talks to it. State is a plain object; every change is
 * reported (takeChanges) for the caller to persist (queue-store.ts), so pending messages survive restarts.
 */
export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: Record<string, MessageAttributeValue>;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** When the current receipt handle was issued: SQS caps visibility at 12 hours from it. */
  receivedAt?: number;
  receiptHandle?: string;
}

export interface QueueSettings {
  /** Seconds a received message stays invisible. SQS default 30. */
  visibilityTimeout: number;
  /** Seconds new messages stay invisible. SQS default 0. */
  delaySeconds: number;
  /** Seconds a message is kept. SQS default 4 days. */
  retentionSeconds: number;
  redrive?: { deadLetterQueueName: string; maxReceiveCount: number };
}

export interface QueueState {
  readonly name: string;
  readonly createdAt: number;
  settings: QueueSettings;
  messages: StoredMessage[];
}

export interface ReceivedMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly MD5OfBody: string;
  readonly Body: string;
  readonly Attributes: Record<string, string>;
  readonly MessageAttributes?: Record<string, MessageAttributeValue>;
}

export type QueueErrorType =
  | 'QueueDoesNotExist'
  | 'MessageNotInflight'
  | 'ReceiptHandleIsInvalid'
  | 'InvalidParameterValue'
  | 'EmptyBatchRequest'
  | 'TooManyEntriesInBatchRequest'
  | 'BatchEntryIdsNotDistinct'
  | 'InvalidBatchEntryId'
  | 'UnsupportedOperation';

export class QueueError extends Error {
  constructor(
    readonly type: QueueErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'QueueError';
  }
}

export const MAX_DELAY_SECONDS = 900;
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;
export const MAX_RECEIVE_BATCH_SIZE = 10;
const MIN_RETENTION_SECONDS = 60;
const MAX_RETENTION_SECONDS = 1_209_600;
const MAX_MAX_RECEIVE_COUNT = 1000;
const DEFAULT_SETTINGS: QueueSettings = { visibilityTimeout: 30, delaySeconds: 0, retentionSeconds: 345_600 };

export const md5Hex = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/**
 * MD5OfMessageAttributes as SQS computes it: attributes sorted by name, each encoded as length-prefixed (4-byte
 * big-endian) name and data type, a transport byte (1 string, 2 binary) and the length-prefixed value bytes.
 * Undefined when there are no attributes, as SQS then omits the field.
 */
export const md5OfMessageAttributes = (attributes: Record<string, MessageAttributeValue> = {}): string | undefined => {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  };
  const hash = createHash('md5');
  for (const name of names) {
    const { DataType, StringValue, BinaryValue } = attributes[name]!;
    const binary = DataType.startsWith('Binary');
    const value = binary ? Buffer.from(BinaryValue ?? '', 'base64') : Buffer.from(StringValue ?? '', 'utf8');
    for (const part of [
      ...lengthPrefixed(Buffer.from(name, 'utf8')),
      ...lengthPrefixed(Buffer.from(DataType, 'utf8')),
      Buffer.from([binary ? 2 : 1]),
      ...lengthPrefixed(value),
    ]) {
      hash.update(part);
    }
  }
  return hash.digest('hex');
};

/**
 * One change to the queues' state, as the persistence journal records it (queue-store.ts): a queue created or
 * reconfigured, a message stored as it now is (sent, received, its visibility changed, moved in as a dead letter),
 * a message removed (deleted, moved out), a queue purged. Replayed in order on a snapshot, they give the state back.
 */
export type QueueChange =
  | { readonly queue: string; readonly createdAt: number; readonly settings: QueueSettings }
  | { readonly queue: string; readonly message: StoredMessage }
  | { readonly queue: string; readonly removed: string }
  | { readonly queue: string; readonly purged: true };

export class QueueEngine {
  private readonly queues = new Map<string, QueueState>();
  /** The changes made since the last takeChanges(), oldest first. */
  private changes: QueueChange[] = [];

  /**
   * @param onMessageReady called with a queue's name each time one of its messages becomes receivable, now or at
   *   a new time (sent, its visibility changed, moved to it as a dead letter): long polls waiting on the queue
   *   look again.
   */
  constructor(
    private readonly now: () => number = Date.now,
    initial: readonly QueueState[] = [],
    private readonly onMessageReady: (queueName: string) => void = () => {},
  ) {
    for (const queue of initial) this.queues.set(queue.name, queue);
  }

  /** Creates the queue, or updates its settings when it exists (SQS CreateQueue is idempotent). */
  createQueue(name: string, settings: Partial<QueueSettings> = {}): QueueState {
    const existing = this.queues.get(name);
    const merged = { ...(existing?.settings ?? DEFAULT_SETTINGS), ...settings };
    this.validateSettings(merged);
    if (existing) {
      existing.settings = merged;
      this.changes.push({ queue: name, createdAt: existing.createdAt, settings: merged });
      return existing;
    }
    const queue: QueueState = { name, createdAt: this.now(), settings: merged, messages: [] };
    this.queues.set(name, queue);
    this.changes.push({ queue: name, createdAt: queue.createdAt, settings: merged });
    return queue;
  }

  queue(name: string): QueueState {
    const queue = this.queues.get(name);
    if (!queue) throw new QueueError('QueueDoesNotExist', `The specified queue ${name} does not exist.`);
    return queue;
  }

  queueNames(): string[] {
    return [...this.queues.keys()];
  }

  snapshot(): QueueState[] {
    return [...this.queues.values()];
  }

  /**
   * The changes since the last call, for the journal. A change holds the message object itself, so one written
   * after the engine changed the message again carries the newer state; replayed in order, the changes still end
   * at the state the engine has.
   */
  takeChanges(): QueueChange[] {
    const changes = this.changes;
    this.changes = [];
    return changes;
  }

  send(
    name: string,
    body: string,
    options: { delaySeconds?: number; messageAttributes?: Record<string, MessageAttributeValue> } = {},
  ): StoredMessage {
    const queue = this.queue(name);
    if (body.length === 0) throw new QueueError('InvalidParameterValue', 'The message body must not be empty.');
    const delaySeconds = options.delaySeconds ?? queue.settings.delaySeconds;
    checkRange('DelaySeconds', delaySeconds, 0, MAX_DELAY_SECONDS);
    const sentAt = this.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5Hex(body),
      messageAttributes: options.messageAttributes ?? {},
      sentAt,
      visibleAt: sentAt + delaySeconds * 1000,
      receiveCount: 0,
    };
    queue.messages.push(message);
    this.changes.push({ queue: name, message });
    this.onMessageReady(name);
    return message;
  }

  /**
   * Receives up to `max` visible messages, hiding each for the visibility timeout. A message already received
   * maxReceiveCount times moves to the dead-letter queue instead, as SQS's redrive policy does.
   */
  receive(name: string, options: { max?: number; visibilityTimeout?: number } = {}): ReceivedMessage[] {
    const queue = this.queue(name);
    this.expire(queue);
    const now = this.now();
    const max = options.max ?? 1;
    checkRange('MaxNumberOfMessages', max, 1, MAX_RECEIVE_BATCH_SIZE);
    const visibilityTimeout = options.visibilityTimeout ?? queue.settings.visibilityTimeout;
    checkRange('VisibilityTimeout', visibilityTimeout, 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
    const received: ReceivedMessage[] = [];
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      const redrive = queue.settings.redrive;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.moveToDeadLetterQueue(queue, message, redrive.deadLetterQueueName);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.receivedAt = now;
      message.receiptHandle = `${message.messageId}#${randomUUID()}`;
      message.visibleAt = now + visibilityTimeout * 1000;
      this.changes.push({ queue: name, message });
      received.push({
        MessageId: message.messageId,
        ReceiptHandle: message.receiptHandle,
        MD5OfBody: message.md5OfBody,
        Body: message.body,
        Attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
        },
        ...(Object.keys(message.messageAttributes).length > 0 && { MessageAttributes: message.messageAttributes }),
      });
    }
    return received;
  }

  /** Deletes the message the receipt handle was issued for; deleting an already deleted message succeeds, as in SQS. */
  delete(name: string, receiptHandle: string): void {
    const queue = this.queue(name);
    this.checkHandle(receiptHandle);
    const index = queue.messages.findIndex((message) => message.receiptHandle === receiptHandle);
    if (index === -1) return;
    const [deleted] = queue.messages.splice(index, 1);
    this.changes.push({ queue: name, removed: deleted!.messageId });
  }

  changeVisibility(name: string, receiptHandle: string, visibilityTimeout: number): void {
    const queue = this.queue(name);
    this.checkHandle(receiptHandle);
    checkRange('VisibilityTimeout', visibilityTimeout, 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
    const message = queue.messages.find((candidate) => candidate.receiptHandle === receiptHandle);
    if (!message || message.visibleAt <= this.now()) {
      throw new QueueError('MessageNotInflight', 'The message referred to is not in flight.');
    }
    if (this.now() + visibilityTimeout * 1000 > (message.receivedAt ?? this.now()) + MAX_VISIBILITY_TIMEOUT_SECONDS * 1000) {
      throw new QueueError('InvalidParameterValue', 'Total VisibilityTimeout for the message is beyond the limit [43200 seconds]');
    }
    message.visibleAt = this.now() + visibilityTimeout * 1000;
    this.changes.push({ queue: name, message });
    this.onMessageReady(name);
  }

  purge(name: string): void {
    this.queue(name).messages = [];
    this.changes.push({ queue: name, purged: true });
  }

  counts(name: string): { visible: number; inFlight: number; delayed: number; oldestSentAt?: number } {
    const queue = this.queue(name);
    this.expire(queue);
    const now = this.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of queue.messages) {
      if (message.visibleAt <= now) visible += 1;
      else if (message.receiveCount > 0) inFlight += 1;
      else delayed += 1;
    }
    const oldest = queue.messages.reduce<number | undefined>(
      (min, message) => (min === undefined || message.sentAt < min ? message.sentAt : min),
      undefined,
    );
    return { visible, inFlight, delayed, ...(oldest !== undefined && { oldestSentAt: oldest }) };
  }

  /** Milliseconds until some message of the queue becomes visible, or undefined when it holds none. */
  msUntilNextVisible(name: string): number | undefined {
    const queue = this.queue(name);
    if (queue.messages.length === 0) return undefined;
    let next = Infinity;
    for (const message of queue.messages) next = Math.min(next, message.visibleAt);
    return Math.max(0, next - this.now());
  }

  private moveToDeadLetterQueue(queue: QueueState, message: StoredMessage, deadLetterQueueName: string): void {
    const deadLetterQueue = this.queue(deadLetterQueueName);
    queue.messages = queue.messages.filter((candidate) => candidate !== message);
    const { receiptHandle: _handle, ...rest } = message;
    const moved = { ...rest, visibleAt: this.now() };
    deadLetterQueue.messages.push(moved);
    this.changes.push({ queue: queue.name, removed: message.messageId }, { queue: deadLetterQueueName, message: moved });
    this.onMessageReady(deadLetterQueueName);
  }

  private expire(queue: QueueState): void {
    const oldestKept = this.now() - queue.settings.retentionSeconds * 1000;
    queue.messages = queue.messages.filter((message) => message.sentAt >= oldestKept);
  }

  /** The limits SQS enforces on queue attributes; a redrive target must already exist, as SQS requires. */
  private validateSettings(settings: QueueSettings): void {
    checkRange('VisibilityTimeout', settings.visibilityTimeout, 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
    checkRange('DelaySeconds', settings.delaySeconds, 0, MAX_DELAY_SECONDS);
    checkRange('MessageRetentionPeriod', settings.retentionSeconds, MIN_RETENTION_SECONDS, MAX_RETENTION_SECONDS);
    if (settings.redrive) {
      checkRange('maxReceiveCount', settings.redrive.maxReceiveCount, 1, MAX_MAX_RECEIVE_COUNT);
      if (!this.queues.has(settings.redrive.deadLetterQueueName)) {
        throw new QueueError(
          'InvalidParameterValue',
          `Value for parameter RedrivePolicy is invalid. Reason: Dead letter target ${settings.redrive.deadLetterQueueName} does not exist.`,
        );
      }
    }
  }

  private checkHandle(receiptHandle: string): void {
    if (!receiptHandle.includes('#')) {
      throw new QueueError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not valid.`);
    }
  }
}

const checkRange = (parameter: string, value: number, min: number, max: number): void => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new QueueError('InvalidParameterValue', `${parameter} must be an integer from ${min} to ${max}.`);
  }
};

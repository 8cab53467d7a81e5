import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DeliveryJob } from '../../contracts/delivery.schema.js';
import type { DeadLetterEntry, DeadLetterSource } from '../../domain/delivery/dead-letter-redrive.service.js';

const HOLD_SECONDS = 900;

/** The delivery DLQ read for the operator: messages are held (hidden) while an operation runs, never lost. */
export class SqsDeadLetterSource implements DeadLetterSource {
  private readonly handles = new Map<string, string>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async holdAll(): Promise<DeadLetterEntry[]> {
    const entries: DeadLetterEntry[] = [];
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: HOLD_SECONDS,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      if (Messages.length === 0) return entries;
      for (const message of Messages) {
        const entry = toEntry(message);
        if (entry) {
          this.handles.set(entry.messageId, message.ReceiptHandle ?? '');
          entries.push(entry);
        } else {
          // Not a delivery job: left on the queue, visible again, for a human to inspect.
          await this.sqs.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: [{ Id: '0', ReceiptHandle: message.ReceiptHandle ?? '', VisibilityTimeout: 0 }],
            }),
          );
        }
      }
    }
  }

  async release(entries: readonly DeadLetterEntry[]): Promise<void> {
    for (const batch of batches(entries)) {
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((entry, index) => ({ Id: String(index), ReceiptHandle: this.handleOf(entry), VisibilityTimeout: 0 })),
        }),
      );
    }
  }

  async remove(entries: readonly DeadLetterEntry[]): Promise<void> {
    for (const batch of batches(entries)) {
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((entry, index) => ({ Id: String(index), ReceiptHandle: this.handleOf(entry) })),
        }),
      );
    }
  }

  private handleOf(entry: DeadLetterEntry): string {
    const handle = this.handles.get(entry.messageId);
    if (!handle) throw new Error(`message ${entry.messageId} is not held`);
    return handle;
  }
}

/** Exhausted deliveries carry their history; anything else is a job the queue's redrive policy moved here. */
const toEntry = (message: Message): DeadLetterEntry | undefined => {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(message.Body ?? '{}') as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const sentAt = new Date(Number(message.Attributes?.SentTimestamp ?? Date.now())).toISOString();
  if (body.kind === 'delivery_exhausted') {
    const job = DeliveryJob.safeParse(body.job);
    if (!job.success) return undefined;
    return {
      messageId: message.MessageId ?? '',
      kind: 'delivery_exhausted',
      job: job.data,
      deadLetteredAt: typeof body.at === 'string' ? body.at : sentAt,
      ...(typeof body.lastError === 'string' && { lastError: body.lastError }),
      ...(Array.isArray(body.attempts) && { attempts: body.attempts.length }),
    };
  }
  const job = DeliveryJob.safeParse(body);
  return job.success
    ? { messageId: message.MessageId ?? '', kind: 'unprocessed_job', job: job.data, deadLetteredAt: sentAt }
    : undefined;
};

const batches = <T>(items: readonly T[]): T[][] => {
  const result: T[][] = [];
  for (let offset = 0; offset < items.length; offset += 10) result.push(items.slice(offset, offset + 10));
  return result;
};

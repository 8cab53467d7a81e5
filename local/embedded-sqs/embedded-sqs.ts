import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type MessageAttributeValue, QueueEngine, QueueError, type QueueSettings, type QueueState } from './queue-engine.js';

const ACCOUNT_ID = '000000000000';
const MAX_WAIT_SECONDS = 20;
const POLL_INTERVAL_MS = 20;

type Input = Record<string, unknown>;

/**
 * The queue engine behind Amazon SQS's JSON wire protocol (`X-Amz-Target: AmazonSQS.<Action>`), on a loopback
 * port, so `@aws-sdk/client-sqs` pointed at it (with `useQueueUrlAsEndpoint: false`) works unchanged. When
 * `dataDir` is given, queue state is saved there after each change and reloaded on start.
 */
export class EmbeddedSqs {
  private server?: Server;
  private baseUrl = '';
  private readonly engine: QueueEngine;
  private readonly stateFile?: string;

  constructor(
    private readonly options: { region: string; dataDir?: string; now?: () => number } = { region: 'us-east-1' },
  ) {
    if (options.dataDir) {
      mkdirSync(options.dataDir, { recursive: true });
      this.stateFile = join(options.dataDir, 'queues.json');
    }
    this.engine = new QueueEngine(options.now, this.load());
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

  async stop(): Promise<void> {
    this.save();
    await new Promise<void>((resolve, reject) => this.server?.close((error) => (error ? reject(error) : resolve())) ?? resolve());
    this.server?.closeAllConnections();
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

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    try {
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Input;
      const output = await this.dispatch(action, input);
      this.save();
      reply(response, 200, output);
    } catch (error) {
      if (error instanceof QueueError) {
        reply(response, 400, { __type: `com.amazonaws.sqs#${error.type}`, message: error.message });
      } else if (error instanceof SyntaxError) {
        reply(response, 400, { __type: 'com.amazonaws.sqs#InvalidParameterValue', message: error.message });
      } else {
        reply(response, 500, { __type: 'com.amazonaws.sqs#InternalError', message: (error as Error).message });
      }
    }
  }

  private async dispatch(action: string, input: Input): Promise<unknown> {
    switch (action) {
      case 'CreateQueue':
        return { QueueUrl: this.createQueue(String(input.QueueName), settingsFrom(input.Attributes as Input | undefined)) };
      case 'GetQueueUrl':
        this.engine.queue(String(input.QueueName));
        return { QueueUrl: this.queueUrl(String(input.QueueName)) };
      case 'ListQueues':
        return { QueueUrls: this.engine.queueNames().map((name) => this.queueUrl(name)) };
      case 'GetQueueAttributes':
        return { Attributes: this.attributesOf(this.nameOf(input)) };
      case 'SetQueueAttributes':
        this.engine.createQueue(this.nameOf(input), settingsFrom(input.Attributes as Input | undefined));
        return {};
      case 'SendMessage': {
        const message = this.engine.send(this.nameOf(input), String(input.MessageBody), sendOptions(input));
        return { MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody };
      }
      case 'SendMessageBatch': {
        const name = this.nameOf(input);
        const entries = (input.Entries as Input[]) ?? [];
        return {
          Successful: entries.map((entry) => {
            const message = this.engine.send(name, String(entry.MessageBody), sendOptions(entry));
            return { Id: entry.Id, MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody };
          }),
          Failed: [],
        };
      }
      case 'ReceiveMessage':
        return { Messages: await this.receive(input) };
      case 'DeleteMessage':
        this.engine.delete(this.nameOf(input), String(input.ReceiptHandle));
        return {};
      case 'DeleteMessageBatch':
        return this.batch(input, (name, entry) => this.engine.delete(name, String(entry.ReceiptHandle)));
      case 'ChangeMessageVisibility':
        this.engine.changeVisibility(this.nameOf(input), String(input.ReceiptHandle), Number(input.VisibilityTimeout));
        return {};
      case 'ChangeMessageVisibilityBatch':
        return this.batch(input, (name, entry) =>
          this.engine.changeVisibility(name, String(entry.ReceiptHandle), Number(entry.VisibilityTimeout)),
        );
      case 'PurgeQueue':
        this.engine.purge(this.nameOf(input));
        return {};
      default:
        throw new QueueError('InvalidParameterValue', `Unsupported action "${action}"`);
    }
  }

  /** Long polling: waits up to WaitTimeSeconds for a message, as SQS does. */
  private async receive(input: Input) {
    const name = this.nameOf(input);
    const deadline = Date.now() + Math.min(Number(input.WaitTimeSeconds ?? 0), MAX_WAIT_SECONDS) * 1000;
    const options = {
      max: Number(input.MaxNumberOfMessages ?? 1),
      ...(input.VisibilityTimeout !== undefined && { visibilityTimeout: Number(input.VisibilityTimeout) }),
    };
    for (;;) {
      const messages = this.engine.receive(name, options);
      if (messages.length > 0 || Date.now() >= deadline || !this.server?.listening) return messages;
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  private batch(input: Input, apply: (queueName: string, entry: Input) => void) {
    const name = this.nameOf(input);
    const Successful: { Id: unknown }[] = [];
    const Failed: { Id: unknown; Code: string; Message: string; SenderFault: boolean }[] = [];
    for (const entry of (input.Entries as Input[]) ?? []) {
      try {
        apply(name, entry);
        Successful.push({ Id: entry.Id });
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

  private load(): QueueState[] {
    if (!this.stateFile) return [];
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as QueueState[];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Writes the whole state atomically (temp file + rename), so a crash never leaves a torn file. */
  private save(): void {
    if (!this.stateFile) return;
    const temporary = `${this.stateFile}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.engine.snapshot()));
    renameSync(temporary, this.stateFile);
  }
}

const reply = (response: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    ...(status >= 400 && { 'x-amzn-query-error': `${(body as { __type: string }).__type.split('#')[1]};Sender` }),
  });
  response.end(text);
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
  if (typeof attributes.RedrivePolicy === 'string') {
    const policy = JSON.parse(attributes.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number | string };
    settings.redrive = {
      deadLetterQueueName: policy.deadLetterTargetArn.slice(policy.deadLetterTargetArn.lastIndexOf(':') + 1),
      maxReceiveCount: Number(policy.maxReceiveCount),
    };
  }
  return settings;
};


import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { sleep } from '../../support/eventually.js';
import { motoEndpoint, resetMoto } from './emulators.js';

export { eventually, sleep } from '../../support/eventually.js';
import { toSqsRecord as toLambdaSqsRecord } from '../../../local/event-source-mapping.js';

/**
 * The real AWS SDK v3 clients, pointed at the moto server the `aws` Jest project's global setup starts
 * (TEST_MOTO_ENDPOINT). Dummy credentials and us-east-1: nothing here can reach an AWS account.
 */
export const MOTO_REGION = 'us-east-1';
export const DUMMY_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

export { motoEndpoint };

/** `useQueueUrlAsEndpoint: false`: requests go to moto even where a queue URL names another host. */
export const motoSqsClient = (): SQSClient =>
  new SQSClient({ region: MOTO_REGION, endpoint: motoEndpoint(), credentials: DUMMY_CREDENTIALS, useQueueUrlAsEndpoint: false });

export const motoKmsClient = (): KMSClient =>
  new KMSClient({ region: MOTO_REGION, endpoint: motoEndpoint(), credentials: DUMMY_CREDENTIALS });

export const motoEventBridgeClient = (): EventBridgeClient =>
  new EventBridgeClient({ region: MOTO_REGION, endpoint: motoEndpoint(), credentials: DUMMY_CREDENTIALS });

const LOCK_WAIT_MS = 240_000;
/** A lock older than this is left over from a crashed run (a suite holds it for well under a minute). */
const LOCK_STALE_MS = 600_000;

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Exclusive use of the moto server for one suite, then a reset (emulators.ts `resetMoto`): moto's reset drops
 * everything of every caller, and Jest runs test files in parallel workers, so a suite resetting while another is
 * mid-test would wipe its queues.
 * Holds a lock file (per moto endpoint) until the returned release is called, in afterAll.
 */
export const claimMoto = async (): Promise<() => Promise<void>> => {
  const lockPath = join(tmpdir(), `webhook-platform-moto-${motoEndpoint().replace(/[^A-Za-z0-9]+/g, '_')}.lock`);
  const owner = `${process.pid} ${Date.now()}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await writeFile(lockPath, owner, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, since] = (await readFile(lockPath, 'utf8').catch(() => '')).split(' ').map(Number);
      if (pid !== undefined && since !== undefined && (!isAlive(pid) || Date.now() - since > LOCK_STALE_MS)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`moto is still claimed by process ${pid} after ${LOCK_WAIT_MS} ms (${lockPath})`);
      await sleep(200);
    }
  }
  await resetMoto();
  return async () => {
    if ((await readFile(lockPath, 'utf8').catch(() => '')) === owner) await rm(lockPath, { force: true });
  };
};

export interface MotoQueue {
  readonly url: string;
  readonly arn: string;
  readonly name: string;
}

/** A standard queue, optionally redriving to `deadLetter` after `maxReceiveCount` receives (RedrivePolicy). */
export const createQueue = async (
  sqs: SQSClient,
  name: string,
  options: { attributes?: Record<string, string>; deadLetter?: { queue: MotoQueue; maxReceiveCount: number } } = {},
): Promise<MotoQueue> => {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        ...options.attributes,
        ...(options.deadLetter && {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: options.deadLetter.queue.arn,
            maxReceiveCount: options.deadLetter.maxReceiveCount,
          }),
        }),
      },
    }),
  );
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl, arn: Attributes!.QueueArn!, name };
};

export const queueAttributes = async (sqs: SQSClient, queue: MotoQueue): Promise<Record<string, string>> =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }))).Attributes ?? {};

/** Messages on the queue: visible, in flight (received, not deleted) and delayed. */
export const queueDepth = async (sqs: SQSClient, queue: MotoQueue) => {
  const attributes = await queueAttributes(sqs, queue);
  return {
    visible: Number(attributes.ApproximateNumberOfMessages),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(attributes.ApproximateNumberOfMessagesDelayed),
  };
};

/** One receive of up to 10 messages, with every attribute, without waiting. */
export const receive = async (
  sqs: SQSClient,
  queue: MotoQueue,
  options: { visibilityTimeout?: number; max?: number; waitSeconds?: number } = {},
): Promise<Message[]> => {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: options.max ?? 10,
      WaitTimeSeconds: options.waitSeconds ?? 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...(options.visibilityTimeout !== undefined && { VisibilityTimeout: options.visibilityTimeout }),
    }),
  );
  return Messages;
};

/**
 * Receives until the queue answers empty, deleting what it read: everything visible on the queue now. Hidden and
 * delayed messages are not read.
 */
export const drain = async (sqs: SQSClient, queue: MotoQueue): Promise<Message[]> => {
  const all: Message[] = [];
  for (;;) {
    const batch = await receive(sqs, queue, { visibilityTimeout: 30 });
    if (batch.length === 0) return all;
    all.push(...batch);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: batch.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
};

export const parseBody = (message: Message): Record<string, unknown> => JSON.parse(message.Body ?? 'null') as Record<string, unknown>;

/** A received message as Lambda's SQS event source hands it to a handler. */
export const toSqsRecord = (message: Message, queue: MotoQueue): SQSRecord => toLambdaSqsRecord(message, queue.arn, MOTO_REGION);

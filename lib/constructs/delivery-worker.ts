import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_RETRY_DELAYS_SECONDS } from '../../functions/domain/delivery/retry-policy.js';
import { DEFAULT_SLOW_LANE_POLICY } from '../../functions/domain/delivery/delivery-worker.service.js';
import {
  type CredentialsKeyGrantOptions,
  type ServiceEndpoints,
  type TableItemAction,
  WebhookFunction,
} from './webhook-function.js';

/** The ceilings the handler's environment allows; requests are capped so a batch fits the function timeout. */
const MAX_REQUEST_TIMEOUT_MS = 15_000;
const MAX_CONNECT_TIMEOUT_MS = 5_000;

/**
 * The table actions the worker's handler makes: GetItem (webhook, a claim's holder), UpdateItem (claim, attempt,
 * disable, failure run), BatchGetItem (the webhooks of a batch's jobs, read at once), Query + BatchGetItem (the
 * subscribers of the operational events it announces).
 */
export const DELIVERY_WORKER_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:Query',
  'dynamodb:BatchGetItem',
] as const satisfies readonly TableItemAction[];

export interface DeliveryWorkerProps {
  /** The delivery queue the worker consumes, re-enqueues retries to and parks not-yet-due records on. */
  readonly deliveryQueue: IQueue;
  /**
   * The slow lane (see DeliveryWorker in functions/domain): its queue, consumed by the same function through a
   * mapping of its own, and its settings.
   */
  readonly slowLane: {
    readonly queue: IQueue;
    /**
     * A request of the shared lane unanswered this long moves to the slow lane; less than `requestTimeoutMs`.
     * @default DEFAULT_SLOW_LANE_POLICY.deadlineMs (2000)
     */
    readonly deadlineMs?: number;
    /**
     * How long an endpoint stays in the slow lane after its last slow answer.
     * @default DEFAULT_SLOW_LANE_POLICY.holdSeconds (3600)
     */
    readonly holdSeconds?: number;
    /**
     * Concurrent invocations of the slow lane, 2-1000: what slow endpoints share, apart from everyone else.
     * @default 5
     */
    readonly maxConcurrency?: number;
  };
  /** Where the worker puts deliveries that exhausted the retry schedule, with their attempt history. */
  readonly deliveryDeadLetterQueue: IQueue;
  /** The subscriptions table: webhooks are read (and disabled on 410), deliveries claimed and updated. */
  readonly table: ITable;
  /** The key sealing webhook credentials: the worker decrypts them to sign and to send the endpoint's headers. */
  readonly credentialsKey: IKey;
  /** @default - the grant conditioned on the data keys' encryption context */
  readonly credentialsKeyGrant?: CredentialsKeyGrantOptions;
  readonly logRetention: RetentionDays;
  /**
   * Seconds before each retry, after the immediate first attempt (`RETRY_SCHEDULE`).
   * @default DEFAULT_RETRY_DELAYS_SECONDS
   */
  readonly retryScheduleSeconds?: readonly number[];
  /**
   * The whole request to a receiver, connection included; at most 15000.
   * @default 15000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Connecting to a receiver; at most 5000.
   * @default 5000
   */
  readonly connectTimeoutMs?: number;
  /**
   * Accept `http://` webhook URLs. Local emulators only.
   * @default false
   */
  readonly allowHttpUrls?: boolean;
  /**
   * Deliver to loopback and private addresses (SSRF guard off). Local emulators only.
   * @default false
   */
  readonly allowPrivateDestinations?: boolean;
  /**
   * Deliveries per invocation, 1-10; they are attempted in parallel.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Concurrent invocations, 2-1000: with `batchSize`, the most requests in flight to receivers.
   * @default 20
   */
  readonly maxConcurrency?: number;
  /**
   * Must cover one request (the records of a batch run in parallel) and its table writes; at most 1/6 of the
   * delivery queue's visibility timeout.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default - AWS endpoints */
  readonly endpoints?: ServiceEndpoints;
}

/**
 * Attempts webhook deliveries: the `delivery-worker` function, polled from the delivery queue and, through a mapping
 * of its own capped at `slowLane.maxConcurrency`, from the slow lane's queue, signs and POSTs each
 * job, records the attempt on the delivery item, disables the webhook on 410, re-enqueues a retry (delays up to 15
 * minutes on the message, longer waits parked by changing the message's visibility), and puts deliveries that
 * exhausted the schedule on the delivery dead-letter queue. Table access is GetItem and UpdateItem only.
 */
export class DeliveryWorker extends Construct {
  readonly function: WebhookFunction;
  readonly eventSourceMapping: EventSourceMapping;
  readonly slowLaneEventSourceMapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: DeliveryWorkerProps) {
    super(scope, id);
    const retrySchedule = props.retryScheduleSeconds ?? DEFAULT_RETRY_DELAYS_SECONDS;
    const requestTimeoutMs = props.requestTimeoutMs ?? MAX_REQUEST_TIMEOUT_MS;
    const connectTimeoutMs = props.connectTimeoutMs ?? 5000;
    const deadlineMs = props.slowLane.deadlineMs ?? DEFAULT_SLOW_LANE_POLICY.deadlineMs;
    validateProps(this, retrySchedule, requestTimeoutMs, connectTimeoutMs, deadlineMs);

    this.function = new WebhookFunction(this, 'Function', {
      handlerName: 'delivery-worker',
      description: 'Attempts webhook deliveries, schedules retries and dead-letters exhausted ones',
      invocation: 'queue',
      logRetention: props.logRetention,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      ...(props.endpoints && { endpoints: props.endpoints }),
      environment: {
        RETRY_SCHEDULE: retrySchedule.join(','),
        REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
        CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
        ALLOW_HTTP_URLS: String(props.allowHttpUrls ?? false),
        ALLOW_PRIVATE_DESTINATIONS: String(props.allowPrivateDestinations ?? false),
        FAST_LANE_DEADLINE_MS: String(deadlineMs),
        SLOW_LANE_HOLD_SECONDS: String(props.slowLane.holdSeconds ?? DEFAULT_SLOW_LANE_POLICY.holdSeconds),
      },
    })
      .accessTable(props.table, DELIVERY_WORKER_TABLE_ACTIONS)
      .openCredentials(props.credentialsKey, props.credentialsKeyGrant)
      .sendTo(props.deliveryQueue, 'DELIVERY_QUEUE_URL')
      .sendTo(props.slowLane.queue, 'SLOW_LANE_QUEUE_URL')
      .sendTo(props.deliveryDeadLetterQueue, 'DELIVERY_DLQ_URL');
    const batchSize = props.batchSize ?? 10;
    this.eventSourceMapping = this.function.consume(props.deliveryQueue, { batchSize, maxConcurrency: props.maxConcurrency ?? 20 });
    this.slowLaneEventSourceMapping = this.function.consume(props.slowLane.queue, {
      batchSize,
      maxConcurrency: props.slowLane.maxConcurrency ?? 5,
    });
  }
}

const validateProps = (
  scope: Construct,
  retrySchedule: readonly number[],
  requestTimeoutMs: number,
  connectTimeoutMs: number,
  deadlineMs: number,
): void => {
  const where = scope.node.path;
  if (retrySchedule.length === 0 || retrySchedule.some((delay) => !Number.isFinite(delay) || delay < 0)) {
    throw new Error(`${where}: retryScheduleSeconds must be one or more non-negative numbers, got [${retrySchedule.join(', ')}]`);
  }
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1 || requestTimeoutMs > MAX_REQUEST_TIMEOUT_MS) {
    throw new Error(`${where}: requestTimeoutMs must be 1-${MAX_REQUEST_TIMEOUT_MS}, got ${requestTimeoutMs}`);
  }
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1 || connectTimeoutMs > MAX_CONNECT_TIMEOUT_MS) {
    throw new Error(`${where}: connectTimeoutMs must be 1-${MAX_CONNECT_TIMEOUT_MS}, got ${connectTimeoutMs}`);
  }
  if (!Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs >= requestTimeoutMs) {
    throw new Error(`${where}: slowLane.deadlineMs must be an integer from 1 to requestTimeoutMs - 1 (${requestTimeoutMs - 1}), got ${deadlineMs}`);
  }
};

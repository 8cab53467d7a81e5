import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { platformQueue, terminalQueue } from './queues.js';

/** How long a delivery message waits on the queue before SQS drops it: the SQS default, stated. */
export const DELIVERY_RETENTION = Duration.days(4);

export interface DeliveryQueueProps {
  /**
   * How long a received delivery stays hidden from other consumers. At least 6x the consuming function's timeout.
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before a delivery moves to the dead-letter queue. The delivery worker parks a retry that is not due
   * yet by hiding its message again (up to 12 hours per receive), and each of those receives counts, so this is
   * higher than the usual 3-5: a 24-hour retry wait (with jitter) takes 3 receives before its attempt.
   * @default 10
   */
  readonly maxReceiveCount?: number;
  /**
   * @default RemovalPolicy.DESTROY - pending deliveries are transient; the table is the record
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The queue of webhook deliveries waiting to be attempted, the slow lane's queue beside it, and the dead-letter
 * queue that keeps, for 14 days, the deliveries that failed `maxReceiveCount` receives and those the worker gave up
 * on after the last retry. All are SSE-encrypted and refuse requests without TLS.
 */
export class DeliveryQueue extends Construct {
  readonly queue: Queue;
  /** The slow lane's queue: deliveries to endpoints that answer slowly or not at all (see DeliveryWorker), set as `queue`. */
  readonly slowLaneQueue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: DeliveryQueueProps = {}) {
    super(scope, id);
    const visibilityTimeout = props.visibilityTimeout ?? Duration.minutes(3);
    if (!visibilityTimeout.isUnresolved() && visibilityTimeout.toSeconds() > 43_200) {
      throw new Error(`${this.node.path}: visibilityTimeout must be at most 12 hours, got ${visibilityTimeout.toSeconds()}s`);
    }
    const maxReceiveCount = props.maxReceiveCount ?? 10;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new Error(`${this.node.path}: maxReceiveCount must be an integer from 1 to 1000, got ${maxReceiveCount}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.deadLetterQueue = terminalQueue(this, 'DeadLetterQueue', {
      removalPolicy,
      redriveTarget: true,
      endOfTheLine: 'This is the dead-letter queue of the delivery queue; it has no further queue to redrive to.',
    });
    const settings = {
      visibilityTimeout,
      retentionPeriod: DELIVERY_RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy,
    };
    this.queue = platformQueue(this, 'Queue', settings);
    this.slowLaneQueue = platformQueue(this, 'SlowLaneQueue', settings);
  }
}

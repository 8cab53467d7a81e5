import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** How often a delivery is received before it is parked in the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

export interface DeliveryQueueProps {
  /**
   * How long a received delivery stays hidden from other consumers. Must exceed the consuming function's timeout.
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * @default RemovalPolicy.DESTROY - pending deliveries are transient; the table is the record
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The queue of webhook deliveries waiting to be attempted, and the dead-letter queue that keeps, for 14 days, the
 * deliveries that failed `MAX_RECEIVE_COUNT` receives. Both are SSE-encrypted and refuse requests without TLS.
 * The consumer (delivery worker) comes later; for now the API only sends to it (ping).
 */
export class DeliveryQueue extends Construct {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;

  constructor(scope: Construct, id: string, props: DeliveryQueueProps = {}) {
    super(scope, id);
    const visibilityTimeout = props.visibilityTimeout ?? Duration.minutes(3);
    if (!visibilityTimeout.isUnresolved() && visibilityTimeout.toSeconds() > 43_200) {
      throw new Error(`${this.node.path}: visibilityTimeout must be at most 12 hours, got ${visibilityTimeout.toSeconds()}s`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    const deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.deadLetterQueue = deadLetterQueue;
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy,
    });
  }
}

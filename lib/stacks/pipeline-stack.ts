import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.js';
import { DeliveryWorker } from '../constructs/delivery-worker.js';
import { EventRouter } from '../constructs/event-router.js';

export interface PipelineStackProps extends StackProps {
  readonly config: StageConfig;
  /** The subscriptions table, from the stateful stack. */
  readonly table: ITable;
  /** The rule's target queue, from the stateful stack. */
  readonly eventsQueue: IQueue;
  /** Where the router puts invalid events, from the stateful stack. */
  readonly rejectedEventsQueue: IQueue;
  /** The delivery queue, the slow lane's and their dead-letter queue, from the stateful stack. */
  readonly deliveryQueue: IQueue;
  readonly slowLaneQueue: IQueue;
  readonly deliveryDeadLetterQueue: IQueue;
  /** The key sealing webhook credentials, from the stateful stack: the worker opens them, the router never does. */
  readonly credentialsKey: IKey;
}

/**
 * The stateless part of the delivery pipeline: the event router and the delivery worker, each polling its queue
 * from the stateful stack. Safe to destroy and redeploy: events and deliveries wait on the queues meanwhile.
 */
export class PipelineStack extends Stack {
  readonly router: EventRouter;
  readonly worker: DeliveryWorker;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, table } = props;
    const common = { logRetention: config.logRetentionDays, endpoints: config.endpoints, table };

    this.router = new EventRouter(this, 'EventRouter', {
      ...common,
      eventsQueue: props.eventsQueue,
      deliveryQueue: props.deliveryQueue,
      slowLaneQueue: props.slowLaneQueue,
      rejectedEventsQueue: props.rejectedEventsQueue,
      batchSize: config.router.batchSize,
      maxConcurrency: config.router.maxConcurrency,
      timeout: Duration.seconds(config.router.timeoutSeconds),
      memorySize: config.router.memorySize,
    });
    this.worker = new DeliveryWorker(this, 'DeliveryWorker', {
      ...common,
      deliveryQueue: props.deliveryQueue,
      slowLane: { queue: props.slowLaneQueue, ...config.delivery.slowLane },
      deliveryDeadLetterQueue: props.deliveryDeadLetterQueue,
      credentialsKey: props.credentialsKey,
      credentialsKeyGrant: { encryptionContextCondition: config.emulator.kmsEncryptionContextConditions },
      retryScheduleSeconds: config.delivery.retryScheduleSeconds,
      requestTimeoutMs: config.delivery.requestTimeoutMs,
      connectTimeoutMs: config.delivery.connectTimeoutMs,
      allowHttpUrls: config.allowHttpUrls,
      allowPrivateDestinations: config.allowPrivateDestinations,
      batchSize: config.delivery.batchSize,
      maxConcurrency: config.delivery.maxConcurrency,
      timeout: Duration.seconds(config.delivery.timeoutSeconds),
      memorySize: config.delivery.memorySize,
    });
  }
}

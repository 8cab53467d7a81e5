import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.js';
import { DeliveryQueue } from '../constructs/delivery-queue.js';
import { EventIngestion } from '../constructs/event-ingestion.js';
import { SubscriptionStore } from '../constructs/subscription-store.js';

export interface StatefulStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * The resources that hold data and outlive deployments of the code: the table, the event bus and the queues.
 * Kept apart from the functions so that replacing or deleting a stateless stack never touches them. The bus's rule
 * lives here too, next to the events queue it targets: the queue's policy names the rule (aws:SourceArn), so a
 * rule in another stack would make the two stacks depend on each other.
 */
export class StatefulStack extends Stack {
  readonly table: ITable;
  readonly ingestion: EventIngestion;
  readonly eventBus: IEventBus;
  readonly deliveryQueue: Queue;
  readonly slowLaneQueue: Queue;
  readonly deliveryDeadLetterQueue: Queue;
  /** Protects the data keys that seal webhook credentials (signing secrets, header values) in the table. */
  readonly credentialsKey: Key;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    const store = new SubscriptionStore(this, 'SubscriptionStore');
    const deliveries = new DeliveryQueue(this, 'Deliveries', {
      visibilityTimeout: Duration.seconds(config.deliveryQueue.visibilityTimeoutSeconds),
      maxReceiveCount: config.deliveryQueue.maxReceiveCount,
    });
    this.ingestion = new EventIngestion(this, 'EventIngestion', {
      allowedSources: config.events.allowedSources,
      targetRetryAttempts: config.events.targetRetryAttempts,
      targetMaxEventAge: Duration.seconds(config.events.targetMaxEventAgeSeconds),
      visibilityTimeout: Duration.seconds(config.eventsQueue.visibilityTimeoutSeconds),
      maxReceiveCount: config.eventsQueue.maxReceiveCount,
    });
    // Retained like the table: without it, the credentials in the table (and in its backups) could not be opened.
    // Rotated yearly by KMS, which keeps the older material, so nothing needs re-encrypting.
    this.credentialsKey = new Key(this, 'CredentialsKey', {
      description: 'Webhook platform: data keys sealing webhook signing secrets and header values',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table = store.table;
    this.eventBus = this.ingestion.eventBus;
    this.deliveryQueue = deliveries.queue;
    this.slowLaneQueue = deliveries.slowLaneQueue;
    this.deliveryDeadLetterQueue = deliveries.deadLetterQueue;

    const outputs: [string, string, string][] = [
      ['TableName', this.table.tableName, 'The subscriptions table'],
      ['EventBusName', this.eventBus.eventBusName, 'Publish events here (PutEvents EventBusName)'],
      ['EventBusArn', this.eventBus.eventBusArn, 'The event bus, for producer IAM policies'],
      ['EventsQueueUrl', this.ingestion.eventsQueue.queueUrl, 'Matched events waiting for the event router'],
      ['EventsDeadLetterQueueUrl', this.ingestion.eventsDeadLetterQueue.queueUrl, 'Events the router kept failing on'],
      [
        'EventTargetDeadLetterQueueUrl',
        this.ingestion.targetDeadLetterQueue.queueUrl,
        'Events EventBridge could not put on the events queue',
      ],
      ['RejectedEventsQueueUrl', this.ingestion.rejectedEventsQueue.queueUrl, 'Events rejected as invalid, with reasons'],
      ['DeliveryQueueUrl', this.deliveryQueue.queueUrl, 'Deliveries to attempt'],
      ['SlowLaneQueueUrl', this.slowLaneQueue.queueUrl, 'Deliveries to endpoints that answer slowly or not at all'],
      ['CredentialsKeyArn', this.credentialsKey.keyArn, 'The KMS key sealing webhook credentials'],
      ['DeliveryDeadLetterQueueUrl', this.deliveryDeadLetterQueue.queueUrl, 'Deliveries that failed every attempt'],
    ];
    for (const [id, value, description] of outputs) new CfnOutput(this, id, { value, description });
  }
}

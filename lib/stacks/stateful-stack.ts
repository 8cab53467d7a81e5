import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.js';
import { DeliveryQueue } from '../constructs/delivery-queue.js';
import { SubscriptionStore } from '../constructs/subscription-store.js';

export interface StatefulStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * The resources that hold data and outlive deployments of the code: the table and the delivery queues. Kept apart
 * from the API so that replacing or deleting the stateless stack never touches them.
 */
export class StatefulStack extends Stack {
  readonly table: ITable;
  readonly deliveryQueue: IQueue;
  readonly deliveryDeadLetterQueue: IQueue;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const store = new SubscriptionStore(this, 'SubscriptionStore');
    const deliveries = new DeliveryQueue(this, 'Deliveries', {
      visibilityTimeout: Duration.seconds(props.config.deliveryQueue.visibilityTimeoutSeconds),
    });
    this.table = store.table;
    this.deliveryQueue = deliveries.queue;
    this.deliveryDeadLetterQueue = deliveries.deadLetterQueue;

    Validations.of(deliveries.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This is the dead-letter queue of the delivery queue; it has no further queue to redrive to.',
    });

    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'The subscriptions table' });
    new CfnOutput(this, 'DeliveryQueueUrl', { value: this.deliveryQueue.queueUrl, description: 'Deliveries to attempt' });
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', {
      value: this.deliveryDeadLetterQueue.queueUrl,
      description: 'Deliveries that failed every attempt',
    });
  }
}

import { Match, Template } from 'aws-cdk-lib/assertions';
import { tableDesign } from '../../functions/adapters/dynamodb/table-design.js';
import { parseStageConfig } from '../../lib/config/stage-config.js';
import { StatefulStack } from '../../lib/stacks/stateful-stack.js';
import { logicalId, testApp } from './support/platform.js';

const app = testApp({ bundle: false });
const stack = new StatefulStack(app, 'Stateful', {
  config: parseStageConfig({ deliveryQueue: { visibilityTimeoutSeconds: 90 } }),
});
const template = Template.fromStack(stack);

describe('subscriptions table', () => {
  const { partitionKey, sortKey, tenantKeysIndex, timeToLiveAttribute } = tableDesign;

  it('is on-demand, point-in-time recoverable and encrypted with the AWS managed KMS key', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // SSEEnabled without a key ID: KMS with the AWS managed key (aws/dynamodb).
      SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
    });
  });

  it('is retained when it leaves the stack', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has the keys and the tenant-keys index of tableDesign', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: partitionKey, AttributeType: 'S' },
        { AttributeName: sortKey, AttributeType: 'S' },
        { AttributeName: tenantKeysIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: tenantKeysIndex.sortKey, AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: tenantKeysIndex.name,
          KeySchema: [
            { AttributeName: tenantKeysIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: tenantKeysIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it(`expires items by the TTL attribute of tableDesign (${timeToLiveAttribute})`, () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: timeToLiveAttribute, Enabled: true },
    });
  });

  it('has no hard-coded name', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: Match.absent() });
  });
});

describe('delivery queues', () => {
  const queues = template.findResources('AWS::SQS::Queue');
  const deliveryQueueId = logicalId(stack.deliveryQueue);
  const deadLetterQueueId = logicalId(stack.deliveryDeadLetterQueue);

  it('are both SSE-encrypted', () => {
    expect(Object.keys(queues).sort()).toEqual([deliveryQueueId, deadLetterQueueId].sort());
    for (const queue of Object.values(queues)) {
      expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    }
  });

  it('move a delivery to the dead-letter queue after 5 receives', () => {
    expect(queues[deliveryQueueId]!.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  it('keep dead letters for 14 days', () => {
    expect(queues[deadLetterQueueId]!.Properties.MessageRetentionPeriod).toBe(14 * 24 * 60 * 60);
  });

  it('hide a received delivery for the configured visibility timeout', () => {
    expect(queues[deliveryQueueId]!.Properties.VisibilityTimeout).toBe(90);
  });

  it('refuse requests without TLS', () => {
    for (const queueId of [deliveryQueueId, deadLetterQueueId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('outputs', () => {
  it('publish the table name and both queue URLs', () => {
    template.hasOutput('TableName', { Value: { Ref: logicalId(stack.table) } });
    template.hasOutput('DeliveryQueueUrl', { Value: { Ref: logicalId(stack.deliveryQueue) } });
    template.hasOutput('DeliveryDeadLetterQueueUrl', { Value: { Ref: logicalId(stack.deliveryDeadLetterQueue) } });
  });
});

import { Match, Template } from 'aws-cdk-lib/assertions';
import { tableDesign } from '../../functions/adapters/dynamodb/table-design.js';
import { buildEventPattern } from '../../functions/contracts/event-routing.js';
import { parseStageConfig } from '../../lib/config/stage-config.js';
import { StatefulStack } from '../../lib/stacks/stateful-stack.js';
import { logicalId, testApp } from './support/platform.js';

const FOURTEEN_DAYS = 14 * 24 * 60 * 60;

// One stack for the file, with settings away from the defaults where it matters.
const config = parseStageConfig({
  delivery: { timeoutSeconds: 25 },
  deliveryQueue: { visibilityTimeoutSeconds: 150 },
  events: { allowedSources: ['com.acme.orders', 'com.acme.billing'], targetRetryAttempts: 20, targetMaxEventAgeSeconds: 7200 },
});
const app = testApp({ bundle: false });
const stack = new StatefulStack(app, 'Stateful', { config });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const { ingestion } = stack;
const queues = template.findResources('AWS::SQS::Queue');
const queueProps = (queue: Parameters<typeof logicalId>[0]) => queues[logicalId(queue)]!.Properties;
const arnOf = (construct: Parameters<typeof logicalId>[0]) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });

/** The statements of the queue policy attached to a queue. */
const queuePolicyStatements = (queue: Parameters<typeof logicalId>[0]): any[] =>
  Object.values(template.findResources('AWS::SQS::QueuePolicy'))
    .filter((policy) => JSON.stringify(policy.Properties.Queues) === JSON.stringify([{ Ref: logicalId(queue) }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);

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

describe('credentials key', () => {
  it('is one customer managed KMS key, rotated yearly by KMS, retained like the table, with no hard-coded name', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.resourceCountIs('AWS::KMS::Alias', 0);
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true, KeySpec: Match.absent() },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasOutput('CredentialsKeyArn', {});
  });
});

describe('event bus and rule', () => {
  const rules = Object.values(template.findResources('AWS::Events::Rule'));
  const rule = rules[0]!.Properties;

  it('is one custom bus whose name CDK derives from the construct path, not a name in code', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const { Name: name } = resources[logicalId(ingestion.eventBus)]!.Properties;

    expect(name).toMatch(/^StatefulEventIngestionBus[0-9A-F]{8}$/);
  });

  it('has one rule, on that bus, whose EventPattern is exactly buildEventPattern(allowedSources)', () => {
    expect(rules).toHaveLength(1);
    expect(rule.EventBusName).toEqual({ Ref: logicalId(ingestion.eventBus) });
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual(buildEventPattern(config.events.allowedSources));
    expect(rule.EventPattern.source).toEqual(['com.acme.orders', 'com.acme.billing']);
  });

  it('targets only the events queue, with its own dead-letter queue and the configured retry policy', () => {
    expect(rule.Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: arnOf(ingestion.eventsQueue),
        DeadLetterConfig: { Arn: arnOf(ingestion.targetDeadLetterQueue) },
        RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 7200 },
      },
    ]);
  });

  it('retries for as long as EventBridge allows by default', () => {
    const defaults = new StatefulStack(testApp({ bundle: false }), 'Defaults', { config: parseStageConfig({}) });
    const [defaultRule] = Object.values(Template.fromStack(defaults).findResources('AWS::Events::Rule'));

    expect(defaultRule!.Properties.Targets[0].RetryPolicy).toEqual({
      MaximumRetryAttempts: 185,
      MaximumEventAgeInSeconds: 86_400,
    });
    expect(defaultRule!.Properties.EventPattern).toEqual(buildEventPattern(['com.example.shop']));
  });
});

describe('events queue', () => {
  it('lets only EventBridge, for this rule, send to it (aws:SourceArn)', () => {
    const allows = queuePolicyStatements(ingestion.eventsQueue).filter((statement) => statement.Effect === 'Allow');

    expect(allows).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: expect.arrayContaining(['sqs:SendMessage']),
        Resource: arnOf(ingestion.eventsQueue),
        Condition: { ArnEquals: { 'aws:SourceArn': arnOf(ingestion.rule) } },
      },
    ]);
  });

  it('lets EventBridge, for this rule only, dead-letter to the target dead-letter queue', () => {
    const allows = queuePolicyStatements(ingestion.targetDeadLetterQueue).filter((s) => s.Effect === 'Allow');

    expect(allows).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: arnOf(ingestion.targetDeadLetterQueue),
        Condition: { ArnEquals: { 'aws:SourceArn': arnOf(ingestion.rule) } },
      }),
    ]);
  });

  it('moves an event the router keeps failing on to its dead-letter queue after 5 receives', () => {
    expect(queueProps(ingestion.eventsQueue).RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(ingestion.eventsDeadLetterQueue),
      maxReceiveCount: 5,
    });
    expect(queueProps(ingestion.eventsQueue).VisibilityTimeout).toBe(config.eventsQueue.visibilityTimeoutSeconds);
  });
});

describe('delivery queue', () => {
  it('moves a delivery to the dead-letter queue after 10 receives, leaving room for parked retries', () => {
    expect(queueProps(stack.deliveryQueue).RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(stack.deliveryDeadLetterQueue),
      maxReceiveCount: 10,
    });
  });

  it('hides a received delivery for the configured visibility timeout, 6x the worker timeout', () => {
    expect(queueProps(stack.deliveryQueue).VisibilityTimeout).toBe(150);
    expect(queueProps(stack.deliveryQueue).VisibilityTimeout).toBeGreaterThanOrEqual(6 * config.delivery.timeoutSeconds);
  });

  it('keeps a waiting delivery for 4 days, longer than the longest retry wait', () => {
    expect(queueProps(stack.deliveryQueue).MessageRetentionPeriod).toBe(4 * 24 * 60 * 60);
  });
});

describe('every queue', () => {
  const deadLetterQueues = [ingestion.eventsDeadLetterQueue, ingestion.targetDeadLetterQueue, stack.deliveryDeadLetterQueue];
  const allQueues = [
    ingestion.eventsQueue,
    ingestion.rejectedEventsQueue,
    stack.deliveryQueue,
    stack.slowLaneQueue,
    ...deadLetterQueues,
  ];

  it('is one of the seven the platform needs', () => {
    expect(Object.keys(queues).sort()).toEqual(allQueues.map(logicalId).sort());
  });

  it('is SSE-encrypted', () => {
    for (const queue of allQueues) {
      const props = queueProps(queue);
      expect({ queue: queue.node.path, sse: props.SqsManagedSseEnabled === true || props.KmsMasterKeyId !== undefined }).toEqual({
        queue: queue.node.path,
        sse: true,
      });
    }
  });

  it('keeps dead letters, and rejected events, for 14 days', () => {
    for (const queue of [...deadLetterQueues, ingestion.rejectedEventsQueue]) {
      expect(queueProps(queue).MessageRetentionPeriod).toBe(FOURTEEN_DAYS);
    }
  });

  it('refuses requests without TLS', () => {
    for (const queue of allQueues) {
      expect(queuePolicyStatements(queue)).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('is destroyed with the stack: queued messages are transient, the table is the record', () => {
    for (const queue of allQueues) {
      expect((resources[logicalId(queue)] as any).DeletionPolicy).toBe('Delete');
    }
  });
});

describe('outputs', () => {
  it.each([
    ['TableName', () => ({ Ref: logicalId(stack.table) })],
    ['EventBusName', () => ({ Ref: logicalId(ingestion.eventBus) })],
    ['EventBusArn', () => arnOf(ingestion.eventBus)],
    ['EventsQueueUrl', () => ({ Ref: logicalId(ingestion.eventsQueue) })],
    ['EventsDeadLetterQueueUrl', () => ({ Ref: logicalId(ingestion.eventsDeadLetterQueue) })],
    ['EventTargetDeadLetterQueueUrl', () => ({ Ref: logicalId(ingestion.targetDeadLetterQueue) })],
    ['RejectedEventsQueueUrl', () => ({ Ref: logicalId(ingestion.rejectedEventsQueue) })],
    ['DeliveryQueueUrl', () => ({ Ref: logicalId(stack.deliveryQueue) })],
    ['DeliveryDeadLetterQueueUrl', () => ({ Ref: logicalId(stack.deliveryDeadLetterQueue) })],
  ])('publish %s', (name, value) => {
    template.hasOutput(name, { Value: value() });
  });
});

import { randomUUID } from 'node:crypto';
import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createTableIfMissing } from '../../functions/adapters/dynamodb/create-table.js';
import { DynamoDeliveryRepository } from '../../functions/adapters/dynamodb/delivery.repository.js';
import { createDocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { itemKeys, tableDesign } from '../../functions/adapters/dynamodb/table-design.js';
import { ulidIds } from '../../functions/handlers/wiring.js';
import { SubscriptionStore } from '../../lib/constructs/subscription-store.js';
import { dynamoDbLocalEndpoint } from './support/emulators.js';

/**
 * What only a real DynamoDB implementation shows (dynalite, the embedded store, has no TTL and is lenient on
 * table definitions): the table `createTableIfMissing` builds, on DynamoDB Local, is the one `tableDesign` and the
 * CDK construct describe, and TTL can be switched on for `tableDesign.timeToLiveAttribute`.
 */
const config = {
  region: 'us-east-1',
  endpoint: dynamoDbLocalEndpoint(),
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
};
const client = new DynamoDBClient(config);
const tableName = `webhooks-aws-${randomUUID()}`;
let table: TableDescription;

/** The AWS::DynamoDB::Table CloudFormation would create from the CDK construct, for comparison. */
const cfnTable = () => {
  const stack = new Stack();
  new SubscriptionStore(stack, 'Store');
  const tables = Template.fromStack(stack).findResources('AWS::DynamoDB::Table');
  const [resource] = Object.values(tables) as { Properties: Record<string, any> }[];
  return resource!.Properties;
};

const byName = <T extends { AttributeName?: string }>(items: T[] = []) =>
  [...items].sort((a, b) => (a.AttributeName ?? '').localeCompare(b.AttributeName ?? ''));

beforeAll(async () => {
  await createTableIfMissing(client, tableName);
  table = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table!;
});
afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
});

describe('DynamoDB Local: the table createTableIfMissing builds', () => {
  it('is ACTIVE, on demand, keyed by tableDesign’s partition and sort key', () => {
    expect(table.TableStatus).toBe('ACTIVE');
    expect(table.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.KeySchema).toEqual([
      { AttributeName: tableDesign.partitionKey, KeyType: 'HASH' },
      { AttributeName: tableDesign.sortKey, KeyType: 'RANGE' },
    ]);
  });

  it('declares exactly the key attributes of the table and the index, all strings', () => {
    const { partitionKey, sortKey, tenantKeysIndex } = tableDesign;
    expect(byName(table.AttributeDefinitions)).toEqual(
      byName([partitionKey, sortKey, tenantKeysIndex.partitionKey, tenantKeysIndex.sortKey].map((AttributeName) => ({ AttributeName, AttributeType: 'S' }))),
    );
  });

  it('has the tenant-keys index, ACTIVE, projecting all attributes', () => {
    const { tenantKeysIndex } = tableDesign;
    expect(table.GlobalSecondaryIndexes).toHaveLength(1);
    const [index] = table.GlobalSecondaryIndexes!;
    expect(index).toMatchObject({
      IndexName: tenantKeysIndex.name,
      IndexStatus: 'ACTIVE',
      KeySchema: [
        { AttributeName: tenantKeysIndex.partitionKey, KeyType: 'HASH' },
        { AttributeName: tenantKeysIndex.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
    expect(table.LocalSecondaryIndexes ?? []).toEqual([]);
  });

  it('matches the keys, attributes and index of the table the CDK construct declares to CloudFormation', () => {
    const cfn = cfnTable();
    expect(table.KeySchema).toEqual(cfn.KeySchema);
    expect(byName(table.AttributeDefinitions)).toEqual(byName(cfn.AttributeDefinitions));
    expect(table.BillingModeSummary?.BillingMode).toBe(cfn.BillingMode);
    expect(
      table.GlobalSecondaryIndexes!.map(({ IndexName, KeySchema, Projection }) => ({ IndexName, KeySchema, Projection })),
    ).toEqual(cfn.GlobalSecondaryIndexes);
  });

  it('is left as it is when asked for again (ResourceInUseException from the real service is tolerated)', async () => {
    await expect(createTableIfMissing(client, tableName)).resolves.toBeUndefined();
    const again = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table!;
    expect(again.CreationDateTime).toEqual(table.CreationDateTime);
  });
});

describe('DynamoDB Local: time to live on tableDesign.timeToLiveAttribute', () => {
  it('starts disabled, then enables on the attribute CloudFormation would configure', async () => {
    const before = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(before.TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');

    const { TimeToLiveSpecification } = cfnTable();
    expect(TimeToLiveSpecification).toEqual({ AttributeName: tableDesign.timeToLiveAttribute, Enabled: true });

    const update = await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: tableDesign.timeToLiveAttribute, Enabled: true },
      }),
    );
    expect(update.TimeToLiveSpecification).toEqual({ AttributeName: tableDesign.timeToLiveAttribute, Enabled: true });

    const after = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(after.TimeToLiveDescription).toEqual({ AttributeName: tableDesign.timeToLiveAttribute, TimeToLiveStatus: 'ENABLED' });
  });

  it('rejects enabling TTL a second time, as DynamoDB does', async () => {
    await expect(
      client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: tableDesign.timeToLiveAttribute, Enabled: true },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('gets deliveries whose TTL attribute is a Number in epoch seconds (TTL ignores any other type)', async () => {
    const now = new Date('2026-06-01T00:00:00.000Z');
    const repository = new DynamoDeliveryRepository(createDocumentClient(config), tableName, { now: () => now }, 30);
    const webhookId = ulidIds.webhookId();
    const id = ulidIds.deliveryId();
    await repository.createIfAbsent({
      id,
      tenantId: 'acme',
      webhookId,
      event: { id: ulidIds.eventId(), type: 'order.created', timestamp: now.toISOString(), data: {} },
      status: 'pending',
      attempts: [],
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    const key = itemKeys.delivery('acme', webhookId, id);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: key.pk }, sk: { S: key.sk } }, ConsistentRead: true }),
    );
    expect(Item?.[tableDesign.timeToLiveAttribute]).toEqual({ N: String(now.getTime() / 1000 + 30 * 86_400) });
  });
});

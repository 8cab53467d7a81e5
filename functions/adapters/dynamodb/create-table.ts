import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { tableDesign } from './table-design.js';

/**
 * Creates the table from the shared design where no CloudFormation does: local mode, the embedded store in
 * tests, DynamoDB Local. The CDK construct builds the same keys and index from the same `tableDesign`.
 */
export const createTableIfMissing = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  const { partitionKey, sortKey, tenantKeysIndex } = tableDesign;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [partitionKey, sortKey, tenantKeysIndex.partitionKey, tenantKeysIndex.sortKey].map(
          (name) => ({ AttributeName: name, AttributeType: 'S' as const }),
        ),
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
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
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Table ${tableName} did not become ACTIVE`);
};

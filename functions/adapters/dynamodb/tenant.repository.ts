import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, ApiKeyRepository, TenantRecord, TenantRepository } from '../../domain/api-key.js';
import { ConflictError } from '../../domain/errors.js';
import { isConditionalCheckFailed } from './document-client.js';
import { itemKeys, tableDesign } from './table-design.js';

export class DynamoTenantRepository implements TenantRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(tenant: TenantRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...itemKeys.tenant(tenant.tenantId), ...tenant },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ConflictError(`Tenant ${tenant.tenantId} already exists`);
      throw error;
    }
  }

  async get(tenantId: string): Promise<TenantRecord | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: itemKeys.tenant(tenantId) }));
    return Item && { tenantId: Item.tenantId, name: Item.name, createdAt: Item.createdAt };
  }
}

/** API keys, stored under the hash of the key; a GSI lists a tenant's keys for the admin CLI. */
export class DynamoApiKeyRepository implements ApiKeyRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: itemKeys.apiKey(keyHash) }));
    return Item && fromItem(Item);
  }

  async create(key: ApiKeyRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.apiKey(key.keyHash),
            [tableDesign.tenantKeysIndex.partitionKey]: itemKeys.apiKeysOf(key.tenantId),
            [tableDesign.tenantKeysIndex.sortKey]: key.keyId,
            ...key,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ConflictError('This API key is already registered');
      throw error;
    }
  }

  async listByTenant(tenantId: string): Promise<ApiKeyRecord[]> {
    const keys: ApiKeyRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: tableDesign.tenantKeysIndex.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': tableDesign.tenantKeysIndex.partitionKey },
          ExpressionAttributeValues: { ':pk': itemKeys.apiKeysOf(tenantId) },
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      keys.push(...(page.Items ?? []).map(fromItem));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return keys;
  }

  async revoke(tenantId: string, keyId: string, at: string): Promise<boolean> {
    const key = (await this.listByTenant(tenantId)).find((candidate) => candidate.keyId === keyId);
    if (!key) return false;
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: itemKeys.apiKey(key.keyHash),
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
    return true;
  }
}

const fromItem = (item: Record<string, unknown>): ApiKeyRecord => {
  const { pk: _pk, sk: _sk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, ...record } = item;
  return record as unknown as ApiKeyRecord;
};

import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PublishedEventLedger } from '../../domain/delivery/delivery.ports.js';
import type { Clock } from '../../domain/ports.js';
import { DEFAULT_DELIVERY_RETENTION_DAYS } from './delivery.repository.js';
import { isConditionalCheckFailed } from './document-client.js';
import { itemKeys, tableDesign } from './table-design.js';

/**
 * One item per (tenant, event id) a producer published, kept as long as deliveries are (DynamoDB TTL; reads treat
 * an item past its TTL as gone, since TTL deletes lazily). A first publication costs one conditional put; a
 * republication, the failed put and a read.
 */
export class DynamoPublishedEventLedger implements PublishedEventLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    private readonly retentionDays = DEFAULT_DELIVERY_RETENTION_DAYS,
  ) {}

  async firstPublication(tenantId: string, eventId: string, timestamp: string): Promise<string> {
    const nowSeconds = Math.floor(this.clock.now().getTime() / 1000);
    const key = itemKeys.publication(tenantId, eventId);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, timestamp, [tableDesign.timeToLiveAttribute]: nowSeconds + this.retentionDays * 86_400 },
          ConditionExpression: 'attribute_not_exists(pk) OR #expiresAt <= :nowSeconds',
          ExpressionAttributeNames: { '#expiresAt': tableDesign.timeToLiveAttribute },
          ExpressionAttributeValues: { ':nowSeconds': nowSeconds },
        }),
      );
      return timestamp;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    // Gone between the two calls only if its TTL passed in between: this publication is then the first again.
    return typeof Item?.timestamp === 'string' ? Item.timestamp : timestamp;
  }
}

import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DeliveryAttempt, DeliveryStatus, WebhookPayload } from '../../contracts/delivery.schema.js';
import type {
  AttemptClaim,
  DeliveryKey,
  DeliveryProgress,
  DeliveryRecord,
  DeliveryRepository,
} from '../../domain/delivery/delivery.ports.js';
import type { Clock } from '../../domain/ports.js';
import { isConditionalCheckFailed } from './document-client.js';
import { DELIVERY_SK_PREFIX, itemKeys, tableDesign } from './table-design.js';

export const DEFAULT_DELIVERY_RETENTION_DAYS = 30;
const MAX_PAGES_PER_LIST = 10;
/** The attempt a worker is making and when its claim lapses (epoch ms); see claimAttempt. */
const CLAIMED_ATTEMPT = 'claimedAttempt';
const CLAIM_EXPIRES_AT = 'claimExpiresAt';

/**
 * Deliveries and their attempt log, one item per delivery under its webhook, newest first by id. Items expire
 * through DynamoDB TTL; since TTL deletes lazily (and the embedded store not at all), reads skip expired items.
 */
export class DynamoDeliveryRepository implements DeliveryRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    private readonly retentionDays = DEFAULT_DELIVERY_RETENTION_DAYS,
  ) {}

  async createIfAbsent(delivery: DeliveryRecord): Promise<{ created: boolean; delivery: DeliveryRecord }> {
    const expiresAt = this.expiresAtFor(this.clock.now());
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.delivery(delivery.tenantId, delivery.webhookId, delivery.id),
            ...delivery,
            [tableDesign.timeToLiveAttribute]: expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, delivery };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.get({ tenantId: delivery.tenantId, webhookId: delivery.webhookId, deliveryId: delivery.id });
      return { created: false, delivery: existing ?? delivery };
    }
  }

  async get(key: DeliveryKey): Promise<DeliveryRecord | undefined> {
    const item = await this.readItem(key);
    return item && fromItem(item);
  }

  async list(
    tenantId: string,
    webhookId: string,
    page: { limit: number; afterId?: string; status?: DeliveryStatus },
  ): Promise<{ items: DeliveryRecord[]; lastId?: string }> {
    const items: DeliveryRecord[] = [];
    let startKey: Record<string, unknown> | undefined =
      page.afterId === undefined ? undefined : itemKeys.delivery(tenantId, webhookId, page.afterId);
    // A status filter can leave a page short; read on (bounded) until one more item than asked is found.
    for (let pages = 0; pages < MAX_PAGES_PER_LIST && items.length <= page.limit; pages += 1) {
      const result: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: `#expiresAt > :now${page.status ? ' AND #status = :status' : ''}`,
          ExpressionAttributeNames: { '#expiresAt': tableDesign.timeToLiveAttribute, ...(page.status && { '#status': 'status' }) },
          ExpressionAttributeValues: {
            ':pk': itemKeys.deliveriesOf(tenantId, webhookId),
            ':prefix': DELIVERY_SK_PREFIX,
            ':now': Math.floor(this.clock.now().getTime() / 1000),
            ...(page.status && { ':status': page.status }),
          },
          ScanIndexForward: false,
          Limit: page.limit + 1,
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      items.push(...(result.Items ?? []).map(fromItem));
      startKey = result.LastEvaluatedKey;
      if (!startKey) break;
    }
    const pageItems = items.slice(0, page.limit);
    const last = pageItems.at(-1);
    const more = items.length > page.limit || (startKey !== undefined && pageItems.length === page.limit);
    return more && last ? { items: pageItems, lastId: last.id } : { items: pageItems };
  }

  async claimAttempt(key: DeliveryKey, event: WebhookPayload, attempt: number, until: Date): Promise<AttemptClaim> {
    const now = this.clock.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const created: Omit<DeliveryRecord, 'event'> = {
      id: key.deliveryId,
      tenantId: key.tenantId,
      webhookId: key.webhookId,
      status: 'pending',
      attempts: [],
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    const setIfNew = { ...created, event, [tableDesign.timeToLiveAttribute]: this.expiresAtFor(now) };
    const names = Object.fromEntries(Object.keys(setIfNew).map((field, index) => [`#new${index}`, field]));
    const values = Object.fromEntries(Object.values(setIfNew).map((value, index) => [`:new${index}`, value]));
    const initialise = Object.keys(names).map((name) => `${name} = if_not_exists(${name}, ${name.replace('#', ':')})`);
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.delivery(key.tenantId, key.webhookId, key.deliveryId),
          UpdateExpression: `SET #claimedAttempt = :attempt, #claimExpiresAt = :until, ${initialise.join(', ')}`,
          ConditionExpression:
            'attribute_not_exists(pk) OR (#expiresAt > :nowSeconds AND size(attempts) < :attempt AND ' +
            '(attribute_not_exists(#claimedAttempt) OR #claimedAttempt < :attempt OR #claimExpiresAt <= :now))',
          ExpressionAttributeNames: {
            ...names,
            '#claimedAttempt': CLAIMED_ATTEMPT,
            '#claimExpiresAt': CLAIM_EXPIRES_AT,
            '#expiresAt': tableDesign.timeToLiveAttribute,
          },
          ExpressionAttributeValues: {
            ...values,
            ':attempt': attempt,
            ':until': until.getTime(),
            ':now': now.getTime(),
            ':nowSeconds': nowSeconds,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { kind: 'claimed', delivery: fromItem(Attributes ?? {}) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const item = await this.readItem(key);
    if (!item) return { kind: 'expired' };
    if (fromItem(item).attempts.length >= attempt) return { kind: 'made' };
    // Held by another worker; if its claim lapsed between the two reads, the caller tries again in a second.
    return { kind: 'held', until: new Date(Math.max(Number(item[CLAIM_EXPIRES_AT]), now.getTime() + 1000)) };
  }

  async releaseClaim(key: DeliveryKey, attempt: number): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.delivery(key.tenantId, key.webhookId, key.deliveryId),
          UpdateExpression: 'REMOVE #claimedAttempt, #claimExpiresAt',
          ConditionExpression: '#claimedAttempt = :attempt AND size(attempts) < :attempt',
          ExpressionAttributeNames: { '#claimedAttempt': CLAIMED_ATTEMPT, '#claimExpiresAt': CLAIM_EXPIRES_AT },
          ExpressionAttributeValues: { ':attempt': attempt },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async recordAttempt(key: DeliveryKey, attempt: DeliveryAttempt, progress: DeliveryProgress): Promise<void> {
    await this.update(key, progress, {
      expression: 'attempts = list_append(if_not_exists(attempts, :none), :attempt)',
      values: { ':none': [], ':attempt': [attempt] },
    });
  }

  async updateProgress(key: DeliveryKey, progress: DeliveryProgress): Promise<void> {
    await this.update(key, progress);
  }

  async markPending(key: DeliveryKey, attempt: number): Promise<void> {
    const now = this.clock.now();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.delivery(key.tenantId, key.webhookId, key.deliveryId),
          UpdateExpression: 'SET #status = :pending, updatedAt = :now REMOVE nextAttemptAt',
          ConditionExpression: 'attribute_exists(pk) AND #expiresAt > :nowSeconds AND size(attempts) < :attempt',
          ExpressionAttributeNames: { '#status': 'status', '#expiresAt': tableDesign.timeToLiveAttribute },
          ExpressionAttributeValues: {
            ':pending': 'pending',
            ':now': now.toISOString(),
            ':nowSeconds': Math.floor(now.getTime() / 1000),
            ':attempt': attempt,
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  private async update(
    key: DeliveryKey,
    progress: DeliveryProgress,
    extra?: { expression: string; values: Record<string, unknown> },
  ): Promise<void> {
    const set = ['#status = :status', 'updatedAt = :now'];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':status': progress.status, ':now': this.clock.now().toISOString() };
    if (progress.nextAttemptAt !== undefined) {
      set.push('nextAttemptAt = :nextAttemptAt');
      values[':nextAttemptAt'] = progress.nextAttemptAt;
    } else {
      remove.push('nextAttemptAt');
    }
    // The last error stays until a success: it explains the most recent failure.
    if (progress.lastError !== undefined) {
      set.push('lastError = :lastError');
      values[':lastError'] = progress.lastError;
    } else if (progress.status === 'succeeded') {
      remove.push('lastError');
    }
    if (extra) {
      set.push(extra.expression);
      Object.assign(values, extra.values);
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: itemKeys.delivery(key.tenantId, key.webhookId, key.deliveryId),
        UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** The TTL of a delivery stored at `now`, in epoch seconds. */
  private expiresAtFor(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.retentionDays * 86_400;
  }

  /** The stored item, unless it is past its retention. */
  private async readItem(key: DeliveryKey): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: itemKeys.delivery(key.tenantId, key.webhookId, key.deliveryId),
        ConsistentRead: true,
      }),
    );
    return Item && !this.isExpired(Item) ? Item : undefined;
  }

  private isExpired(item: Record<string, unknown>): boolean {
    const expiresAt = item[tableDesign.timeToLiveAttribute];
    return typeof expiresAt === 'number' && expiresAt <= Math.floor(this.clock.now().getTime() / 1000);
  }
}

const fromItem = (item: Record<string, unknown>): DeliveryRecord => {
  const {
    pk: _pk,
    sk: _sk,
    [tableDesign.timeToLiveAttribute]: _expiresAt,
    [CLAIMED_ATTEMPT]: _claimedAttempt,
    [CLAIM_EXPIRES_AT]: _claimExpiresAt,
    ...record
  } = item;
  return record as unknown as DeliveryRecord;
};

import { isDeepStrictEqual } from 'node:util';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import DataLoader from 'dataloader';
import { ConflictError, type ErrorDetail, StaleVersionError } from '../../domain/errors.js';
import type { Clock, WebhookPage, WebhookRepository } from '../../domain/ports.js';
import {
  type Circuit,
  type StoredCredentials,
  subscriptionPairs,
  type WebhookCredentials,
  type WebhookRecord,
} from '../../domain/webhook.js';
import { isConditionalCheckFailed } from './document-client.js';
import { itemKeys, WEBHOOK_SK_PREFIX } from './table-design.js';

/** How long a fresh subscription claim counts as live even if its webhook does not (yet) list it. */
export const DEFAULT_CLAIM_LEASE_MS = 60_000;
const BATCH_GET_LIMIT = 100;
const MAX_CLAIM_ATTEMPTS = 5;

interface SubscriptionClaim {
  readonly pk: string;
  readonly sk: string;
  readonly webhookId: string;
  readonly url: string;
  readonly eventType: string;
  readonly claimedAt: number;
}

interface WebhookKey {
  readonly tenantId: string;
  readonly id: string;
}

interface SubscriptionKey {
  readonly tenantId: string;
  readonly eventType: string;
}

type ClaimOutcome = { readonly claimed: true } | { readonly claimed: false; readonly ownerId: string };

/**
 * Webhooks in DynamoDB, with (url, event type) uniqueness per tenant enforced by single-item conditional writes
 * (no transactions, so the same code runs on DynamoDB, DynamoDB Local and the embedded store).
 *
 * Each (tenant, event type, url) has a subscription item naming the webhook that owns it. A webhook claims its
 * pairs with conditional puts *before* its own item references them and releases them *after* its item stops
 * referencing them, so the claims always cover every live subscription; they double as the fan-out index.
 * A claim left behind by a crash between those writes is stale: its owner is gone or no longer lists the pair,
 * and the claim is older than the lease. A stale claim is taken over with a conditional put on its exact
 * previous state, so two writers racing for it cannot both win.
 */
export class DynamoWebhookRepository implements WebhookRepository {
  /**
   * Reads of one tick share one strongly consistent request (a delivery batch's jobs read their webhooks at once):
   * each read still sees the item as stored when its request was made, as a GetItem of its own would. No cache: a
   * read after that request makes a new one.
   */
  private readonly reads = new DataLoader<WebhookKey, WebhookRecord | undefined, string>(
    (keys) => this.readStronglyConsistent(keys),
    { cache: false, maxBatchSize: BATCH_GET_LIMIT },
  );

  /**
   * The same (tenant, event type) asked for in one tick (the events of a router batch) is queried once, and each
   * caller gets its own copy of the answer; a failed query fails only its callers. No cache, as for `reads`.
   */
  private readonly subscriberQueries = new DataLoader<SubscriptionKey, WebhookRecord[]>(
    async (keys) => {
      const keyOf = (key: SubscriptionKey) => `${key.tenantId}/${key.eventType}`;
      const distinct = distinctBy(keys, keyOf);
      const answers = await Promise.allSettled(distinct.map((key) => this.querySubscribers(key.tenantId, key.eventType)));
      const byKey = new Map(distinct.map((key, index) => [keyOf(key), answers[index]!]));
      return keys.map((key) => {
        const answer = byKey.get(keyOf(key))!;
        return answer.status === 'fulfilled' ? [...answer.value] : toError(answer.reason);
      });
    },
    { cache: false },
  );

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    private readonly claimLeaseMs = DEFAULT_CLAIM_LEASE_MS,
  ) {}

  async create(webhook: WebhookRecord): Promise<void> {
    const pairs = subscriptionPairs(webhook);
    await this.claimAll(webhook, pairs);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(webhook),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      await this.releaseAll(webhook, pairs);
      throw error;
    }
  }

  get(tenantId: string, id: string): Promise<WebhookRecord | undefined> {
    return this.reads.load({ tenantId, id });
  }

  /** One GetItem for one webhook, one BatchGetItem for more; the same webhook asked twice is read once. */
  private async readStronglyConsistent(keys: readonly WebhookKey[]): Promise<(WebhookRecord | undefined)[]> {
    const keyOf = (key: WebhookKey) => `${key.tenantId}/${key.id}`;
    const distinct = distinctBy(keys, keyOf);
    const [only] = distinct;
    if (distinct.length === 1 && only) {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: itemKeys.webhook(only.tenantId, only.id), ConsistentRead: true }),
      );
      return keys.map(() => Item && fromItem(Item));
    }
    const found = new Map((await this.batchGetWebhooks(distinct, true)).map((webhook) => [keyOf(webhook), webhook]));
    return keys.map((key) => found.get(keyOf(key)));
  }

  async list(tenantId: string, page: { limit: number; afterId?: string }): Promise<WebhookPage> {
    // One extra item tells whether another page follows, so the last page never carries a cursor.
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': itemKeys.webhooksOf(tenantId), ':prefix': WEBHOOK_SK_PREFIX },
        ScanIndexForward: false,
        Limit: page.limit + 1,
        ...(page.afterId !== undefined && { ExclusiveStartKey: itemKeys.webhook(tenantId, page.afterId) }),
      }),
    );
    const items = Items.slice(0, page.limit).map(fromItem);
    const last = items.at(-1);
    return Items.length > page.limit && last ? { items, lastId: last.id } : { items };
  }

  async update(next: WebhookRecord, previous: WebhookRecord): Promise<void> {
    const previousKeys = new Set(subscriptionPairs(previous).map(pairKey));
    const nextKeys = new Set(subscriptionPairs(next).map(pairKey));
    const added = subscriptionPairs(next).filter((pair) => !previousKeys.has(pairKey(pair)));
    const removed = subscriptionPairs(previous).filter((pair) => !nextKeys.has(pairKey(pair)));

    await this.claimAll(next, added);
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tableName, ...changesOf(previous, next) }));
    } catch (error) {
      await this.releaseAll(next, added);
      if (isConditionalCheckFailed(error)) throw new StaleVersionError(next.id);
      throw error;
    }
    await this.releaseAll(next, removed);
  }

  async delete(tenantId: string, id: string): Promise<WebhookRecord | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: itemKeys.webhook(tenantId, id),
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      if (!Attributes) return undefined;
      const deleted = fromItem(Attributes);
      await this.releaseAll(deleted, subscriptionPairs(deleted));
      return deleted;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  disable(tenantId: string, id: string, reason: { reason: string; at: string }): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'SET enabled = :false, disabledReason = :reason, disabledAt = :at, updatedAt = :at ADD version :one',
      ConditionExpression: 'attribute_exists(pk) AND enabled = :true',
      ExpressionAttributeValues: { ':false': false, ':true': true, ':reason': reason.reason, ':at': reason.at, ':one': 1 },
    });
  }

  async recordFailure(
    tenantId: string,
    id: string,
    at: string,
  ): Promise<{ failingSince: string; consecutiveFailures: number } | undefined> {
    const run = await this.updateUnlessConditionFails({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'SET failingSince = if_not_exists(failingSince, :at) ADD consecutiveFailures :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': at, ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    });
    return run && { failingSince: String(run.failingSince), consecutiveFailures: Number(run.consecutiveFailures) };
  }

  async clearFailures(tenantId: string, id: string): Promise<void> {
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'REMOVE failingSince, consecutiveFailures, circuit',
      ConditionExpression: 'attribute_exists(pk)',
    });
  }

  openCircuit(tenantId: string, id: string, circuit: Circuit): Promise<boolean> {
    return this.setCircuit(tenantId, id, circuit, { condition: 'attribute_not_exists(circuit)' });
  }

  reopenCircuit(tenantId: string, id: string, circuit: Circuit): Promise<boolean> {
    return this.setCircuit(tenantId, id, circuit, { condition: 'attribute_exists(circuit)' });
  }

  takeProbe(tenantId: string, id: string, probe: { probeAt: string; at: string; leaseUntil: string }): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'SET circuit.probeLeaseUntil = :lease',
      ConditionExpression: 'circuit.probeAt = :probeAt AND (attribute_not_exists(circuit.probeLeaseUntil) OR circuit.probeLeaseUntil <= :at)',
      ExpressionAttributeValues: { ':lease': probe.leaseUntil, ':probeAt': probe.probeAt, ':at': probe.at },
    });
  }

  async advanceSendSlot(tenantId: string, id: string, intervalMs: number): Promise<number | undefined> {
    const slots = await this.updateUnlessConditionFails({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'ADD nextSendAt :interval',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':interval': intervalMs },
      ReturnValues: 'UPDATED_NEW',
    });
    return slots && Number(slots.nextSendAt);
  }

  restartSendSlots(tenantId: string, id: string, slots: { seen: number | undefined; next: number }): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'SET nextSendAt = :next',
      ConditionExpression:
        slots.seen === undefined ? 'attribute_exists(pk) AND attribute_not_exists(nextSendAt)' : 'nextSendAt = :seen',
      ExpressionAttributeValues: { ':next': slots.next, ...(slots.seen !== undefined && { ':seen': slots.seen }) },
    });
  }

  holdInSlowLane(tenantId: string, id: string, until: string): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'SET slowLaneUntil = :until',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(slowLaneUntil) OR slowLaneUntil < :until)',
      ExpressionAttributeValues: { ':until': until },
    });
  }

  markStalled(tenantId: string, id: string, mark: { at: string; until: string }): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'SET stalledUntil = :until',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(stalledUntil) OR stalledUntil <= :at)',
      ExpressionAttributeValues: { ':until': mark.until, ':at': mark.at },
    });
  }

  async leaveSlowLane(tenantId: string, id: string): Promise<void> {
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'REMOVE slowLaneUntil',
      ConditionExpression: 'attribute_exists(pk)',
    });
  }

  /** Sets the circuit (a map attribute) of an existing webhook when `condition` holds. */
  private setCircuit(tenantId: string, id: string, circuit: Circuit, options: { condition: string }): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKeys.webhook(tenantId, id),
      UpdateExpression: 'SET circuit = :circuit',
      ConditionExpression: `attribute_exists(pk) AND ${options.condition}`,
      ExpressionAttributeValues: { ':circuit': circuit },
    });
  }

  /** An update that is skipped, resolving false, when its condition does not hold. */
  private async conditionalUpdate(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<boolean> {
    return (await this.updateUnlessConditionFails(input)) !== undefined;
  }

  /** The update's returned attributes (empty when it returns none), or undefined when its condition does not hold. */
  private async updateUnlessConditionFails(
    input: ConstructorParameters<typeof UpdateCommand>[0],
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const { Attributes } = await this.db.send(new UpdateCommand(input));
      return Attributes ?? {};
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  findSubscribers(tenantId: string, eventType: string): Promise<WebhookRecord[]> {
    return this.subscriberQueries.load({ tenantId, eventType });
  }

  private async querySubscribers(tenantId: string, eventType: string): Promise<WebhookRecord[]> {
    const claims: SubscriptionClaim[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': itemKeys.subscriptionsOf(tenantId, eventType) },
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      claims.push(...((page.Items ?? []) as SubscriptionClaim[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);

    const ids = [...new Set(claims.map((claim) => claim.webhookId))];
    const webhooks = await this.batchGetWebhooks(ids.map((id) => ({ tenantId, id })), false);
    const claimed = new Set(claims.map((claim) => `${claim.webhookId} ${claim.url}`));
    // The webhook item is the source of truth; a claim whose webhook moved on is ignored.
    return webhooks.filter(
      (webhook) => webhook.enabled && webhook.events.includes(eventType) && claimed.has(`${webhook.id} ${webhook.url}`),
    );
  }

  /** The webhooks that exist of `webhooks` (distinct), in no particular order; unprocessed keys are asked again. */
  private async batchGetWebhooks(webhooks: readonly WebhookKey[], consistentRead: boolean): Promise<WebhookRecord[]> {
    const found: WebhookRecord[] = [];
    for (let offset = 0; offset < webhooks.length; offset += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] | undefined = webhooks
        .slice(offset, offset + BATCH_GET_LIMIT)
        .map((webhook) => itemKeys.webhook(webhook.tenantId, webhook.id));
      for (let attempt = 0; keys && keys.length > 0; attempt += 1) {
        if (attempt > 0) await delay(Math.min(1000, 25 * 2 ** attempt));
        const result: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: consistentRead } } }),
        );
        found.push(...(result.Responses?.[this.tableName] ?? []).map(fromItem));
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
  }

  /** Claims every pair for the webhook, or none: on any conflict the pairs claimed so far are released. */
  private async claimAll(webhook: WebhookRecord, pairs: readonly Pair[]): Promise<void> {
    const outcomes = await Promise.allSettled(pairs.map((pair) => this.claim(webhook, pair)));
    const conflicts: ErrorDetail[] = [];
    outcomes.forEach((outcome, index) => {
      const pair = pairs[index]!;
      if (outcome.status === 'fulfilled' && !outcome.value.claimed) {
        conflicts.push({
          path: `events[${webhook.events.indexOf(pair.eventType)}]`,
          message: `webhook ${outcome.value.ownerId} already receives "${pair.eventType}" at this url`,
        });
      }
    });
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (conflicts.length > 0 || failure) {
      const claimed = pairs.filter((_, index) => {
        const outcome = outcomes[index];
        return outcome?.status === 'fulfilled' && outcome.value.claimed;
      });
      await this.releaseAll(webhook, claimed);
      if (failure) throw failure.reason;
      throw new ConflictError('Another webhook already receives these events at this url', conflicts);
    }
  }

  private async claim(webhook: WebhookRecord, pair: Pair): Promise<ClaimOutcome> {
    const key = itemKeys.subscription(webhook.tenantId, pair.eventType, pair.url);
    const claim = (condition: string, values: Record<string, unknown>) =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, webhookId: webhook.id, url: pair.url, eventType: pair.eventType, claimedAt: this.clock.now().getTime() },
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );

    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt += 1) {
      try {
        await claim('attribute_not_exists(pk) OR webhookId = :self', { ':self': webhook.id });
        return { claimed: true };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      const existing = Item as SubscriptionClaim | undefined;
      if (!existing) continue; // released in the meantime: try again
      if (await this.isLive(webhook.tenantId, existing)) return { claimed: false, ownerId: existing.webhookId };
      try {
        await claim('webhookId = :stale AND claimedAt = :staleAt', {
          ':stale': existing.webhookId,
          ':staleAt': existing.claimedAt,
        });
        return { claimed: true };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    throw new ConflictError(`Could not claim "${pair.eventType}" at this url: too many concurrent changes, retry`);
  }

  private async isLive(tenantId: string, claim: SubscriptionClaim): Promise<boolean> {
    if (this.clock.now().getTime() - claim.claimedAt < this.claimLeaseMs) return true;
    const owner = await this.get(tenantId, claim.webhookId);
    return owner !== undefined && owner.url === claim.url && owner.events.includes(claim.eventType);
  }

  private async releaseAll(webhook: WebhookRecord, pairs: readonly Pair[]): Promise<void> {
    await Promise.all(
      pairs.map(async (pair) => {
        try {
          await this.db.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: itemKeys.subscription(webhook.tenantId, pair.eventType, pair.url),
              ConditionExpression: 'webhookId = :self',
              ExpressionAttributeValues: { ':self': webhook.id },
            }),
          );
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error; // someone else owns it now: nothing to release
        }
      }),
    );
  }
}

type Pair = ReturnType<typeof subscriptionPairs>[number];
const pairKey = (pair: Pair) => `${pair.eventType} ${pair.url}`;

/** `keys` with those alike under `keyOf` counted once. */
const distinctBy = <K>(keys: readonly K[], keyOf: (key: K) => string): K[] => [
  ...new Map(keys.map((key) => [keyOf(key), key])).values(),
];

const toError = (reason: unknown): Error => (reason instanceof Error ? reason : new Error(String(reason)));

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The webhook's item: its attributes, and its credentials as one `credentials` attribute holding the sealed value.
 * A record read from an item written before credentials were encrypted holds them in plaintext, as the attributes
 * `secret` and `previousSecrets`; an update that seals them removes those.
 */
const toItem = (webhook: WebhookRecord): Record<string, unknown> => {
  const { credentials, ...attributes } = webhook;
  return {
    ...itemKeys.webhook(webhook.tenantId, webhook.id),
    ...attributes,
    ...('sealed' in credentials ? { credentials: credentials.sealed } : credentials.plaintext),
  };
};

/**
 * The update from `previous` to `next`, conditional on `previous`'s version: only the attributes that differ are set
 * or removed. The workers' own attributes (the failure run, the circuit, the slow lane, the send slot) change
 * beside the API's writes without bumping the version; an update that left them alone must not put back the values
 * it read.
 */
const changesOf = (previous: WebhookRecord, next: WebhookRecord) => {
  const before = toItem(previous);
  const after = toItem(next);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':version': previous.version };
  const set: string[] = [];
  const remove: string[] = [];
  for (const [index, name] of [...new Set([...Object.keys(before), ...Object.keys(after)])].entries()) {
    if (isDeepStrictEqual(before[name], after[name])) continue;
    names[`#a${index}`] = name;
    if (after[name] === undefined) {
      remove.push(`#a${index}`);
    } else {
      values[`:a${index}`] = after[name];
      set.push(`#a${index} = :a${index}`);
    }
  }
  return {
    Key: itemKeys.webhook(next.tenantId, next.id),
    UpdateExpression: [set.length > 0 && `SET ${set.join(', ')}`, remove.length > 0 && `REMOVE ${remove.join(', ')}`].filter(Boolean).join(' '),
    ConditionExpression: 'version = :version',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
};

/**
 * Plaintext attributes win over a sealed value beside them: only a writer from before encryption (an old container
 * during a deploy) writes them, and it writes them after, never before, the value was sealed. The next write then
 * seals them and removes them.
 */
const fromItem = (item: Record<string, unknown>): WebhookRecord => {
  const { pk: _pk, sk: _sk, credentials, secret, previousSecrets, ...attributes } = item;
  const stored: StoredCredentials =
    typeof secret === 'string'
      ? { plaintext: { secret, ...(previousSecrets !== undefined && { previousSecrets }) } as WebhookCredentials }
      : { sealed: String(credentials) };
  return { ...attributes, credentials: stored } as unknown as WebhookRecord;
};

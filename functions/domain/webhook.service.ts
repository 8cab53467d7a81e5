import { isDeepStrictEqual } from 'node:util';
import { findEventType } from '../contracts/event-catalogue.js';
import type { Webhook, WebhookCreate, WebhookPatch } from '../contracts/webhook.schema.js';
import {
  type ErrorDetail,
  NotFoundError,
  PreconditionFailedError,
  StaleVersionError,
  ValidationError,
} from './errors.js';
import type { DestinationPolicy } from './delivery/sender.port.js';
import type { Clock, CredentialsVault, IdGenerator, WebhookRepository } from './ports.js';
import { openCredentials, sealCredentials } from './credentials.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { generateSecret, toWebhookView, type WebhookCredentials, type WebhookRecord } from './webhook.js';

export interface Versioned<T> {
  readonly value: T;
  /** Changes on every write; the HTTP layer exposes it as the ETag. */
  readonly version: number;
}

export type FieldChanges = Record<string, { from: unknown; to: unknown }>;

const MAX_UPDATE_ATTEMPTS = 3;
const EDITABLE_FIELDS = ['name', 'url', 'events', 'filters', 'enabled', 'description', 'metadata', 'rateLimitPerSecond'] as const;

/** The webhook use cases. Callers are already authenticated; `tenantId` scopes every operation. */
export class WebhookService {
  constructor(
    private readonly deps: {
      readonly webhooks: WebhookRepository;
      /** Seals and opens the signing secrets and header values (see WebhookRecord.credentials). */
      readonly vault: CredentialsVault;
      readonly clock: Clock;
      readonly ids: IdGenerator;
      /** How long a rotated-out secret keeps signing deliveries. */
      readonly secretOverlapSeconds: number;
      /** Which URLs may receive deliveries: scheme and, on AWS, public destinations only (SSRF guard). */
      readonly destinations: DestinationPolicy;
    },
  ) {}

  async create(tenantId: string, input: WebhookCreate): Promise<{ webhook: Webhook; secret: string }> {
    const events = await this.checkSubscription(input.url, input.events);
    const now = this.deps.clock.now().toISOString();
    const identity = { tenantId, id: this.deps.ids.webhookId() };
    const secret = input.secret ?? generateSecret();
    const headers = someHeaders(input.headers);
    const record: WebhookRecord = {
      ...identity,
      name: input.name ?? new URL(input.url).host,
      url: input.url,
      events,
      ...(input.filters && { filters: input.filters }),
      enabled: input.enabled,
      ...(input.description !== undefined && { description: input.description }),
      ...(input.metadata && { metadata: input.metadata }),
      ...(input.rateLimitPerSecond !== undefined && { rateLimitPerSecond: input.rateLimitPerSecond }),
      credentials: await sealCredentials(this.deps.vault, identity, { secret, ...(headers && { headers }) }),
      ...(headers && { headerNames: Object.keys(headers) }),
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.webhooks.create(record);
    return { webhook: toWebhookView(record), secret };
  }

  async list(tenantId: string, page: { limit: number; cursor?: string }) {
    const result = await this.deps.webhooks.list(tenantId, {
      limit: page.limit,
      ...(page.cursor !== undefined && { afterId: decodeCursor(page.cursor, 'wh_') }),
    });
    return {
      data: result.items.map(toWebhookView),
      nextCursor: result.lastId === undefined ? null : encodeCursor(result.lastId),
    };
  }

  async get(tenantId: string, id: string): Promise<Versioned<Webhook>> {
    const record = await this.require(tenantId, id);
    return { value: toWebhookView(record), version: record.version };
  }

  async getSecret(tenantId: string, id: string): Promise<string> {
    return (await openCredentials(this.deps.vault, await this.require(tenantId, id))).secret;
  }

  /**
   * Replaces the signing secret (a given one, or a generated one). The previous secret keeps signing deliveries,
   * next to the new one, for the overlap, so receivers can switch without dropping a delivery.
   */
  async rotateSecret(tenantId: string, id: string, secret: string | undefined): Promise<{ secret: string; previousExpiresAt: string }> {
    for (let attempt = 1; ; attempt += 1) {
      const previous = await this.require(tenantId, id);
      const now = this.deps.clock.now();
      const previousExpiresAt = new Date(now.getTime() + this.deps.secretOverlapSeconds * 1000).toISOString();
      const credentials = await openCredentials(this.deps.vault, previous);
      const rotated: WebhookCredentials = {
        ...credentials,
        secret: secret ?? generateSecret(),
        previousSecrets: [
          { secret: credentials.secret, expiresAt: previousExpiresAt },
          ...(credentials.previousSecrets ?? []).filter((old) => Date.parse(old.expiresAt) > now.getTime()),
        ],
      };
      const next: WebhookRecord = {
        ...previous,
        credentials: await sealCredentials(this.deps.vault, previous, rotated),
        version: previous.version + 1,
        updatedAt: now.toISOString(),
      };
      try {
        await this.deps.webhooks.update(next, previous);
        return { secret: rotated.secret, previousExpiresAt };
      } catch (error) {
        if (!(error instanceof StaleVersionError) || attempt >= MAX_UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Applies a partial update. `""` and `null` remove an optional property. Without `expectedVersion` a
   * concurrent write is retried on the fresh copy (field-level patches commute); with it, a concurrent write
   * is a PreconditionFailedError.
   */
  async update(
    tenantId: string,
    id: string,
    patch: WebhookPatch,
    expectedVersion?: number,
  ): Promise<Versioned<{ webhook: Webhook; changes: FieldChanges }>> {
    for (let attempt = 1; ; attempt += 1) {
      const previous = await this.require(tenantId, id);
      if (expectedVersion !== undefined && previous.version !== expectedVersion) {
        throw new PreconditionFailedError(`webhook ${id} is at version ${previous.version}, not ${expectedVersion}`);
      }
      const { next, changes } = await this.applyPatch(previous, patch);
      if (Object.keys(changes).length === 0) {
        return { value: { webhook: toWebhookView(previous), changes }, version: previous.version };
      }
      try {
        await this.deps.webhooks.update(next, previous);
        return { value: { webhook: toWebhookView(next), changes }, version: next.version };
      } catch (error) {
        if (!(error instanceof StaleVersionError)) throw error;
        if (expectedVersion !== undefined) {
          throw new PreconditionFailedError(`webhook ${id} was modified concurrently`);
        }
        if (attempt >= MAX_UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  async delete(tenantId: string, id: string): Promise<Webhook> {
    const deleted = await this.deps.webhooks.delete(tenantId, id);
    if (!deleted) throw webhookNotFound(id);
    return toWebhookView(deleted);
  }

  private async require(tenantId: string, id: string): Promise<WebhookRecord> {
    const record = await this.deps.webhooks.get(tenantId, id);
    if (!record) throw webhookNotFound(id);
    return record;
  }

  private async applyPatch(previous: WebhookRecord, patch: WebhookPatch) {
    const candidate: Record<string, unknown> = { ...previous };
    for (const field of EDITABLE_FIELDS) {
      const value = patch[field];
      if (value === undefined) continue;
      candidate[field] = value === '' || value === null ? undefined : value;
    }
    const url = candidate.url as string;
    const events = await this.checkSubscription(url, candidate.events as string[], url !== previous.url);
    candidate.events = events;
    if (patch.enabled === true) {
      // Re-enabling clears what the platform recorded when it disabled the webhook.
      candidate.disabledReason = undefined;
      candidate.disabledAt = undefined;
    }
    if (patch.enabled === true || url !== previous.url) {
      // A re-enabled webhook or a new endpoint starts healthy: no failure run, the circuit closed, the shared lane.
      candidate.failingSince = undefined;
      candidate.consecutiveFailures = undefined;
      candidate.circuit = undefined;
      candidate.slowLaneUntil = undefined;
      candidate.stalledUntil = undefined;
    }

    const changes: FieldChanges = {};
    for (const field of EDITABLE_FIELDS) {
      if (!isDeepStrictEqual(previous[field], candidate[field])) {
        changes[field] = { from: previous[field] ?? null, to: candidate[field] ?? null };
      }
    }
    const credentials = await this.patchCredentials(previous, patch.headers);
    if (credentials.headersChanged) {
      // Header values are write-only: a change shows the names only.
      changes.headers = { from: previous.headerNames ?? null, to: credentials.headerNames ?? null };
    }
    candidate.credentials = credentials.stored;
    candidate.headerNames = credentials.headerNames;
    const next = {
      ...(Object.fromEntries(Object.entries(candidate).filter(([, v]) => v !== undefined)) as unknown as WebhookRecord),
      version: previous.version + 1,
      updatedAt: this.deps.clock.now().toISOString(),
    };
    return { next, changes };
  }

  /**
   * The credentials after `headers` (undefined: unchanged; "" or null: none) is applied: sealed anew when the headers
   * change, and when the record still holds them in plaintext (written before encryption); else left as they are.
   */
  private async patchCredentials(previous: WebhookRecord, headers: WebhookPatch['headers']) {
    const unchanged = { stored: previous.credentials, headerNames: previous.headerNames, headersChanged: false };
    if (headers === undefined && !('plaintext' in previous.credentials)) return unchanged;
    const opened = await openCredentials(this.deps.vault, previous);
    const { headers: previousHeaders, ...signing } = opened;
    const nextHeaders = headers === undefined ? previousHeaders : headers === '' || headers === null ? undefined : someHeaders(headers);
    const headersChanged = !isDeepStrictEqual(previousHeaders, nextHeaders);
    if (!headersChanged && !('plaintext' in previous.credentials)) return unchanged;
    return {
      stored: await sealCredentials(this.deps.vault, previous, { ...signing, ...(nextHeaders && { headers: nextHeaders }) }),
      headerNames: nextHeaders && Object.keys(nextHeaders),
      headersChanged,
    };
  }

  /**
   * Checks the URL against the destination policy (when it is new) and the event names against the catalogue;
   * returns the events de-duplicated.
   */
  private async checkSubscription(url: string, events: readonly string[], urlIsNew = true): Promise<string[]> {
    const problems: ErrorDetail[] = [];
    const refusal = urlIsNew ? await this.deps.destinations.check(url) : undefined;
    if (refusal !== undefined) problems.push({ path: 'url', message: refusal });
    events.forEach((name, index) => {
      const eventType = findEventType(name);
      if (!eventType) {
        problems.push({ path: `events[${index}]`, message: `unknown event type "${name}"` });
      } else if (!eventType.subscribable) {
        problems.push({
          path: `events[${index}]`,
          message: `"${name}" cannot be subscribed to; it is sent by POST /v1/webhooks/{id}/ping`,
        });
      }
    });
    if (problems.length > 0) throw new ValidationError(problems);
    return [...new Set(events)];
  }
}

const webhookNotFound = (id: string) => new NotFoundError(`No webhook with id ${id}`);

/** `{}` names no header: the same as none. */
const someHeaders = (headers: Readonly<Record<string, string>> | undefined) =>
  headers && Object.keys(headers).length > 0 ? headers : undefined;

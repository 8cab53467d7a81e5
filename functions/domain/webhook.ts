import { randomBytes } from 'node:crypto';
import { SECRET_PREFIX, type Webhook } from '../contracts/webhook.schema.js';

/** A webhook as stored: the API view plus its owner, signing secret and optimistic-concurrency version. */
export interface WebhookRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly filters?: Readonly<Record<string, readonly string[]>>;
  readonly enabled: boolean;
  /** Why the platform disabled the webhook (410 Gone, failing for days); cleared when it is re-enabled. */
  readonly disabledReason?: string;
  readonly disabledAt?: string;
  /** Endpoint health: when the current run of failed attempts began, and how many it holds. */
  readonly failingSince?: string;
  readonly consecutiveFailures?: number;
  readonly description?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** The newest signing secret. */
  readonly secret: string;
  /** Secrets replaced by a rotation, still signing deliveries until they expire. */
  readonly previousSecrets?: readonly { readonly secret: string; readonly expiresAt: string }[];
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The (url, event type) pairs a webhook subscribes; each may belong to at most one webhook of a tenant. */
export const subscriptionPairs = (webhook: Pick<WebhookRecord, 'url' | 'events'>) =>
  webhook.events.map((eventType) => ({ url: webhook.url, eventType }));

export const toWebhookView = (record: WebhookRecord): Webhook => ({
  id: record.id,
  name: record.name,
  url: record.url,
  events: [...record.events],
  ...(record.filters && { filters: Object.fromEntries(Object.entries(record.filters).map(([k, v]) => [k, [...v]])) }),
  enabled: record.enabled,
  ...(record.disabledReason !== undefined && { disabledReason: record.disabledReason }),
  ...(record.disabledAt !== undefined && { disabledAt: record.disabledAt }),
  ...(record.description !== undefined && { description: record.description }),
  ...(record.metadata && { metadata: { ...record.metadata } }),
  createdAt: record.createdAt,
  updatedAt: record.updatedAt,
});

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const generateSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64');

/** The secrets deliveries are signed with at `now`: the newest first, then those still in their overlap. */
export const signingSecrets = (webhook: Pick<WebhookRecord, 'secret' | 'previousSecrets'>, now: Date): string[] => [
  webhook.secret,
  ...(webhook.previousSecrets ?? [])
    .filter((previous) => Date.parse(previous.expiresAt) > now.getTime())
    .map((previous) => previous.secret),
];

import { randomBytes } from 'node:crypto';
import { type EndpointHealth, SECRET_PREFIX, type Webhook } from '../contracts/webhook.schema.js';

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
  /** Set while the endpoint's circuit is open: its deliveries are held, and one attempt is let through at `probeAt`. */
  readonly circuit?: Circuit;
  /** Its deliveries go to the slow lane until then: it left an answer past the shared lane's deadline (see DeliveryWorker). */
  readonly slowLaneUntil?: string;
  /**
   * Until then no worker sends it more from the shared lane: a request to it had waited a quarter of the shared
   * lane's deadline unanswered, and the deadline decides whether it is slow (see DeliveryWorker).
   */
  readonly stalledUntil?: string;
  /** At most this many attempts per second, spaced 1/rate apart (see DeliveryWorker). */
  readonly rateLimitPerSecond?: number;
  /** With a rate limit: the first free send slot (epoch ms); each attempt reserves the next. */
  readonly nextSendAt?: number;
  readonly description?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** The signing secrets and the values of the endpoint's own headers, sealed (see StoredCredentials). */
  readonly credentials: StoredCredentials;
  /** The names of the endpoint's own headers, as given; their values are in the credentials. */
  readonly headerNames?: readonly string[];
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What only the delivery worker and the write API may read: the signing secrets and the endpoint's own header values. */
export interface WebhookCredentials {
  /** The newest signing secret. */
  readonly secret: string;
  /** Secrets replaced by a rotation, still signing deliveries until they expire. */
  readonly previousSecrets?: readonly { readonly secret: string; readonly expiresAt: string }[];
  /** Sent with every delivery (authentication for the endpoint: `Authorization`, `X-Api-Key`...). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Credentials as stored: sealed by a CredentialsVault (authenticated encryption bound to the webhook), or in
 * plaintext in records written before credentials were encrypted, which are sealed on their next write.
 */
export type StoredCredentials = { readonly sealed: string } | { readonly plaintext: WebhookCredentials };

/** An open circuit (see DeliveryWorker): since when, when the next attempt is let through, and the cool-off that led there. */
export interface Circuit {
  readonly openedAt: string;
  readonly probeAt: string;
  readonly coolOffSeconds: number;
  /** While a probe is in flight: when its lease lapses (a worker that died mid-probe holds it no longer). */
  readonly probeLeaseUntil?: string;
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
  health: endpointHealth(record),
  ...(record.rateLimitPerSecond !== undefined && { rateLimitPerSecond: record.rateLimitPerSecond }),
  ...(record.description !== undefined && { description: record.description }),
  ...(record.metadata && { metadata: { ...record.metadata } }),
  ...(record.headerNames && { headerNames: [...record.headerNames] }),
  createdAt: record.createdAt,
  updatedAt: record.updatedAt,
});

const endpointHealth = (record: WebhookRecord): EndpointHealth => {
  const run = {
    ...(record.failingSince !== undefined && { failingSince: record.failingSince }),
    ...(record.consecutiveFailures !== undefined && { consecutiveFailures: record.consecutiveFailures }),
  };
  if (!record.enabled) return { state: 'disabled', ...run };
  const lane = record.slowLaneUntil !== undefined ? { slowLaneUntil: record.slowLaneUntil } : {};
  if (record.circuit) {
    return { state: 'circuit_open', ...run, circuitOpenedAt: record.circuit.openedAt, nextProbeAt: record.circuit.probeAt, ...lane };
  }
  return record.failingSince === undefined ? { state: 'healthy', ...lane } : { state: 'failing', ...run, ...lane };
};

/** Why the webhook's deliveries go to the slow lane at `now`, if they do. */
export const slowLaneReason = (
  webhook: Pick<WebhookRecord, 'circuit' | 'slowLaneUntil' | 'stalledUntil'>,
  now: Date,
): 'circuit_open' | 'slow_endpoint' | 'requests_unanswered' | undefined => {
  const until = (time: string | undefined) => time !== undefined && Date.parse(time) > now.getTime();
  if (webhook.circuit) return 'circuit_open';
  if (until(webhook.slowLaneUntil)) return 'slow_endpoint';
  if (until(webhook.stalledUntil)) return 'requests_unanswered';
  return undefined;
};

/** Whether the webhook's deliveries go to the slow lane at `now`: it answers slowly or not at all, or its circuit is open. */
export const inSlowLane = (webhook: Pick<WebhookRecord, 'circuit' | 'slowLaneUntil' | 'stalledUntil'>, now: Date): boolean =>
  slowLaneReason(webhook, now) !== undefined;

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const generateSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64');

/** The secrets deliveries are signed with at `now`: the newest first, then those still in their overlap. */
export const signingSecrets = (webhook: Pick<WebhookCredentials, 'secret' | 'previousSecrets'>, now: Date): string[] => [
  webhook.secret,
  ...(webhook.previousSecrets ?? [])
    .filter((previous) => Date.parse(previous.expiresAt) > now.getTime())
    .map((previous) => previous.secret),
];

import type { Circuit, WebhookRecord } from './webhook.js';

/**
 * The ports the domain needs. Adapters in functions/adapters implement them; nothing here knows about AWS.
 */
export interface WebhookPage {
  readonly items: readonly WebhookRecord[];
  /** Id of the last item when more items follow, else undefined. */
  readonly lastId?: string;
}

export interface WebhookRepository {
  /** Stores a new webhook. Throws ConflictError when another webhook of the tenant has one of its (url, event) pairs. */
  create(webhook: WebhookRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<WebhookRecord | undefined>;
  /** Newest first. `afterId` continues after the webhook with that id. */
  list(tenantId: string, page: { limit: number; afterId?: string }): Promise<WebhookPage>;
  /**
   * Writes what differs between `previous` and `next`, and only that: a property both hold alike keeps whatever
   * the workers wrote meanwhile (failure run, circuit, slow lane, send slot: they do not change the version).
   * Throws StaleVersionError when the stored version is no longer `previous.version`, ConflictError when a new
   * (url, event) pair belongs to another webhook.
   */
  update(next: WebhookRecord, previous: WebhookRecord): Promise<void>;
  /** Deletes and returns the webhook, or undefined when it does not exist. */
  delete(tenantId: string, id: string): Promise<WebhookRecord | undefined>;
  /** Enabled webhooks of the tenant subscribed to the event type: the delivery fan-out. */
  findSubscribers(tenantId: string, eventType: string): Promise<WebhookRecord[]>;
  /** Disables the webhook with a reason, whatever its version; false when it no longer exists or already was. */
  disable(tenantId: string, id: string, reason: { reason: string; at: string }): Promise<boolean>;
  /** Counts a failed attempt into the webhook's failure run; returns the run, or undefined when the webhook is gone. */
  recordFailure(tenantId: string, id: string, at: string): Promise<{ failingSince: string; consecutiveFailures: number } | undefined>;
  /** Ends the webhook's failure run and closes its circuit (a delivery succeeded). */
  clearFailures(tenantId: string, id: string): Promise<void>;
  /** Opens the webhook's circuit unless it is open; true when this call opened it. */
  openCircuit(tenantId: string, id: string, circuit: Circuit): Promise<boolean>;
  /** Replaces the open circuit (a probe failed: a longer cool-off); false when it is closed or the webhook gone. */
  reopenCircuit(tenantId: string, id: string, circuit: Circuit): Promise<boolean>;
  /**
   * Takes the probe of the open circuit whose `probeAt` is still `probe.probeAt`, unless another probe's lease runs
   * at `probe.at`, and leases it until `probe.leaseUntil`; false when another worker holds it or the circuit changed.
   */
  takeProbe(tenantId: string, id: string, probe: { probeAt: string; at: string; leaseUntil: string }): Promise<boolean>;
  /**
   * Rate limit: moves the webhook's next free send slot (`nextSendAt`, epoch ms) on by `intervalMs`, atomically;
   * returns the new value, or undefined when the webhook is gone.
   */
  advanceSendSlot(tenantId: string, id: string, intervalMs: number): Promise<number | undefined>;
  /** Rate limit: sets `nextSendAt` to `next` if it is still `seen` (undefined: unset); false when another worker moved it. */
  restartSendSlots(tenantId: string, id: string, slots: { seen: number | undefined; next: number }): Promise<boolean>;
  /**
   * Sends the webhook's deliveries to the slow lane until `until` (ISO time), unless they already go there longer;
   * false when it is gone or already held longer.
   */
  holdInSlowLane(tenantId: string, id: string, until: string): Promise<boolean>;
  /**
   * Marks the webhook stalled until `until` (see WebhookRecord.stalledUntil), unless a mark still runs at `at`;
   * false when it is gone or already marked.
   */
  markStalled(tenantId: string, id: string, mark: { at: string; until: string }): Promise<boolean>;
  /** Sends the webhook's deliveries back to the shared lane (an answer in the slow lane came within the deadline). */
  leaveSlowLane(tenantId: string, id: string): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  webhookId(): string;
  deliveryId(): string;
  eventId(): string;
}

/**
 * Authenticated encryption of what a webhook must keep secret at rest. `context` names what the plaintext belongs
 * to: a sealed value opens only with the context it was sealed with, so it cannot be moved to another webhook.
 */
export interface CredentialsVault {
  seal(plaintext: string, context: string): Promise<string>;
  /** Throws when `sealed` was not sealed by this vault's keys with `context`, or was altered. */
  open(sealed: string, context: string): Promise<string>;
}

import type { FailureReason } from '../../contracts/metrics.js';
import type { DeliveryAttempt, DeliveryJob, DeliveryStatus, WebhookPayload } from '../../contracts/delivery.schema.js';

/** A delivery as stored: one event addressed to one webhook, with every attempt made. */
export interface DeliveryRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly webhookId: string;
  readonly event: WebhookPayload;
  readonly status: DeliveryStatus;
  readonly attempts: readonly DeliveryAttempt[];
  readonly nextAttemptAt?: string;
  readonly lastError?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface DeliveryKey {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly deliveryId: string;
}

export interface DeliveryProgress {
  readonly status: DeliveryStatus;
  readonly nextAttemptAt?: string;
  readonly lastError?: string;
}

/** The outcome of claiming an attempt of a delivery (see DeliveryRepository.claimAttempt). */
export type AttemptClaim =
  /** The caller makes the attempt; `delivery` is the record as it stands. */
  | { readonly kind: 'claimed'; readonly delivery: DeliveryRecord }
  /** The attempt is already recorded. */
  | { readonly kind: 'made' }
  /** Another worker holds the claim until `until`; if it has not recorded the attempt by then, it can be claimed again. */
  | { readonly kind: 'held'; readonly until: Date }
  /** The delivery is past its retention. */
  | { readonly kind: 'expired' };

export interface DeliveryRepository {
  /** Stores a new delivery; when one with the same id exists, leaves it untouched and returns it. */
  createIfAbsent(delivery: DeliveryRecord): Promise<{ created: boolean; delivery: DeliveryRecord }>;
  get(key: DeliveryKey): Promise<DeliveryRecord | undefined>;
  /** Newest first. */
  list(
    tenantId: string,
    webhookId: string,
    page: { limit: number; afterId?: string; status?: DeliveryStatus },
  ): Promise<{ items: DeliveryRecord[]; lastId?: string }>;
  /**
   * Claims attempt `attempt` for the caller until `until`, atomically, so two copies of one job (an event published
   * twice, a queue message delivered twice) never make the same attempt at once. A claim lapses at `until`, so a
   * worker that dies mid-attempt holds nothing up for longer. A delivery not stored yet is created, pending, with
   * `event`: the first claim is what records a fanned-out delivery.
   */
  claimAttempt(key: DeliveryKey, event: WebhookPayload, attempt: number, until: Date): Promise<AttemptClaim>;
  /**
   * Gives up the caller's claim on attempt `attempt` without recording it (the job moves to another lane), so the
   * next copy claims it at once instead of waiting for the claim to lapse. Nothing happens once the attempt is made.
   */
  releaseClaim(key: DeliveryKey, attempt: number): Promise<void>;
  /** Appends an attempt and moves the delivery on. */
  recordAttempt(key: DeliveryKey, attempt: DeliveryAttempt, progress: DeliveryProgress): Promise<void>;
  /** Moves the delivery on without an attempt (its webhook deleted or disabled). */
  updateProgress(key: DeliveryKey, progress: DeliveryProgress): Promise<void>;
  /**
   * Marks the delivery pending once attempt `attempt` is queued (a manual retry, recover, a DLQ redrive), unless
   * that attempt is recorded already: a worker that made it before the mark keeps its outcome. The last error
   * stays. A delivery not stored (or past retention) is left alone.
   */
  markPending(key: DeliveryKey, attempt: number): Promise<void>;
}

/**
 * The publications of event ids a producer gave: what makes a republished id address the deliveries of its first
 * publication (their ids derive from the event's time), however far apart the publishes are.
 */
export interface PublishedEventLedger {
  /**
   * Records that the tenant's event `eventId` was published at `timestamp`, unless a publication of that id is
   * retained (as long as deliveries are); returns the timestamp of the retained publication, or `timestamp`.
   */
  firstPublication(tenantId: string, eventId: string, timestamp: string): Promise<string>;
}

/** The delivery queues, shared and slow lane: one message per attempt. */
export interface DeliveryJobQueue {
  /**
   * Queues jobs, each on its lane's queue (DeliveryJob.lane), visible after `delaySeconds` or a job's `notBefore`,
   * whichever is later, as far as the queue's own maximum delay reaches (see DeliveryJob.notBefore).
   */
  enqueue(jobs: readonly DeliveryJob[], delaySeconds?: number): Promise<void>;
}

/** Where deliveries go when every attempt failed: the delivery DLQ, with their history. */
export interface DeadLetterSink {
  deadLetter(entry: { job: DeliveryJob; attempts: readonly DeliveryAttempt[]; lastError: string; at: string }): Promise<void>;
}

/** Where published events that fail validation are kept, with the reasons. */
export interface RejectedEventSink {
  reject(entry: { event: unknown; reasons: readonly string[]; at: string }): Promise<void>;
}

export interface DeliveryLogger {
  /** Written only when the function's log level is DEBUG (POWERTOOLS_LOG_LEVEL). */
  debug(message: string, fields: Record<string, unknown>): void;
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/** What the pipeline counts and times; an adapter turns it into CloudWatch metrics. */
export interface DeliveryMetrics {
  eventReceived(): void;
  eventRejected(): void;
  /** `eventAgeMs`: from the event's timestamp to its delivery (end-to-end age), for successes. */
  attemptSucceeded(durationMs: number, eventAgeMs: number): void;
  attemptFailed(reason: FailureReason, durationMs: number): void;
  retryScheduled(): void;
  deadLettered(): void;
  endpointDisabled(): void;
  /** An endpoint's circuit opened (not its re-openings after a failed probe). */
  circuitOpened(): void;
  /** A job was held back, not attempted, because its endpoint's circuit is open. */
  deliveryHeld(): void;
  /** A job was queued again to wait for its send slot under the webhook's rate limit. */
  deliveryThrottled(): void;
  /** A job went to the slow lane: its endpoint is in it, or left the job unanswered past the shared lane's deadline. */
  deliveryMovedToSlowLane(): void;
}

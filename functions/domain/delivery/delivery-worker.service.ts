import type { DeliveryAttempt, DeliveryJob } from '../../contracts/delivery.schema.js';
import type { Clock, CredentialsVault, WebhookRepository } from '../ports.js';
import { openCredentials } from '../credentials.js';
import {
  deliveryExhaustedEventType,
  findEventType,
  webhookCircuitOpenedEventType,
  webhookDisabledEventType,
} from '../../contracts/event-catalogue.js';
import { FailureReason } from '../../contracts/metrics.js';
import type {
  DeadLetterSink,
  DeliveryJobQueue,
  DeliveryKey,
  DeliveryLogger,
  DeliveryMetrics,
  DeliveryRepository,
} from './delivery.ports.js';
import { nextRetryDelaySeconds, parseRetryAfter, type RetryPolicy } from './retry-policy.js';
import type { SendResult, WebhookSender } from './sender.port.js';
import { type Circuit, inSlowLane, signingSecrets, slowLaneReason, type WebhookRecord } from '../webhook.js';
import type { FanOut } from './fan-out.js';
import { deliveryHeaders } from './signing.js';

/** SQS's longest DelaySeconds; longer waits carry `notBefore` and are parked with visibility timeouts. */
export const MAX_QUEUE_DELAY_SECONDS = 900;
/**
 * The longest park: SQS caps a message's visibility at 12 hours counted from its receive, and the park happens
 * within the invocation that received it, which lasts at most Lambda's 15 minutes.
 */
export const MAX_PARK_SECONDS = 43_200 - 900;
/** Beyond the longest POST, how long a claim on an attempt lasts: time to record it and queue what follows. */
export const ATTEMPT_CLAIM_MARGIN_SECONDS = 30;
/** A rate-limited job whose send slot is at most this far off waits for it in the worker; a later one is queued again. */
export const MAX_SEND_SLOT_WAIT_MS = 1000;
/**
 * Send slots are 1/rate apart plus this share: a send that starts late (a busy worker) then still never puts more
 * than `rate` sends in a second with those that start on time, up to a lateness of this share of a second; a job
 * back from the queue later than that takes a fresh slot.
 */
export const SEND_SLOT_MARGIN = 0.05;
/** Conditional writes a worker makes for one send slot before it gives up and lets the queue retry the job. */
const MAX_SEND_SLOT_TRIES = 5;

/** How long a worker holds an attempt (see DeliveryRepository.claimAttempt) whose POST may last `sendTimeoutMs`. */
export const attemptClaimSeconds = (sendTimeoutMs: number): number =>
  Math.ceil(sendTimeoutMs / 1000) + ATTEMPT_CLAIM_MARGIN_SECONDS;

export type JobOutcome =
  /** The job is finished (delivered, retried by a new job, dead-lettered, or dropped); delete its message. */
  | { readonly kind: 'done' }
  /** Not due yet: hide the message this many seconds and leave it on the queue. */
  | { readonly kind: 'park'; readonly seconds: number };

/** The circuit breaker's settings: see DeliveryWorker. */
export interface CircuitBreakerPolicy {
  /** Consecutive failed attempts that open an endpoint's circuit. */
  readonly failureThreshold: number;
  /** The first wait before a probe; it doubles after each failed probe, up to `maxCoolOffSeconds`. */
  readonly coolOffSeconds: number;
  readonly maxCoolOffSeconds: number;
}

export const DEFAULT_CIRCUIT_BREAKER_POLICY: CircuitBreakerPolicy = { failureThreshold: 5, coolOffSeconds: 30, maxCoolOffSeconds: 600 };

/** The slow lane's settings: see DeliveryWorker. */
export interface SlowLanePolicy {
  /** How long a request of the shared lane waits for an answer before its job moves to the slow lane. */
  readonly deadlineMs: number;
  /** The longest an endpoint stays in the slow lane after its last answer slower than the deadline. */
  readonly holdSeconds: number;
}

export const DEFAULT_SLOW_LANE_POLICY: SlowLanePolicy = { deadlineMs: 2000, holdSeconds: 3600 };
/**
 * Once a request of the shared lane to an endpoint has waited this share of the deadline without an answer, no
 * worker sends that endpoint more from the shared lane until the deadline has decided: the worker stops at once,
 * and marks the endpoint stalled on its item for the others and the router. Its next jobs go to the slow lane
 * unsent (nothing is abandoned, so nothing is repeated); only those already sent can hold shared workers.
 */
export const STALLED_SHARE = 0.25;

/** Whether a job may be attempted now, as far as its endpoint's circuit goes. */
type Verdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'failed'; readonly error: string; readonly retryAfterSeconds?: number };

/**
 * Makes one delivery attempt per job: signs and POSTs the event, records the attempt, and decides what follows.
 * 2xx: delivered. 410: the receiver is gone for good, so the webhook is disabled. Anything else (3xx, 4xx, 5xx,
 * timeouts, connection errors, blocked destinations) is retried on the schedule, honouring Retry-After; after the
 * last attempt the delivery is dead-lettered with its history. Receiver failures are outcomes, not exceptions:
 * only infrastructure errors throw, and then the queue redelivers the job.
 *
 * Circuit breaker: after `failureThreshold` failed attempts in a row, the endpoint's circuit opens. Its jobs are then
 * held, not attempted: queued again for after the next probe time, spread over the cool-off, so they are neither
 * lost nor counted as failed attempts, and a dead endpoint no longer holds workers for its timeouts. At the probe
 * time one job (the first to take the probe) is attempted: a success closes the circuit, a failure doubles the
 * cool-off (up to `maxCoolOffSeconds`). Probes are real attempts, so the retry schedule and auto-disable keep
 * their meaning.
 *
 * Slow lane: a request of the shared lane that has no answer within `slowLane.deadlineMs` is abandoned, and its
 * job moves, neither recorded nor counted as failed, to the slow lane's queue, whose consumer has concurrency of its
 * own and waits for the full request timeout. The endpoint stays in the slow lane until an answer there comes
 * within the deadline, for at most `holdSeconds` after its last slower one, and for as long as its circuit is open:
 * the jobs of the shared lane for it are passed on to the slow lane unattempted. So no request of the shared lane
 * lasts longer than the deadline, and a slow or hanging endpoint holds up only the slow lane. The abandoned request
 * may still reach the receiver: the slow lane's attempt then repeats it, with the same delivery id and `webhook-id`.
 */
export class DeliveryWorker {
  /**
   * The shared lane's requests in flight in this worker, by webhook, with when each was sent: while one has waited
   * STALLED_SHARE of the deadline without an answer, the endpoint's next jobs go to the slow lane unsent; when one is
   * cut off at the deadline, the others to that endpoint are cut off at once rather than each at its own deadline.
   */
  private readonly sharedLaneInFlight = new Map<string, Map<AbortController, number>>();

  constructor(
    private readonly deps: {
      readonly webhooks: Pick<
        WebhookRepository,
        | 'get'
        | 'disable'
        | 'recordFailure'
        | 'clearFailures'
        | 'openCircuit'
        | 'reopenCircuit'
        | 'takeProbe'
        | 'advanceSendSlot'
        | 'restartSendSlots'
        | 'holdInSlowLane'
        | 'leaveSlowLane'
        | 'markStalled'
      >;
      readonly deliveries: DeliveryRepository;
      readonly jobs: DeliveryJobQueue;
      readonly deadLetters: DeadLetterSink;
      readonly sender: WebhookSender;
      /** Opens the webhook's signing secrets and header values for each attempt. */
      readonly vault: CredentialsVault;
      readonly clock: Clock;
      readonly retryPolicy: RetryPolicy;
      /** How long a worker holds the attempt it is making; see attemptClaimSeconds. */
      readonly attemptClaimSeconds: number;
      /** Auto-disable: a webhook whose every attempt failed for this long, with at least this many failures. */
      readonly health: { readonly disableAfterSeconds: number; readonly minFailures: number };
      readonly circuitBreaker: CircuitBreakerPolicy;
      /** Without it, there is one lane, and requests wait for the sender's timeout. */
      readonly slowLane?: SlowLanePolicy;
      /** Delivers the platform's operational events (webhook.disabled, delivery.exhausted). */
      readonly fanOut: Pick<FanOut, 'deliver'>;
      readonly logger: DeliveryLogger;
      readonly metrics: DeliveryMetrics;
      readonly random?: () => number;
      /** Waits for a send slot less than MAX_SEND_SLOT_WAIT_MS away. */
      readonly sleep?: (ms: number) => Promise<void>;
    },
  ) {}

  async process(job: DeliveryJob): Promise<JobOutcome> {
    let now = this.deps.clock.now();
    if (job.notBefore !== undefined && job.notBefore > now.getTime()) {
      return { kind: 'park', seconds: Math.ceil((job.notBefore - now.getTime()) / 1000) };
    }
    const key: DeliveryKey = { tenantId: job.tenantId, webhookId: job.webhookId, deliveryId: job.deliveryId };
    const fields = { ...key, eventId: job.event.id, eventType: job.event.type, attempt: job.attempt };
    const webhook = await this.deps.webhooks.get(job.tenantId, job.webhookId);
    const { slowLane } = this.deps;
    const endpointKey = `${job.tenantId}/${job.webhookId}`;
    if (slowLane && job.lane === undefined && webhook?.enabled) {
      const reason = slowLaneReason(webhook, now) ?? (this.stalled(endpointKey, slowLane, now) ? 'requests_unanswered' : undefined);
      if (reason !== undefined) {
        await this.deps.jobs.enqueue([{ ...job, lane: 'slow' }]);
        this.deps.metrics.deliveryMovedToSlowLane();
        this.deps.logger.info('delivery moved to the slow lane', { ...fields, reason });
        return { kind: 'done' };
      }
    }
    // Held before it is claimed: a held job is not an attempt, so nothing is recorded or counted as failed.
    const circuit = webhook?.enabled ? webhook.circuit : undefined;
    if (circuit && now.getTime() < Date.parse(circuit.probeAt)) {
      return this.holdBehindCircuit(job, webhook!, Date.parse(circuit.probeAt), circuit.coolOffSeconds, now, fields);
    }
    if (circuit?.probeLeaseUntil !== undefined && now.getTime() < Date.parse(circuit.probeLeaseUntil)) {
      // Another job is the probe: back after one cool-off, when the probe has most likely closed or re-opened the circuit.
      return this.holdBehindCircuit(job, webhook!, now.getTime() + circuit.coolOffSeconds * 1000, circuit.coolOffSeconds, now, fields);
    }
    // A slot reserved earlier holds only while the job is on time: one that came back late from the queue would
    // start in the same second as the slots after it, so it takes a fresh slot instead.
    const reserved = job.sendAt !== undefined && now.getTime() - job.sendAt <= SEND_SLOT_MARGIN * 1000 ? job.sendAt : undefined;
    let sendAt =
      webhook?.enabled && webhook.rateLimitPerSecond !== undefined ? (reserved ?? (await this.reserveSendSlot(webhook, now))) : undefined;
    if (sendAt !== undefined && sendAt - now.getTime() > MAX_SEND_SLOT_WAIT_MS) return this.queueForSlot(job, webhook, sendAt, now);
    // Claimed before anything is sent: two copies of this job (an event published twice, a message received
    // twice) must not both POST. A copy arriving while the claim is held waits for it to be kept or to lapse.
    const claim = await this.deps.deliveries.claimAttempt(
      key,
      job.event,
      job.attempt,
      new Date(now.getTime() + this.deps.attemptClaimSeconds * 1000),
    );
    if (claim.kind === 'made') {
      this.deps.logger.info('duplicate job dropped: attempt already made', fields);
      return { kind: 'done' };
    }
    if (claim.kind === 'held') {
      this.deps.logger.info('duplicate job parked: attempt in progress elsewhere', fields);
      return { kind: 'park', seconds: Math.ceil((claim.until.getTime() - now.getTime()) / 1000) };
    }
    if (claim.kind === 'expired') {
      this.deps.logger.warn('job dropped: its delivery is past retention', fields);
      return { kind: 'done' };
    }
    const { delivery } = claim;
    if (!webhook || !webhook.enabled) {
      const lastError = webhook ? 'webhook_disabled' : 'webhook_deleted';
      await this.deps.deliveries.updateProgress(key, { status: 'failed', lastError });
      this.deps.logger.info('delivery stopped', { ...fields, reason: lastError });
      return { kind: 'done' };
    }
    // Credentials that cannot be opened (the key service unreachable) fail the job before anything is sent or
    // taken (the circuit's probe), and the claim is given up so that the message's next receive can make the attempt.
    const credentials = await openCredentials(this.deps.vault, webhook).catch(async (error: unknown) => {
      await this.deps.deliveries.releaseClaim(key, job.attempt);
      throw error;
    });
    // The probe is taken only by a job that makes its attempt: one dropped as a duplicate, parked or throttled
    // above would hold the probe's lease with no request, and keep the circuit from closing until it lapsed.
    const probing = circuit !== undefined;
    if (circuit && !(await this.takeProbe(webhook, circuit, now))) {
      // Another job took it since the webhook was read.
      await this.deps.deliveries.releaseClaim(key, job.attempt);
      return this.holdBehindCircuit(job, webhook, now.getTime() + circuit.coolOffSeconds * 1000, circuit.coolOffSeconds, now, fields);
    }

    // Waited out right before the POST, after the claim, so that the send starts as close to its slot as it can. A
    // wait that overran its slot by more than the margin (a busy worker) would crowd the slots after it: the job
    // takes a fresh slot instead, and gives up its claim if that one is too far off to wait for.
    while (sendAt !== undefined && sendAt > now.getTime()) {
      await (this.deps.sleep ?? sleep)(sendAt - now.getTime());
      now = this.deps.clock.now();
      if (now.getTime() - sendAt <= SEND_SLOT_MARGIN * 1000) break;
      sendAt = await this.reserveSendSlot(webhook, now);
      if (sendAt - now.getTime() > MAX_SEND_SLOT_WAIT_MS) {
        await this.deps.deliveries.releaseClaim(key, job.attempt);
        return this.queueForSlot(job, webhook, sendAt, now);
      }
    }
    const body = JSON.stringify(job.event);
    const timestampSeconds = Math.floor(now.getTime() / 1000);
    // The shared lane's requests have a deadline; the slow lane's wait for the sender's timeout.
    const deadlineMs = slowLane && job.lane === undefined ? slowLane.deadlineMs : undefined;
    const cutOff = deadlineMs === undefined ? undefined : new AbortController();
    const inFlight = this.sharedLaneInFlight.get(endpointKey) ?? new Map<AbortController, number>();
    if (cutOff) this.sharedLaneInFlight.set(endpointKey, inFlight.set(cutOff, now.getTime()));
    // Past STALLED_SHARE of the deadline unanswered, the endpoint is marked stalled on its item too, so that no
    // worker sends it more from the shared lane until the deadline has decided. A failed mark only loses that: it
    // must not fail a job whose POST may have been answered.
    let marking: Promise<unknown> | undefined;
    const stallTimer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            const at = this.deps.clock.now();
            const mark = { at: at.toISOString(), until: new Date(at.getTime() + deadlineMs).toISOString() };
            marking = this.deps.webhooks.markStalled(webhook.tenantId, webhook.id, mark).catch((error: unknown) => {
              this.deps.logger.warn('could not mark the endpoint stalled', { ...fields, error: String(error) });
            });
          }, deadlineMs * STALLED_SHARE);
    const result = await this.deps.sender.send({
      url: webhook.url,
      body,
      ...(deadlineMs !== undefined && { deadlineMs }),
      ...(cutOff && { cutOff: cutOff.signal }),
      // The endpoint's own headers cannot name the platform's (the API refuses them); the platform's win regardless.
      headers: {
        ...credentials.headers,
        ...deliveryHeaders({
          secrets: signingSecrets(credentials, now),
          eventId: job.event.id,
          deliveryId: job.deliveryId,
          attempt: job.attempt,
          timestampSeconds,
          body,
        }),
      },
    });
    clearTimeout(stallTimer);
    await marking;
    if (cutOff) {
      inFlight.delete(cutOff);
      if (inFlight.size === 0) this.sharedLaneInFlight.delete(endpointKey);
    }
    if (result.kind === 'cut_off') {
      if (!slowLane) throw new Error('the sender cut off a request that had no deadline');
      for (const sibling of inFlight.keys()) sibling.abort();
      // Released before the move: the slow lane's copy claims the attempt at once instead of waiting for the claim.
      await this.holdInSlowLane(webhook, slowLane, now);
      await this.deps.deliveries.releaseClaim(key, job.attempt);
      await this.deps.jobs.enqueue([{ ...withoutSendSlot(job), lane: 'slow' }]);
      this.deps.metrics.deliveryMovedToSlowLane();
      this.deps.logger.warn('delivery moved to the slow lane: no answer within the deadline', {
        ...fields,
        deadlineMs,
        durationMs: Math.round(result.durationMs),
      });
      return { kind: 'done' };
    }
    // In the slow lane, each answer slower than the shared lane's deadline holds the endpoint there for another
    // hold; one within it sends the endpoint back to the shared lane.
    if (slowLane && job.lane === 'slow') {
      if (result.durationMs > slowLane.deadlineMs) await this.holdInSlowLane(webhook, slowLane, now);
      else if (webhook.slowLaneUntil !== undefined) await this.deps.webhooks.leaveSlowLane(webhook.tenantId, webhook.id);
    }
    const verdict = judge(result, now);
    const attempt: DeliveryAttempt = {
      attempt: job.attempt,
      at: now.toISOString(),
      durationMs: Math.round(result.durationMs),
      ...(result.kind === 'response' && { statusCode: result.statusCode }),
      ...(result.kind === 'response' && result.bodySnippet !== '' && { responseSnippet: result.bodySnippet }),
      ...(verdict.kind === 'failed' && { error: verdict.error }),
    };
    this.deps.logger.info('delivery attempt', {
      ...fields,
      outcome: verdict.kind,
      ...(attempt.statusCode !== undefined && { statusCode: attempt.statusCode }),
      ...(attempt.error !== undefined && { error: attempt.error }),
      durationMs: attempt.durationMs,
    });

    if (verdict.kind === 'delivered') {
      await this.deps.deliveries.recordAttempt(key, attempt, { status: 'succeeded' });
      if (webhook.failingSince !== undefined || webhook.circuit) await this.deps.webhooks.clearFailures(job.tenantId, job.webhookId);
      if (webhook.circuit) {
        this.deps.logger.info('circuit closed', { tenantId: webhook.tenantId, webhookId: webhook.id, openedAt: webhook.circuit.openedAt });
      }
      this.deps.metrics.attemptSucceeded(attempt.durationMs, now.getTime() - Date.parse(job.event.timestamp));
      return { kind: 'done' };
    }
    this.deps.metrics.attemptFailed(verdict.kind === 'gone' ? 'http_410' : failureReason(verdict.error), attempt.durationMs);
    if (verdict.kind === 'gone') {
      await this.disable(webhook, `The endpoint answered 410 Gone at ${now.toISOString()}`, now);
      await this.deps.deliveries.recordAttempt(key, { ...attempt, error: 'http_410' }, { status: 'failed', lastError: 'http_410' });
      return { kind: 'done' };
    }
    if (await this.countFailure(webhook, now, verdict.error, probing)) {
      await this.deps.deliveries.recordAttempt(key, attempt, { status: 'failed', lastError: 'webhook_disabled' });
      return { kind: 'done' };
    }

    const delaySeconds = job.manual
      ? undefined
      : nextRetryDelaySeconds(
          this.deps.retryPolicy,
          job.attempt - (job.scheduleOffset ?? 0),
          verdict.retryAfterSeconds,
          this.deps.random,
        );
    // The follow-up (dead letter or next job) is written before the attempt is recorded: if recording fails the
    // job is redelivered and repeated, whereas the other order could record an attempt whose follow-up is lost.
    if (delaySeconds === undefined) {
      if (!job.manual) {
        const attempts = [...delivery.attempts, attempt];
        await this.deps.deadLetters.deadLetter({ job, attempts, lastError: verdict.error, at: now.toISOString() });
        this.deps.metrics.deadLettered();
        this.deps.logger.warn('delivery dead-lettered', { ...fields, lastError: verdict.error, attempts: attempts.length });
        await this.announceExhausted(job, attempts.length, verdict.error, now);
      }
      await this.deps.deliveries.recordAttempt(key, attempt, { status: 'failed', lastError: verdict.error });
      return { kind: 'done' };
    }
    const dueAt = await this.requeue(this.onLane({ ...withoutSendSlot(job), attempt: job.attempt + 1 }, webhook, now), delaySeconds, now);
    this.deps.metrics.retryScheduled();
    await this.deps.deliveries.recordAttempt(key, attempt, {
      status: 'retrying',
      nextAttemptAt: new Date(dueAt).toISOString(),
      lastError: verdict.error,
    });
    return { kind: 'done' };
  }

  /**
   * Reserves the webhook's next send slot, 1/rate seconds after the previous one, or now when the previous one is
   * past (an idle webhook starts again at once, never with a burst of the slots it left unused). Only the worker
   * that moved the next free slot past `now` sends now: a slot the advance hands out in the past (the webhook was
   * idle, or another worker restarted it meanwhile) is nobody's, so the worker tries again from what it saw.
   */
  private async reserveSendSlot(webhook: WebhookRecord, now: Date): Promise<number> {
    const intervalMs = (1000 / webhook.rateLimitPerSecond!) * (1 + SEND_SLOT_MARGIN);
    let seen = webhook.nextSendAt;
    for (let tries = 0; tries < MAX_SEND_SLOT_TRIES; tries += 1) {
      if (seen === undefined || seen <= now.getTime()) {
        const restarted = { seen, next: now.getTime() + intervalMs };
        if (await this.deps.webhooks.restartSendSlots(webhook.tenantId, webhook.id, restarted)) return now.getTime();
      }
      const next = await this.deps.webhooks.advanceSendSlot(webhook.tenantId, webhook.id, intervalMs);
      if (next === undefined) return now.getTime(); // deleted meanwhile: nothing left to space
      if (next - intervalMs >= now.getTime()) return next - intervalMs;
      seen = next;
    }
    throw new Error(`no send slot for webhook ${webhook.id} after ${MAX_SEND_SLOT_TRIES} tries: other workers kept moving it`);
  }

  /** Queues a rate-limited job again for its send slot `sendAt`: back in whole seconds (SQS's delay), a little before it. */
  private async queueForSlot(job: DeliveryJob, webhook: WebhookRecord | undefined, sendAt: number, now: Date): Promise<JobOutcome> {
    await this.requeue(this.onLane({ ...job, sendAt }, webhook, now), Math.floor((sendAt - now.getTime()) / 1000), now);
    this.deps.metrics.deliveryThrottled();
    return { kind: 'done' };
  }

  /** Whether a request of the shared lane to the endpoint has waited STALLED_SHARE of the deadline without an answer. */
  private stalled(endpointKey: string, slowLane: SlowLanePolicy, now: Date): boolean {
    const since = now.getTime() - slowLane.deadlineMs * STALLED_SHARE;
    return [...(this.sharedLaneInFlight.get(endpointKey)?.values() ?? [])].some((sentAt) => sentAt <= since);
  }

  private async holdInSlowLane(webhook: WebhookRecord, slowLane: SlowLanePolicy, now: Date): Promise<void> {
    const until = new Date(now.getTime() + slowLane.holdSeconds * 1000).toISOString();
    await this.deps.webhooks.holdInSlowLane(webhook.tenantId, webhook.id, until);
  }

  /** The job on the lane its webhook is in at `now`. */
  private onLane(job: DeliveryJob, webhook: WebhookRecord | undefined, now: Date): DeliveryJob {
    const { lane: _previous, ...rest } = job;
    return this.deps.slowLane && webhook && inSlowLane(webhook, now) ? { ...rest, lane: 'slow' } : rest;
  }

  /** Queues `job` to be made `delaySeconds` from now: with SQS's delay up to 15 minutes, beyond with its due time. */
  private async requeue(job: DeliveryJob, delaySeconds: number, now: Date): Promise<number> {
    const dueAt = now.getTime() + Math.round(delaySeconds * 1000);
    const { notBefore: _previousDueTime, ...rest } = job;
    const next: DeliveryJob = { ...rest, ...(delaySeconds > MAX_QUEUE_DELAY_SECONDS && { notBefore: dueAt }) };
    await this.deps.jobs.enqueue([next], Math.min(Math.ceil(delaySeconds), MAX_QUEUE_DELAY_SECONDS));
    return dueAt;
  }

  /** Queues the job again for after `untilMs`, spread over the cool-off after it: neither an attempt nor a failure. */
  private async holdBehindCircuit(
    job: DeliveryJob,
    webhook: WebhookRecord,
    untilMs: number,
    coolOffSeconds: number,
    now: Date,
    fields: Record<string, unknown>,
  ): Promise<JobOutcome> {
    const spreadSeconds = (this.deps.random ?? Math.random)() * coolOffSeconds;
    const heldUntil = await this.requeue(this.onLane(withoutSendSlot(job), webhook, now), (untilMs - now.getTime()) / 1000 + spreadSeconds, now);
    this.deps.metrics.deliveryHeld();
    this.deps.logger.info('delivery held: circuit open', { ...fields, heldUntil: new Date(heldUntil).toISOString() });
    return { kind: 'done' };
  }

  /** Takes the probe of the open circuit for this job; false when another job has it. */
  private takeProbe(webhook: WebhookRecord, circuit: Circuit, now: Date): Promise<boolean> {
    // The probe's lease lasts as long as an attempt may: a worker dying mid-probe holds the circuit no longer.
    return this.deps.webhooks.takeProbe(webhook.tenantId, webhook.id, {
      probeAt: circuit.probeAt,
      at: now.toISOString(),
      leaseUntil: new Date(now.getTime() + this.deps.attemptClaimSeconds * 1000).toISOString(),
    });
  }

  /**
   * Counts the failed attempt into the webhook's failure run; opens its circuit at the threshold, or re-opens it
   * with a longer cool-off after a failed probe; disables the webhook once every attempt has failed for the
   * configured span with enough failures (like Svix). True when the webhook is now disabled.
   */
  private async countFailure(webhook: WebhookRecord, now: Date, lastError: string, probing: boolean): Promise<boolean> {
    const run = await this.deps.webhooks.recordFailure(webhook.tenantId, webhook.id, now.toISOString());
    if (!run) return false;
    const failingForMs = now.getTime() - Date.parse(run.failingSince);
    const { disableAfterSeconds, minFailures } = this.deps.health;
    if (failingForMs >= disableAfterSeconds * 1000 && run.consecutiveFailures >= minFailures) {
      await this.disable(
        webhook,
        `Every delivery failed from ${run.failingSince} to ${now.toISOString()} (${run.consecutiveFailures} failed attempts)`,
        now,
      );
      return true;
    }
    const policy = this.deps.circuitBreaker;
    if (probing && webhook.circuit) {
      const coolOffSeconds = Math.min(webhook.circuit.coolOffSeconds * 2, policy.maxCoolOffSeconds);
      const circuit = { openedAt: webhook.circuit.openedAt, probeAt: new Date(now.getTime() + coolOffSeconds * 1000).toISOString(), coolOffSeconds };
      await this.deps.webhooks.reopenCircuit(webhook.tenantId, webhook.id, circuit);
    } else if (!webhook.circuit && run.consecutiveFailures >= policy.failureThreshold) {
      await this.openCircuit(webhook, now, run.consecutiveFailures, lastError);
    }
    return false;
  }

  /** Opens the circuit; the one worker that opened it counts it and tells the tenant's webhook.circuit_opened subscribers. */
  private async openCircuit(webhook: WebhookRecord, now: Date, consecutiveFailures: number, lastError: string): Promise<void> {
    const { coolOffSeconds } = this.deps.circuitBreaker;
    const circuit: Circuit = {
      openedAt: now.toISOString(),
      probeAt: new Date(now.getTime() + coolOffSeconds * 1000).toISOString(),
      coolOffSeconds,
    };
    if (!(await this.deps.webhooks.openCircuit(webhook.tenantId, webhook.id, circuit))) return;
    this.deps.metrics.circuitOpened();
    this.deps.logger.warn('circuit opened', {
      tenantId: webhook.tenantId,
      webhookId: webhook.id,
      consecutiveFailures,
      lastError,
      nextProbeAt: circuit.probeAt,
    });
    await this.deps.fanOut.deliver(
      webhook.tenantId,
      {
        id: `evt_circuit_${webhook.id}_${now.getTime()}`,
        type: webhookCircuitOpenedEventType.name,
        timestamp: circuit.openedAt,
        data: webhookCircuitOpenedEventType.schema.parse({
          webhookId: webhook.id,
          url: webhook.url,
          openedAt: circuit.openedAt,
          nextProbeAt: circuit.probeAt,
          consecutiveFailures,
          lastError,
        }),
      },
      { excludeWebhookId: webhook.id },
    );
  }

  /** Disables the webhook and tells the tenant's other webhooks subscribed to `webhook.disabled`. */
  private async disable(webhook: WebhookRecord, reason: string, now: Date): Promise<void> {
    const disabledAt = now.toISOString();
    if (!(await this.deps.webhooks.disable(webhook.tenantId, webhook.id, { reason, at: disabledAt }))) return;
    this.deps.metrics.endpointDisabled();
    this.deps.logger.warn('webhook disabled', { tenantId: webhook.tenantId, webhookId: webhook.id, reason });
    await this.deps.fanOut.deliver(
      webhook.tenantId,
      {
        id: `evt_disabled_${webhook.id}_${now.getTime()}`,
        type: webhookDisabledEventType.name,
        timestamp: disabledAt,
        data: webhookDisabledEventType.schema.parse({ webhookId: webhook.id, url: webhook.url, reason, disabledAt }),
      },
      { excludeWebhookId: webhook.id },
    );
  }

  /** Tells the tenant's other webhooks subscribed to `delivery.exhausted`; never about operational events themselves. */
  private async announceExhausted(job: DeliveryJob, attempts: number, lastError: string, now: Date): Promise<void> {
    if (findEventType(job.event.type)?.publishedBy !== 'producers') return;
    await this.deps.fanOut.deliver(
      job.tenantId,
      {
        id: `evt_exhausted_${job.deliveryId}`,
        type: deliveryExhaustedEventType.name,
        timestamp: now.toISOString(),
        data: deliveryExhaustedEventType.schema.parse({
          webhookId: job.webhookId,
          deliveryId: job.deliveryId,
          eventId: job.event.id,
          eventType: job.event.type,
          attempts,
          lastError,
        }),
      },
      { excludeWebhookId: job.webhookId },
    );
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The job without the send slot reserved for it: a slot is good for the attempt it was reserved for, now. */
const withoutSendSlot = ({ sendAt: _reserved, ...job }: DeliveryJob): DeliveryJob => job;

const failureReason = (error: string): FailureReason =>
  error === 'destination_blocked' ? 'blocked' : (FailureReason.find((reason) => reason === error) ?? 'connection');

/** What an HTTP result means for the delivery. */
const judge = (result: Exclude<SendResult, { kind: 'cut_off' }>, now: Date): Verdict => {
  if (result.kind === 'error') return { kind: 'failed', error: result.errorClass };
  const status = result.statusCode;
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone' };
  const retryAfterSeconds = status === 429 || status >= 500 ? parseRetryAfter(result.headers['retry-after'], now) : undefined;
  return {
    kind: 'failed',
    error: `http_${Math.floor(status / 100)}xx`,
    ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
  };
};

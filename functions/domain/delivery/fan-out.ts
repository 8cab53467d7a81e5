import type { DeliveryJob, WebhookPayload } from '../../contracts/delivery.schema.js';
import type { Clock, WebhookRepository } from '../ports.js';
import { inSlowLane, type WebhookRecord } from '../webhook.js';
import { deliveryIdFor } from './delivery-id.js';
import type { DeliveryJobQueue } from './delivery.ports.js';
import { matchesFilters } from './filters.js';

export interface FanOutOptions {
  /** The event's attributes, matched against webhook filters. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** A webhook never to deliver to (the one an operational event is about). */
  readonly excludeWebhookId?: string;
}

/**
 * One event to every matching webhook of its tenant: a queued job per webhook, nothing written. The worker's claim
 * on the first attempt records the delivery (see DeliveryRepository.claimAttempt), so fan-out costs one query and
 * a tenth of a SendMessageBatch per webhook. Idempotent: delivery ids derive from (event id, webhook id, event time),
 * so fanning out the same event again addresses the same deliveries, and the worker drops jobs for attempts made
 * (the event router gives a republished id the time of its first publication: see PublishedEventLedger).
 */
export class FanOut {
  constructor(
    private readonly deps: {
      readonly webhooks: Pick<WebhookRepository, 'findSubscribers'>;
      readonly jobs: DeliveryJobQueue;
      /**
       * With it, the job of a webhook in the slow lane at this clock's time is queued on the slow lane (`jobs` must
       * have its queue); without, every job goes to the shared lane, whose worker passes such jobs on.
       */
      readonly slowLaneClock?: Clock;
      /** Spreads the jobs held behind an open circuit over its cool-off (Math.random unless given). */
      readonly random?: () => number;
    },
  ) {}

  async deliver(tenantId: string, event: WebhookPayload, options: FanOutOptions = {}): Promise<void> {
    await this.deps.jobs.enqueue(await this.plan(tenantId, event, options));
  }

  /** The jobs to queue, for a caller that queues many events' jobs together. */
  async plan(tenantId: string, event: WebhookPayload, options: FanOutOptions = {}): Promise<DeliveryJob[]> {
    const subscribers = await this.deps.webhooks.findSubscribers(tenantId, event.type);
    const now = this.deps.slowLaneClock?.now();
    return subscribers
      .filter((webhook) => webhook.id !== options.excludeWebhookId && matchesFilters(webhook.filters, options.attributes))
      .map((webhook) => {
        const job = deliveryJob(tenantId, webhook.id, event);
        if (!now || !inSlowLane(webhook, now)) return job;
        const heldUntil = this.circuitHoldUntil(webhook, now);
        return { ...job, lane: 'slow', ...(heldUntil !== undefined && { notBefore: heldUntil }) };
      });
  }

  /**
   * For a webhook whose circuit is open and not yet due its probe: the probe time plus a spread over the cool-off,
   * as the worker holds a job it finds behind the circuit. Queued delayed until then, the job costs the worker no
   * read and no re-queue before it can be attempted.
   */
  private circuitHoldUntil(webhook: WebhookRecord, now: Date): number | undefined {
    const { circuit } = webhook;
    if (!circuit) return undefined;
    const probeAt = Date.parse(circuit.probeAt);
    if (probeAt <= now.getTime()) return undefined;
    return Math.round(probeAt + (this.deps.random ?? Math.random)() * circuit.coolOffSeconds * 1000);
  }
}

/** The first attempt's job of the delivery of `event` to a webhook, its id derived from (event id, webhook id, event time). */
export const deliveryJob = (tenantId: string, webhookId: string, event: WebhookPayload): DeliveryJob => ({
  deliveryId: deliveryIdFor(event.id, webhookId, new Date(event.timestamp)),
  tenantId,
  webhookId,
  event,
  attempt: 1,
});

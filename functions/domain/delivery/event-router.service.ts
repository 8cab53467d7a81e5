import type * as z from 'zod';
import { findEventType } from '../../contracts/event-catalogue.js';
import { type DeliveryJob, EventBridgeEnvelope, PublishedEventDetail, type WebhookPayload } from '../../contracts/delivery.schema.js';
import type { Clock, WebhookRepository } from '../ports.js';
import type {
  DeliveryJobQueue,
  DeliveryLogger,
  DeliveryMetrics,
  PublishedEventLedger,
  RejectedEventSink,
} from './delivery.ports.js';
import { deliveryJob, FanOut } from './fan-out.js';

export type RouteResult =
  | { readonly kind: 'routed'; readonly eventId: string; readonly queued: number }
  | { readonly kind: 'rejected'; readonly reasons: readonly string[] }
  /** Not routed (a store or queue error): the event stays on the events queue for another try. */
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * The consumer of published events: validates each against the catalogue and fans it out (see FanOut) to the
 * matching webhooks; invalid events are kept, with the reasons, in the rejected-events queue. The same (tenant,
 * event id) is delivered at most once per webhook while deliveries are retained, however far apart it is published.
 */
export class EventRouter {
  private readonly fanOut: FanOut;

  constructor(
    private readonly deps: {
      readonly webhooks: Pick<WebhookRepository, 'findSubscribers'>;
      readonly jobs: DeliveryJobQueue;
      readonly rejected: RejectedEventSink;
      readonly publications: PublishedEventLedger;
      readonly clock: Clock;
      /**
       * Whether `jobs` has the slow lane's queue: then the jobs of webhooks in the slow lane go straight to it, those
       * behind an open circuit delayed until its probe time.
       */
      readonly slowLane: boolean;
      /** Spreads the jobs held behind an open circuit over its cool-off (Math.random unless given). */
      readonly random?: () => number;
      readonly logger: DeliveryLogger;
      readonly metrics: DeliveryMetrics;
    },
  ) {
    this.fanOut = new FanOut({ ...deps, ...(deps.slowLane && { slowLaneClock: deps.clock }) });
  }

  /**
   * Routes the events of one queue batch. Their delivery jobs are queued together, ten per request, rather than
   * per event; if queueing fails, every event that had jobs fails and is routed again on its next receive (the
   * same delivery ids, and workers claim each attempt, so nothing is sent twice). A failing event never holds back
   * the others.
   */
  async routeBatch(messages: readonly unknown[]): Promise<RouteResult[]> {
    const planned = await Promise.all(messages.map((message) => this.plan(message)));
    const jobs = planned.flatMap((plan) => (plan.kind === 'planned' ? plan.jobs : []));
    let queueError: { error: unknown } | undefined;
    try {
      await this.deps.jobs.enqueue(jobs);
    } catch (error) {
      queueError = { error };
    }
    let queuedTotal = 0;
    let heldTotal = 0;
    let unmatched = 0;
    const results = planned.map((plan): RouteResult => {
      if (plan.kind !== 'planned') return plan;
      if (queueError && plan.jobs.length > 0) return { kind: 'failed', error: queueError.error };
      const { payload, detail, jobs: queued } = plan;
      // Jobs of a webhook whose circuit is open go out held until its probe time (see FanOut).
      const held = queued.filter((job) => job.notBefore !== undefined).length;
      for (let count = 0; count < held; count += 1) this.deps.metrics.deliveryHeld();
      queuedTotal += queued.length;
      heldTotal += held;
      if (queued.length === 0) unmatched += 1;
      this.deps.logger.debug('event routed', {
        tenantId: detail.tenantId,
        eventId: payload.id,
        eventType: payload.type,
        queued: queued.length,
        ...(held > 0 && { held }),
      });
      return { kind: 'routed', eventId: payload.id, queued: queued.length };
    });
    // One line per batch, not per event: each delivery's own line is the worker's attempt line.
    const routed = results.filter((result) => result.kind === 'routed').length;
    if (routed > 0) {
      this.deps.logger.info('events routed', {
        events: routed,
        queued: queuedTotal,
        ...(heldTotal > 0 && { held: heldTotal }),
        ...(unmatched > 0 && { unmatched }),
      });
    }
    return results;
  }

  private async plan(message: unknown): Promise<Plan | Exclude<RouteResult, { kind: 'routed' }>> {
    try {
      this.deps.metrics.eventReceived();
      const validated = validate(message, this.deps.clock.now());
      if (validated.kind === 'invalid') {
        this.deps.metrics.eventRejected();
        await this.deps.rejected.reject({ event: message, reasons: validated.reasons, at: this.deps.clock.now().toISOString() });
        this.deps.logger.warn('event rejected', { reasons: validated.reasons });
        return { kind: 'rejected', reasons: validated.reasons };
      }
      const { payload, detail } = validated;
      const jobs = await this.fanOut.plan(detail.tenantId, payload, {
        ...(detail.attributes && { attributes: detail.attributes }),
      });
      // An id the producer gave makes publishing idempotent: the first publication's time, and so its delivery ids.
      // Without one, the id is EventBridge's own, new for each publish. Nothing is recorded for unsubscribed events.
      if (detail.id === undefined || jobs.length === 0) return { kind: 'planned', payload, detail, jobs };
      const firstTimestamp = await this.deps.publications.firstPublication(detail.tenantId, payload.id, payload.timestamp);
      if (firstTimestamp === payload.timestamp) return { kind: 'planned', payload, detail, jobs };
      const first = { ...payload, timestamp: firstTimestamp };
      const republished = jobs.map((job) => ({ ...job, ...deliveryJob(detail.tenantId, job.webhookId, first) }));
      return { kind: 'planned', payload: first, detail, jobs: republished };
    } catch (error) {
      return { kind: 'failed', error };
    }
  }
}

interface Plan {
  readonly kind: 'planned';
  readonly payload: WebhookPayload;
  readonly detail: PublishedEventDetail;
  readonly jobs: readonly DeliveryJob[];
}

type Validation =
  | { readonly kind: 'valid'; readonly payload: WebhookPayload; readonly detail: PublishedEventDetail }
  | { readonly kind: 'invalid'; readonly reasons: string[] };

const describeIssues = (prefix: string, error: z.ZodError) =>
  error.issues.map((issue) => `${[prefix, ...issue.path].join('.')}: ${issue.message}`);

/** Checks the envelope, the event type against the catalogue, the detail and the data against the type's schema. */
const validate = (message: unknown, now: Date): Validation => {
  const envelope = EventBridgeEnvelope.safeParse(message);
  if (!envelope.success) return { kind: 'invalid', reasons: describeIssues('event', envelope.error) };
  const type = envelope.data['detail-type'];
  const eventType = findEventType(type);
  if (!eventType || eventType.publishedBy !== 'producers') {
    return { kind: 'invalid', reasons: [`detail-type: "${type}" is not a publishable event type of the catalogue`] };
  }
  const detail = PublishedEventDetail.safeParse(envelope.data.detail);
  if (!detail.success) return { kind: 'invalid', reasons: describeIssues('detail', detail.error) };
  const data = eventType.schema.safeParse(detail.data.data);
  if (!data.success) return { kind: 'invalid', reasons: describeIssues('detail.data', data.error) };
  const time = Date.parse(envelope.data.time);
  return {
    kind: 'valid',
    detail: detail.data,
    payload: {
      id: detail.data.id ?? envelope.data.id,
      type,
      timestamp: (Number.isNaN(time) ? now : new Date(time)).toISOString(),
      data: data.data,
    },
  };
};

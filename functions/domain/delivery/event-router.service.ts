import type { z } from 'zod';
import { findEventType } from '../../contracts/event-catalogue.js';
import { type DeliveryJob, EventBridgeEnvelope, PublishedEventDetail, type WebhookPayload } from '../../contracts/delivery.schema.js';
import type { Clock, WebhookRepository } from '../ports.js';
import { deliveryIdFor } from './delivery-id.js';
import type {
  DeliveryJobQueue,
  DeliveryLogger,
  DeliveryMetrics,
  DeliveryRepository,
  RejectedEventSink,
} from './delivery.ports.js';
import { matchesFilters } from './filters.js';

export type RouteResult =
  | { readonly kind: 'routed'; readonly eventId: string; readonly deliveries: number; readonly queued: number }
  | { readonly kind: 'rejected'; readonly reasons: readonly string[] };

/**
 * Fan-out: turns one published event into one delivery per matching webhook. Idempotent: the delivery ids are
 * derived from (event id, webhook id), so a repeated publish or a redelivered queue message queues a delivery
 * again only while none of its attempts has been made, and the worker drops jobs for attempts already made.
 */
export class EventRouter {
  constructor(
    private readonly deps: {
      readonly webhooks: Pick<WebhookRepository, 'findSubscribers'>;
      readonly deliveries: DeliveryRepository;
      readonly jobs: DeliveryJobQueue;
      readonly rejected: RejectedEventSink;
      readonly clock: Clock;
      readonly logger: DeliveryLogger;
      readonly metrics: DeliveryMetrics;
    },
  ) {}

  async route(message: unknown): Promise<RouteResult> {
    this.deps.metrics.eventReceived();
    const validated = validate(message, this.deps.clock.now());
    if (validated.kind === 'invalid') {
      this.deps.metrics.eventRejected();
      await this.deps.rejected.reject({ event: message, reasons: validated.reasons, at: this.deps.clock.now().toISOString() });
      this.deps.logger.warn('event rejected', { reasons: validated.reasons });
      return { kind: 'rejected', reasons: validated.reasons };
    }
    const { payload, detail } = validated;
    const subscribers = (await this.deps.webhooks.findSubscribers(detail.tenantId, payload.type)).filter((webhook) =>
      matchesFilters(webhook.filters, detail.attributes),
    );
    const now = this.deps.clock.now().toISOString();
    const eventTime = new Date(payload.timestamp);
    const jobs: DeliveryJob[] = [];
    await Promise.all(
      subscribers.map(async (webhook) => {
        const deliveryId = deliveryIdFor(payload.id, webhook.id, eventTime);
        const { delivery } = await this.deps.deliveries.createIfAbsent({
          id: deliveryId,
          tenantId: detail.tenantId,
          webhookId: webhook.id,
          event: payload,
          status: 'pending',
          attempts: [],
          createdAt: now,
          updatedAt: now,
        });
        if (delivery.attempts.length === 0) {
          jobs.push({ deliveryId, tenantId: detail.tenantId, webhookId: webhook.id, event: payload, attempt: 1 });
        }
      }),
    );
    await this.deps.jobs.enqueue(jobs);
    this.deps.logger.info('event routed', {
      tenantId: detail.tenantId,
      eventId: payload.id,
      eventType: payload.type,
      deliveries: subscribers.length,
      queued: jobs.length,
    });
    return { kind: 'routed', eventId: payload.id, deliveries: subscribers.length, queued: jobs.length };
  }
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
  if (!eventType || !eventType.subscribable) {
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

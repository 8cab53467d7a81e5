import type { DeliveryJob, WebhookPayload } from '../../contracts/delivery.schema.js';
import type { WebhookRepository } from '../ports.js';
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
 * a tenth of a SendMessageBatch per webhook. Idempotent: delivery ids derive from (event id, webhook id), so
 * fanning out the same event again addresses the same deliveries, and the worker drops jobs for attempts made.
 */
export class FanOut {
  constructor(
    private readonly deps: {
      readonly webhooks: Pick<WebhookRepository, 'findSubscribers'>;
      readonly jobs: DeliveryJobQueue;
    },
  ) {}

  async deliver(
    tenantId: string,
    event: WebhookPayload,
    options: FanOutOptions = {},
  ): Promise<{ queued: number }> {
    const jobs = await this.plan(tenantId, event, options);
    await this.deps.jobs.enqueue(jobs);
    return { queued: jobs.length };
  }

  /** The jobs to queue, for a caller that queues many events' jobs together. */
  async plan(tenantId: string, event: WebhookPayload, options: FanOutOptions = {}): Promise<DeliveryJob[]> {
    const subscribers = await this.deps.webhooks.findSubscribers(tenantId, event.type);
    const eventTime = new Date(event.timestamp);
    return subscribers
      .filter((webhook) => webhook.id !== options.excludeWebhookId && matchesFilters(webhook.filters, options.attributes))
      .map((webhook) => ({ deliveryId: deliveryIdFor(event.id, webhook.id, eventTime), tenantId, webhookId: webhook.id, event, attempt: 1 }));
  }
}

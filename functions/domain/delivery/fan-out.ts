import type { DeliveryJob, WebhookPayload } from '../../contracts/delivery.schema.js';
import type { Clock, WebhookRepository } from '../ports.js';
import { deliveryIdFor } from './delivery-id.js';
import type { DeliveryJobQueue, DeliveryRepository } from './delivery.ports.js';
import { matchesFilters } from './filters.js';

export interface FanOutOptions {
  /** The event's attributes, matched against webhook filters. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** A webhook never to deliver to (the one an operational event is about). */
  readonly excludeWebhookId?: string;
}

/**
 * One event to every matching webhook of its tenant: a delivery record and a queued job per webhook. Idempotent:
 * delivery ids derive from (event id, webhook id), so fanning out the same event again queues a delivery only
 * while none of its attempts has been made (and the worker drops jobs for attempts already made).
 */
export class FanOut {
  constructor(
    private readonly deps: {
      readonly webhooks: Pick<WebhookRepository, 'findSubscribers'>;
      readonly deliveries: DeliveryRepository;
      readonly jobs: DeliveryJobQueue;
      readonly clock: Clock;
    },
  ) {}

  async deliver(
    tenantId: string,
    event: WebhookPayload,
    options: FanOutOptions = {},
  ): Promise<{ deliveries: number; queued: number }> {
    const { deliveries, jobs } = await this.plan(tenantId, event, options);
    await this.deps.jobs.enqueue(jobs);
    return { deliveries, queued: jobs.length };
  }

  /** Writes the delivery records and returns the jobs to queue, for a caller that queues many events' jobs together. */
  async plan(tenantId: string, event: WebhookPayload, options: FanOutOptions = {}): Promise<{ deliveries: number; jobs: DeliveryJob[] }> {
    const subscribers = (await this.deps.webhooks.findSubscribers(tenantId, event.type)).filter(
      (webhook) => webhook.id !== options.excludeWebhookId && matchesFilters(webhook.filters, options.attributes),
    );
    const now = this.deps.clock.now().toISOString();
    const eventTime = new Date(event.timestamp);
    const jobs: DeliveryJob[] = [];
    await Promise.all(
      subscribers.map(async (webhook) => {
        const deliveryId = deliveryIdFor(event.id, webhook.id, eventTime);
        const { delivery } = await this.deps.deliveries.createIfAbsent({
          id: deliveryId,
          tenantId,
          webhookId: webhook.id,
          event,
          status: 'pending',
          attempts: [],
          createdAt: now,
          updatedAt: now,
        });
        if (delivery.attempts.length === 0) jobs.push({ deliveryId, tenantId, webhookId: webhook.id, event, attempt: 1 });
      }),
    );
    return { deliveries: subscribers.length, jobs };
  }
}

import type { Delivery, DeliveryStatus } from '../../contracts/delivery.schema.js';
import { pingEventType } from '../../contracts/event-catalogue.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Clock, IdGenerator, WebhookRepository } from '../ports.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { DeliveryJobQueue, DeliveryRecord, DeliveryRepository } from './delivery.ports.js';

export const MAX_RECOVER_WINDOW_DAYS = 14;
const MAX_RECOVER_WINDOW_MS = MAX_RECOVER_WINDOW_DAYS * 86_400_000;

/** The tenant-facing delivery use cases: the attempt log, manual retries and pings. */
export class DeliveryService {
  constructor(
    private readonly deps: {
      readonly webhooks: Pick<WebhookRepository, 'get'>;
      readonly deliveries: DeliveryRepository;
      readonly jobs: DeliveryJobQueue;
      readonly clock: Clock;
      readonly ids: IdGenerator;
    },
  ) {}

  /** Queues a signed `ping` event for the webhook; it goes through the pipeline like any delivery. */
  async ping(tenantId: string, webhookId: string): Promise<{ deliveryId: string; eventId: string }> {
    const webhook = await this.deps.webhooks.get(tenantId, webhookId);
    if (!webhook) throw webhookNotFound(webhookId);
    const now = this.deps.clock.now().toISOString();
    const event = {
      id: this.deps.ids.eventId(),
      type: pingEventType.name,
      timestamp: now,
      data: pingEventType.schema.parse({ webhookId, message: `Test event for webhook "${webhook.name}"` }),
    };
    const deliveryId = this.deps.ids.deliveryId();
    await this.deps.deliveries.createIfAbsent({
      id: deliveryId,
      tenantId,
      webhookId,
      event,
      status: 'pending',
      attempts: [],
      createdAt: now,
      updatedAt: now,
    });
    await this.deps.jobs.enqueue([{ deliveryId, tenantId, webhookId, event, attempt: 1 }]);
    return { deliveryId, eventId: event.id };
  }

  async list(tenantId: string, webhookId: string, query: { limit: number; cursor?: string; status?: DeliveryStatus }) {
    await this.requireWebhook(tenantId, webhookId);
    const page = await this.deps.deliveries.list(tenantId, webhookId, {
      limit: query.limit,
      ...(query.cursor !== undefined && { afterId: decodeCursor(query.cursor, 'dlv_') }),
      ...(query.status !== undefined && { status: query.status }),
    });
    return {
      data: page.items.map((record) => ({ ...toDeliveryView(record), attempts: record.attempts.length })),
      nextCursor: page.lastId === undefined ? null : encodeCursor(page.lastId),
    };
  }

  async get(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery> {
    return toDeliveryView(await this.require(tenantId, webhookId, deliveryId));
  }

  /** Re-sends the delivery now, with the same event id (`webhook-id`), as one extra attempt. */
  async retry(tenantId: string, webhookId: string, deliveryId: string): Promise<{ deliveryId: string; eventId: string }> {
    await this.requireWebhook(tenantId, webhookId);
    const delivery = await this.require(tenantId, webhookId, deliveryId);
    const attempt = delivery.attempts.length + 1;
    await this.deps.jobs.enqueue([{ deliveryId, tenantId, webhookId, event: delivery.event, attempt, manual: true }]);
    await this.deps.deliveries.markPending({ tenantId, webhookId, deliveryId }, attempt);
    return { deliveryId, eventId: delivery.event.id };
  }

  /**
   * Re-sends every failed delivery of the webhook created since `since` (Svix's recover), each as one more
   * attempt with the same `webhook-id`. The window is bounded by the delivery log's retention.
   */
  async recover(tenantId: string, webhookId: string, since: Date): Promise<{ recovered: number }> {
    await this.requireWebhook(tenantId, webhookId);
    const now = this.deps.clock.now();
    if (since.getTime() < now.getTime() - MAX_RECOVER_WINDOW_MS || since.getTime() > now.getTime()) {
      throw new ValidationError([{ path: 'since', message: `must be within the last ${MAX_RECOVER_WINDOW_DAYS} days` }]);
    }
    let recovered = 0;
    let afterId: string | undefined;
    for (;;) {
      const page = await this.deps.deliveries.list(tenantId, webhookId, {
        limit: 100,
        status: 'failed',
        ...(afterId !== undefined && { afterId }),
      });
      const inWindow = page.items.filter((delivery) => Date.parse(delivery.createdAt) >= since.getTime());
      await this.deps.jobs.enqueue(
        inWindow.map((delivery) => ({
          deliveryId: delivery.id,
          tenantId,
          webhookId,
          event: delivery.event,
          attempt: delivery.attempts.length + 1,
          manual: true,
        })),
      );
      await Promise.all(
        inWindow.map((delivery) =>
          this.deps.deliveries.markPending({ tenantId, webhookId, deliveryId: delivery.id }, delivery.attempts.length + 1),
        ),
      );
      recovered += inWindow.length;
      // Newest first: once a page reaches past the window, nothing older can be in it.
      if (page.lastId === undefined || inWindow.length < page.items.length) return { recovered };
      afterId = page.lastId;
    }
  }

  private async requireWebhook(tenantId: string, webhookId: string) {
    if (!(await this.deps.webhooks.get(tenantId, webhookId))) throw webhookNotFound(webhookId);
  }

  private async require(tenantId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord> {
    const delivery = await this.deps.deliveries.get({ tenantId, webhookId, deliveryId });
    if (!delivery) throw new NotFoundError(`No delivery with id ${deliveryId}`);
    return delivery;
  }
}

const webhookNotFound = (id: string) => new NotFoundError(`No webhook with id ${id}`);

const toDeliveryView = (record: DeliveryRecord): Delivery => ({
  id: record.id,
  webhookId: record.webhookId,
  eventId: record.event.id,
  eventType: record.event.type,
  status: record.status,
  attempts: [...record.attempts],
  ...(record.nextAttemptAt !== undefined && { nextAttemptAt: record.nextAttemptAt }),
  ...(record.lastError !== undefined && { lastError: record.lastError }),
  createdAt: record.createdAt,
  updatedAt: record.updatedAt,
});

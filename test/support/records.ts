import type { DeliveryJob, WebhookPayload } from '../../functions/contracts/delivery.schema.js';
import { deliveryIdFor } from '../../functions/domain/delivery/delivery-id.js';
import type { DeliveryJobQueue, DeliveryRecord, DeliveryRepository } from '../../functions/domain/delivery/delivery.ports.js';
import { generateSecret, type WebhookRecord } from '../../functions/domain/webhook.js';
import { ulidIds } from '../../functions/handlers/wiring.js';

/**
 * An enabled webhook as stored, created at `now`, named after its URL's host unless `name` is given. Its credentials
 * are in plaintext, as in a record written before encryption (they open without a key).
 */
export const makeWebhook = (
  tenantId: string,
  url: string,
  options: { events?: readonly string[]; name?: string; now?: Date } = {},
): WebhookRecord => {
  const at = (options.now ?? new Date()).toISOString();
  return {
    tenantId,
    id: ulidIds.webhookId(),
    name: options.name ?? new URL(url).host,
    url,
    events: [...(options.events ?? ['order.created'])],
    enabled: true,
    credentials: { plaintext: { secret: generateSecret() } },
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
};

/** A pending delivery of `event` to `webhook`, created at `now`, and the job that makes its first attempt. */
export const makeDelivery = (
  webhook: Pick<WebhookRecord, 'tenantId' | 'id'>,
  event: WebhookPayload,
  options: { id?: string; now?: Date } = {},
): { record: DeliveryRecord; job: DeliveryJob } => {
  const id = options.id ?? deliveryIdFor(event.id, webhook.id, new Date(event.timestamp));
  const at = (options.now ?? new Date()).toISOString();
  return {
    record: { id, tenantId: webhook.tenantId, webhookId: webhook.id, event, status: 'pending', attempts: [], createdAt: at, updatedAt: at },
    job: { deliveryId: id, tenantId: webhook.tenantId, webhookId: webhook.id, event, attempt: 1 },
  };
};

/**
 * A queue whose worker is quicker than its producer: each job's attempt is recorded (a 200, or a 500 that ends the
 * delivery failed) before `enqueue` returns, as a worker can on a loaded machine before the producer's next write.
 */
export const queueMadeAtOnce = (
  queue: DeliveryJobQueue,
  deliveries: Pick<DeliveryRepository, 'recordAttempt'>,
  outcome: 'succeeded' | 'failed' = 'succeeded',
): DeliveryJobQueue => ({
  enqueue: async (jobs, delaySeconds) => {
    await queue.enqueue(jobs, delaySeconds);
    for (const job of jobs) {
      const key = { tenantId: job.tenantId, webhookId: job.webhookId, deliveryId: job.deliveryId };
      const attempt = { attempt: job.attempt, at: new Date().toISOString(), durationMs: 5, statusCode: outcome === 'succeeded' ? 200 : 500 };
      await deliveries.recordAttempt(key, attempt, { status: outcome });
    }
  },
});

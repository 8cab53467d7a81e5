import * as z from 'zod';
import { TenantId } from '../domain/api-key.js';
import { PageCursor, PageLimit, utcDateTime } from './common.schema.js';

const AttributeName = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits, or _.:-');

/** What producers put in EventBridge `Detail`; `DetailType` is the event type, `Source` an allowed source. */
export const PublishedEventDetail = z
  .strictObject({
    tenantId: TenantId,
    data: z.unknown().refine((data) => data !== undefined, 'is required'),
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 letters, digits, or _.:-')
      .optional()
      .describe('Makes publishing idempotent: the same id is delivered once per webhook'),
    attributes: z
      .record(AttributeName, z.string().max(256))
      .refine((attributes) => Object.keys(attributes).length <= 20, 'at most 20 attributes')
      .optional()
      .describe('Matched against webhook filters'),
  })
  .meta({ id: 'PublishedEventDetail' });
export type PublishedEventDetail = z.output<typeof PublishedEventDetail>;

/** The EventBridge event as an SQS target receives it. */
export const EventBridgeEnvelope = z.object({
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  time: z.string(),
  detail: z.unknown(),
});
export type EventBridgeEnvelope = z.output<typeof EventBridgeEnvelope>;

/** The body POSTed to receivers (Standard Webhooks shape); `id` is the event id, also sent as `webhook-id`. */
export const WebhookPayload = z
  .object({ id: z.string(), type: z.string(), timestamp: z.iso.datetime(), data: z.unknown() })
  .meta({ id: 'WebhookPayload' });
export type WebhookPayload = z.output<typeof WebhookPayload>;

/** One delivery attempt's work order on the delivery queue. */
export const DeliveryJob = z.object({
  deliveryId: z.string(),
  tenantId: z.string(),
  webhookId: z.string(),
  event: WebhookPayload,
  /** 1-based number of the attempt this job makes. */
  attempt: z.number().int().positive(),
  /**
   * Epoch ms before which the attempt must not be made: a retry delay longer than SQS's 15-minute maximum, or the
   * probe time of the circuit the router found open. The queue delays the job as far as it can; the worker parks it
   * for the rest.
   */
  notBefore: z.number().int().optional(),
  /** Epoch ms of the send slot the webhook's rate limit reserved for this attempt (see DeliveryWorker). */
  sendAt: z.number().optional(),
  /** A retry asked for through the API: one attempt, no automatic retries after it. */
  manual: z.boolean().optional(),
  /** Attempts made before this run of the retry schedule began (a redrive from the DLQ starts the schedule anew). */
  scheduleOffset: z.number().int().nonnegative().optional(),
  /** On the slow lane's queue: its webhook answers slowly or not at all (see DeliveryWorker); on the shared queue when absent. */
  lane: z.literal('slow').optional(),
});
export type DeliveryJob = z.output<typeof DeliveryJob>;

export const DeliveryStatus = z.enum(['pending', 'retrying', 'succeeded', 'failed']);
export type DeliveryStatus = z.output<typeof DeliveryStatus>;

export const DeliveryAttempt = z
  .object({
    attempt: z.number().int().positive(),
    at: z.iso.datetime(),
    statusCode: z.number().int().optional(),
    durationMs: z.number().int().nonnegative(),
    error: z.string().optional().describe('timeout, connection, destination_blocked, http_3xx, http_4xx, http_5xx'),
    responseSnippet: z.string().optional().describe('The first ~1 KB of the response body'),
  })
  .meta({ id: 'DeliveryAttempt' });
export type DeliveryAttempt = z.output<typeof DeliveryAttempt>;

export const Delivery = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: DeliveryStatus,
    attempts: z.array(DeliveryAttempt),
    nextAttemptAt: z.iso.datetime().optional(),
    lastError: z.string().optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.output<typeof Delivery>;

export const DeliverySummary = Delivery.omit({ attempts: true })
  .extend({ attempts: z.number().int().nonnegative().describe('Number of attempts so far') })
  .meta({ id: 'DeliverySummary' });

export const DeliveryListQuery = z.object({
  limit: PageLimit,
  cursor: PageCursor.optional(),
  status: DeliveryStatus.optional(),
});

export const DeliveryList = z
  .object({ data: z.array(DeliverySummary).describe('Newest first'), nextCursor: z.string().nullable() })
  .meta({ id: 'DeliveryList' });

export const DeliveryAccepted = z
  .object({ deliveryId: z.string(), eventId: z.string(), status: z.literal('queued') })
  .meta({ id: 'DeliveryAccepted' });

export const RecoverRequest = z
  .strictObject({
    since: utcDateTime().describe(
      'Re-send failed deliveries created since then: a UTC time (`Z`) within the last 14 days (400 otherwise).',
    ),
  })
  .meta({ id: 'RecoverRequest' });

export const RecoverAccepted = z
  .object({ recovered: z.number().int().nonnegative().describe('Failed deliveries queued again') })
  .meta({ id: 'RecoverAccepted' });

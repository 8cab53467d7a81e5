import * as z from 'zod';

/**
 * The event-type catalogue: every event the platform can deliver, with the schema of its `data`.
 *
 * This module is the one place a deployer edits to describe their own domain events. The API validates
 * subscriptions against it, `GET /v1/event-types` publishes it, and the delivery pipeline validates
 * published events against it.
 */
export interface EventTypeDefinition<Data extends z.ZodType = z.ZodType> {
  /** `resource.action` style name, the EventBridge `DetailType` producers publish with. */
  readonly name: string;
  readonly description: string;
  /** Schema of the event's `data`. */
  readonly schema: Data;
  /** An example `data` payload; it must satisfy `schema` (a unit test checks every entry). */
  readonly example: z.input<Data>;
  /**
   * Whether producers publish this event yet. Events not yet in use can still be subscribed to, so
   * receivers are ready the day they start (AutoGrab's "not yet in use" events).
   */
  readonly inUse: boolean;
  /** Whether tenants may list this event in a webhook's `events`. Only `ping` is not. */
  readonly subscribable: boolean;
  /**
   * Who publishes it: the deployer's services through EventBridge, or the platform itself (ping and operational
   * events). The EventBridge rule only accepts producer events.
   */
  readonly publishedBy: 'producers' | 'platform';
}

const defineEventType = <Data extends z.ZodType>(definition: EventTypeDefinition<Data>) => definition;

/** Sent only on request, by `POST /v1/webhooks/{id}/ping`; never subscribed to explicitly. */
export const pingEventType = defineEventType({
  name: 'ping',
  description: 'Sent when you call POST /v1/webhooks/{id}/ping, to test that your endpoint receives and verifies deliveries.',
  schema: z.object({
    webhookId: z.string(),
    message: z.string(),
  }),
  example: { webhookId: 'wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST', message: 'Webhook test from the webhook platform' },
  inUse: true,
  subscribable: false,
  publishedBy: 'platform',
});

/** Operational: the platform disabled one of the tenant's webhooks (410 Gone, or failing for days). */
export const webhookDisabledEventType = defineEventType({
  name: 'webhook.disabled',
  description:
    'The platform disabled one of your webhooks: it answered 410 Gone, or every delivery to it failed for days. Re-enable it with PATCH once it is fixed.',
  schema: z.object({
    webhookId: z.string(),
    url: z.string(),
    reason: z.string(),
    disabledAt: z.iso.datetime(),
  }),
  example: {
    webhookId: 'wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST',
    url: 'https://example.com/hooks',
    reason: 'Every delivery failed from 2026-01-01T00:00:00.000Z to 2026-01-06T00:00:00.000Z (42 failed attempts)',
    disabledAt: '2026-01-06T00:00:00.000Z',
  },
  inUse: true,
  subscribable: true,
  publishedBy: 'platform',
});

/** Operational: the circuit of one of the tenant's webhooks opened; its deliveries are held until a probe succeeds. */
export const webhookCircuitOpenedEventType = defineEventType({
  name: 'webhook.circuit_opened',
  description:
    'Deliveries to one of your webhooks are paused: its latest attempts all failed, so the platform holds its deliveries (none is lost or counted as a failed attempt) and lets one attempt through at nextProbeAt, then less often while it keeps failing. The first success resumes them.',
  schema: z.object({
    webhookId: z.string(),
    url: z.string(),
    openedAt: z.iso.datetime(),
    nextProbeAt: z.iso.datetime(),
    consecutiveFailures: z.number().int().positive(),
    lastError: z.string(),
  }),
  example: {
    webhookId: 'wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST',
    url: 'https://example.com/hooks',
    openedAt: '2026-01-06T00:00:00.000Z',
    nextProbeAt: '2026-01-06T00:00:30.000Z',
    consecutiveFailures: 5,
    lastError: 'timeout',
  },
  inUse: true,
  subscribable: true,
  publishedBy: 'platform',
});

/** Operational: a delivery to one of the tenant's webhooks failed every attempt and was dead-lettered. */
export const deliveryExhaustedEventType = defineEventType({
  name: 'delivery.exhausted',
  description: 'A delivery to one of your webhooks failed every attempt and was dead-lettered; it can be retried.',
  schema: z.object({
    webhookId: z.string(),
    deliveryId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    attempts: z.number().int().positive(),
    lastError: z.string(),
  }),
  example: {
    webhookId: 'wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST',
    deliveryId: 'dlv_01JD3ZQ8Y5W9N6V7K2M4P0R8SV',
    eventId: 'ord_1042-created',
    eventType: 'order.created',
    attempts: 11,
    lastError: 'http_5xx',
  },
  inUse: true,
  subscribable: true,
  publishedBy: 'platform',
});

// ---------------------------------------------------------------------------------------------------------
// EXAMPLE CATALOGUE: replace everything between these rulers with your own domain's events.
// ---------------------------------------------------------------------------------------------------------
const money = z.object({
  amount: z.number().int().describe('Amount in the currency minor unit (cents)'),
  currency: z.string().length(3).describe('ISO 4217 currency code'),
});

const exampleEventTypes = [
  defineEventType({
    name: 'order.created',
    description: 'An order was placed.',
    schema: z.object({
      orderId: z.string(),
      customerId: z.string(),
      total: money,
      lines: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })).min(1),
    }),
    example: {
      orderId: 'ord_1042',
      customerId: 'cus_77',
      total: { amount: 4599, currency: 'EUR' },
      lines: [{ sku: 'SKU-RED-M', quantity: 1 }],
    },
    inUse: true,
    subscribable: true,
    publishedBy: 'producers',
  }),
  defineEventType({
    name: 'order.status_changed',
    description: 'An order moved to another status (for example from `paid` to `shipped`).',
    schema: z.object({
      orderId: z.string(),
      from: z.enum(['pending', 'paid', 'shipped', 'delivered', 'cancelled']),
      to: z.enum(['pending', 'paid', 'shipped', 'delivered', 'cancelled']),
    }),
    example: { orderId: 'ord_1042', from: 'paid', to: 'shipped' },
    inUse: true,
    subscribable: true,
    publishedBy: 'producers',
  }),
  defineEventType({
    name: 'order.price_changed',
    description: "The price of an open order changed.",
    schema: z.object({ orderId: z.string(), previous: money, current: money }),
    example: {
      orderId: 'ord_1042',
      previous: { amount: 4599, currency: 'EUR' },
      current: { amount: 3999, currency: 'EUR' },
    },
    inUse: true,
    subscribable: true,
    publishedBy: 'producers',
  }),
  defineEventType({
    name: 'invoice.paid',
    description: 'An invoice was paid in full. Not published yet: subscribe now to receive it once it is.',
    schema: z.object({ invoiceId: z.string(), orderId: z.string(), paid: money, paidAt: z.iso.datetime() }),
    example: {
      invoiceId: 'inv_9',
      orderId: 'ord_1042',
      paid: { amount: 3999, currency: 'EUR' },
      paidAt: '2026-01-01T12:00:00.000Z',
    },
    inUse: false,
    subscribable: true,
    publishedBy: 'producers',
  }),
];
// ---------------------------------------------------------------------------------------------------------
// END OF EXAMPLE CATALOGUE
// ---------------------------------------------------------------------------------------------------------

export const eventCatalogue: readonly EventTypeDefinition[] = [
  pingEventType,
  webhookDisabledEventType,
  webhookCircuitOpenedEventType,
  deliveryExhaustedEventType,
  ...exampleEventTypes,
];

const byName = new Map(eventCatalogue.map((eventType) => [eventType.name, eventType]));

export const findEventType = (name: string): EventTypeDefinition | undefined => byName.get(name);

export const subscribableEventTypeNames = (): string[] =>
  eventCatalogue.filter((eventType) => eventType.subscribable).map((eventType) => eventType.name);

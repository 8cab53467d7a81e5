/**
 * The CloudWatch metrics the platform emits (Embedded Metric Format, no PutMetricData calls), shared by the
 * emitting adapter and the CDK dashboard and alarms. Dimensions stay low-cardinality: the service, and for
 * failed attempts the reason class. Per-tenant and per-webhook numbers come from the structured logs.
 */
export const METRICS_NAMESPACE = 'WebhookPlatform';

export const MetricName = {
  eventsReceived: 'EventsReceived',
  eventsRejected: 'EventsRejected',
  deliveriesSucceeded: 'DeliveriesSucceeded',
  attemptsFailed: 'AttemptsFailed',
  retriesScheduled: 'RetriesScheduled',
  deadLettered: 'DeadLettered',
  endpointsDisabled: 'EndpointsDisabled',
  circuitsOpened: 'CircuitsOpened',
  deliveriesHeld: 'DeliveriesHeld',
  deliveriesThrottled: 'DeliveriesThrottled',
  deliveriesMovedToSlowLane: 'DeliveriesMovedToSlowLane',
  deliveryLatency: 'DeliveryLatency',
  endToEndAge: 'EndToEndAge',
} as const;

/** The `service` dimension Powertools Metrics adds: the emitting function. */
export const MetricService = { eventRouter: 'event-router', deliveryWorker: 'delivery-worker' } as const;

/** Dimension of AttemptsFailed. */
export const FAILURE_REASON_DIMENSION = 'Reason';
export const FailureReason = ['timeout', 'connection', 'blocked', 'http_3xx', 'http_4xx', 'http_5xx', 'http_410'] as const;
export type FailureReason = (typeof FailureReason)[number];

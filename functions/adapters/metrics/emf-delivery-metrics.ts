import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FAILURE_REASON_DIMENSION, type FailureReason, METRICS_NAMESPACE, MetricName } from '../../contracts/metrics.js';
import type { DeliveryMetrics } from '../../domain/delivery/delivery.ports.js';

/**
 * Delivery metrics as Embedded Metric Format log lines (Powertools Metrics): CloudWatch extracts them from the
 * function's logs, so no delivery costs a PutMetricData call. Call `flush()` at the end of each invocation.
 */
export class EmfDeliveryMetrics implements DeliveryMetrics {
  private readonly metrics: Metrics;

  constructor(serviceName: string) {
    this.metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  }

  eventReceived(): void {
    this.metrics.addMetric(MetricName.eventsReceived, MetricUnit.Count, 1);
  }

  eventRejected(): void {
    this.metrics.addMetric(MetricName.eventsRejected, MetricUnit.Count, 1);
  }

  attemptSucceeded(durationMs: number, eventAgeMs: number): void {
    this.metrics.addMetric(MetricName.deliveriesSucceeded, MetricUnit.Count, 1);
    this.metrics.addMetric(MetricName.deliveryLatency, MetricUnit.Milliseconds, durationMs);
    this.metrics.addMetric(MetricName.endToEndAge, MetricUnit.Milliseconds, Math.max(0, eventAgeMs));
  }

  attemptFailed(reason: FailureReason, durationMs: number): void {
    this.metrics.addMetric(MetricName.deliveryLatency, MetricUnit.Milliseconds, durationMs);
    const failure = this.metrics.singleMetric();
    failure.addDimension(FAILURE_REASON_DIMENSION, reason);
    failure.addMetric(MetricName.attemptsFailed, MetricUnit.Count, 1);
  }

  retryScheduled(): void {
    this.metrics.addMetric(MetricName.retriesScheduled, MetricUnit.Count, 1);
  }

  deadLettered(): void {
    this.metrics.addMetric(MetricName.deadLettered, MetricUnit.Count, 1);
  }

  endpointDisabled(): void {
    this.metrics.addMetric(MetricName.endpointsDisabled, MetricUnit.Count, 1);
  }

  circuitOpened(): void {
    this.metrics.addMetric(MetricName.circuitsOpened, MetricUnit.Count, 1);
  }

  deliveryHeld(): void {
    this.metrics.addMetric(MetricName.deliveriesHeld, MetricUnit.Count, 1);
  }

  deliveryThrottled(): void {
    this.metrics.addMetric(MetricName.deliveriesThrottled, MetricUnit.Count, 1);
  }

  deliveryMovedToSlowLane(): void {
    this.metrics.addMetric(MetricName.deliveriesMovedToSlowLane, MetricUnit.Count, 1);
  }

  /** Writes the metrics stored during this invocation as one EMF line. */
  flush(): void {
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}

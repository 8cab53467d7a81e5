import type { SQSEvent } from 'aws-lambda';
import { DynamoPublishedEventLedger } from '../adapters/dynamodb/published-event.ledger.js';
import { DynamoWebhookRepository } from '../adapters/dynamodb/webhook.repository.js';
import { EmfDeliveryMetrics } from '../adapters/metrics/emf-delivery-metrics.js';
import { SqsDeliveryJobQueue, SqsRejectedEventSink } from '../adapters/sqs/delivery-queue.js';
import { EventRouter } from '../domain/delivery/event-router.service.js';
import { MetricService } from '../contracts/metrics.js';
import { parsePipelineEnvironment } from './config.js';
import { createLogger } from './logger.js';
import { routeSqsBatch } from './sqs-batch.js';
import { createSqsClientFor } from './sqs-wiring.js';
import { createDocumentClientFor, systemClock } from './wiring.js';

const env = parsePipelineEnvironment();
if (!env.REJECTED_EVENTS_QUEUE_URL) throw new Error('Invalid function environment: REJECTED_EVENTS_QUEUE_URL is required');
const logger = createLogger(MetricService.eventRouter);
const metrics = new EmfDeliveryMetrics(MetricService.eventRouter);
const db = createDocumentClientFor(env);
const sqs = createSqsClientFor(env);
const router = new EventRouter({
  webhooks: new DynamoWebhookRepository(db, env.TABLE_NAME, systemClock),
  jobs: new SqsDeliveryJobQueue(sqs, env.DELIVERY_QUEUE_URL, env.SLOW_LANE_QUEUE_URL),
  rejected: new SqsRejectedEventSink(sqs, env.REJECTED_EVENTS_QUEUE_URL),
  publications: new DynamoPublishedEventLedger(db, env.TABLE_NAME, systemClock),
  clock: systemClock,
  slowLane: env.SLOW_LANE_QUEUE_URL !== undefined,
  logger,
  metrics,
});

/** Consumes the events queue (EventBridge rule target): validates each event and fans it out to deliveries. */
export const handler = async (event: SQSEvent) => {
  try {
    return await routeSqsBatch(event, router, logger);
  } finally {
    metrics.flush();
  }
};

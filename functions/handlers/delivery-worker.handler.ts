import type { SQSEvent } from 'aws-lambda';
import { DynamoDeliveryRepository } from '../adapters/dynamodb/delivery.repository.js';
import { DynamoWebhookRepository } from '../adapters/dynamodb/webhook.repository.js';
import { createHttpSender } from '../adapters/http/http-sender.js';
import { EmfDeliveryMetrics } from '../adapters/metrics/emf-delivery-metrics.js';
import { withXRaySubsegments } from '../adapters/tracing/xray-traced-sender.js';
import { SqsDeadLetterSink, SqsDeliveryJobQueue } from '../adapters/sqs/delivery-queue.js';
import { DeliveryJob } from '../contracts/delivery.schema.js';
import { attemptClaimSeconds, DeliveryWorker } from '../domain/delivery/delivery-worker.service.js';
import { FanOut } from '../domain/delivery/fan-out.js';
import { DEFAULT_RETRY_POLICY } from '../domain/delivery/retry-policy.js';
import { USER_AGENT } from '../domain/delivery/signing.js';
import { MetricService } from '../contracts/metrics.js';
import { circuitBreakerPolicy, parsePipelineEnvironment, slowLanePolicy } from './config.js';
import { createLogger } from './logger.js';
import { parkOnSourceQueue, processSqsBatch } from './sqs-batch.js';
import { createCredentialsVaultFor } from './kms-wiring.js';
import { createSqsClientFor } from './sqs-wiring.js';
import { createDocumentClientFor, systemClock } from './wiring.js';

const env = parsePipelineEnvironment();
if (!env.DELIVERY_DLQ_URL) throw new Error('Invalid function environment: DELIVERY_DLQ_URL is required');
const logger = createLogger(MetricService.deliveryWorker);
const metrics = new EmfDeliveryMetrics(MetricService.deliveryWorker);
const db = createDocumentClientFor(env);
const sqs = createSqsClientFor(env);
// Module scope: the keep-alive pools survive across invocations of a warm container; each POST is an X-Ray subsegment.
const sender = withXRaySubsegments(
  createHttpSender({
    connectTimeoutMs: env.CONNECT_TIMEOUT_MS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    allowPrivateDestinations: env.ALLOW_PRIVATE_DESTINATIONS,
    allowHttp: env.ALLOW_HTTP_URLS,
    userAgent: USER_AGENT,
  }),
);
const webhooks = new DynamoWebhookRepository(db, env.TABLE_NAME, systemClock);
const deliveries = new DynamoDeliveryRepository(db, env.TABLE_NAME, systemClock);
const jobs = new SqsDeliveryJobQueue(sqs, env.DELIVERY_QUEUE_URL, env.SLOW_LANE_QUEUE_URL);
const slowLane = slowLanePolicy(env);
const worker = new DeliveryWorker({
  webhooks,
  deliveries,
  jobs,
  deadLetters: new SqsDeadLetterSink(sqs, env.DELIVERY_DLQ_URL),
  sender,
  vault: createCredentialsVaultFor(env),
  clock: systemClock,
  retryPolicy: { ...DEFAULT_RETRY_POLICY, delaysSeconds: env.RETRY_SCHEDULE },
  attemptClaimSeconds: attemptClaimSeconds(env.CONNECT_TIMEOUT_MS + env.REQUEST_TIMEOUT_MS),
  health: { disableAfterSeconds: env.AUTO_DISABLE_AFTER_SECONDS, minFailures: env.AUTO_DISABLE_MIN_FAILURES },
  circuitBreaker: circuitBreakerPolicy(env),
  ...(slowLane && { slowLane }),
  fanOut: new FanOut({ webhooks, jobs }),
  logger,
  metrics,
});

const park = parkOnSourceQueue(
  sqs,
  [env.DELIVERY_QUEUE_URL, env.SLOW_LANE_QUEUE_URL].filter((url) => url !== undefined),
);

/** Consumes the delivery queue and the slow lane's: one attempt per message, partial batch failures, long waits parked. */
export const handler = async (event: SQSEvent) => {
  try {
    return await processSqsBatch(event, (record) => worker.process(DeliveryJob.parse(JSON.parse(record.body))), { logger, park });
  } finally {
    metrics.flush();
  }
};

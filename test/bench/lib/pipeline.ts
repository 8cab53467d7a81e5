import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDeliveryRepository } from '../../../functions/adapters/dynamodb/delivery.repository.js';
import { DynamoPublishedEventLedger } from '../../../functions/adapters/dynamodb/published-event.ledger.js';
import { DynamoWebhookRepository } from '../../../functions/adapters/dynamodb/webhook.repository.js';
import { createHttpSender } from '../../../functions/adapters/http/http-sender.js';
import { EmfDeliveryMetrics } from '../../../functions/adapters/metrics/emf-delivery-metrics.js';
import { SqsDeadLetterSink, SqsDeliveryJobQueue, SqsRejectedEventSink } from '../../../functions/adapters/sqs/delivery-queue.js';
import { DeliveryJob } from '../../../functions/contracts/delivery.schema.js';
import {
  attemptClaimSeconds,
  DEFAULT_CIRCUIT_BREAKER_POLICY,
  DEFAULT_SLOW_LANE_POLICY,
  DeliveryWorker,
} from '../../../functions/domain/delivery/delivery-worker.service.js';
import { EventRouter } from '../../../functions/domain/delivery/event-router.service.js';
import { FanOut } from '../../../functions/domain/delivery/fan-out.js';
import { DEFAULT_RETRY_POLICY } from '../../../functions/domain/delivery/retry-policy.js';
import { USER_AGENT } from '../../../functions/domain/delivery/signing.js';
import { createLogger } from '../../../functions/handlers/logger.js';
import { parkOnSourceQueue, processSqsBatch, routeSqsBatch } from '../../../functions/handlers/sqs-batch.js';
import { systemClock } from '../../../functions/handlers/wiring.js';
import { createTestVault } from '../../support/credentials-vault.js';

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface QueueUrls {
  readonly events: string;
  readonly deliveries: string;
  readonly slowLaneDeliveries: string;
  readonly deliveryDeadLetters: string;
  readonly rejectedEvents: string;
}

/**
 * The event router's handler, wired exactly as `functions/handlers/event-router.handler.ts` wires it, but on
 * clients the benchmark passes in (so a middleware can count their requests).
 */
export const assembleRouter = (deps: { db: DynamoDBDocumentClient; sqs: SQSClient; tableName: string; queueUrls: QueueUrls }): Handler => {
  const logger = createLogger('event-router');
  const metrics = new EmfDeliveryMetrics('event-router');
  const router = new EventRouter({
    webhooks: new DynamoWebhookRepository(deps.db, deps.tableName, systemClock),
    jobs: new SqsDeliveryJobQueue(deps.sqs, deps.queueUrls.deliveries, deps.queueUrls.slowLaneDeliveries),
    rejected: new SqsRejectedEventSink(deps.sqs, deps.queueUrls.rejectedEvents),
    publications: new DynamoPublishedEventLedger(deps.db, deps.tableName, systemClock),
    clock: systemClock,
    slowLane: true,
    logger,
    metrics,
  });
  return async (event) => {
    try {
      return await routeSqsBatch(event, router, logger);
    } finally {
      metrics.flush();
    }
  };
};

/** The delivery worker's handler, wired as `functions/handlers/delivery-worker.handler.ts` wires it. */
export const assembleWorker = (deps: { db: DynamoDBDocumentClient; sqs: SQSClient; tableName: string; queueUrls: QueueUrls }): Handler => {
  const logger = createLogger('delivery-worker');
  const metrics = new EmfDeliveryMetrics('delivery-worker');
  const webhooks = new DynamoWebhookRepository(deps.db, deps.tableName, systemClock);
  const deliveries = new DynamoDeliveryRepository(deps.db, deps.tableName, systemClock);
  const jobs = new SqsDeliveryJobQueue(deps.sqs, deps.queueUrls.deliveries, deps.queueUrls.slowLaneDeliveries);
  const worker = new DeliveryWorker({
    webhooks,
    deliveries,
    jobs,
    vault: createTestVault(),
    deadLetters: new SqsDeadLetterSink(deps.sqs, deps.queueUrls.deliveryDeadLetters),
    sender: createHttpSender({
      connectTimeoutMs: 5000,
      requestTimeoutMs: 15_000,
      allowPrivateDestinations: true,
      allowHttp: true,
      userAgent: USER_AGENT,
    }),
    clock: systemClock,
    retryPolicy: DEFAULT_RETRY_POLICY,
    attemptClaimSeconds: attemptClaimSeconds(20_000),
    health: { disableAfterSeconds: 5 * 86_400, minFailures: 10 },
    circuitBreaker: DEFAULT_CIRCUIT_BREAKER_POLICY,
    slowLane: DEFAULT_SLOW_LANE_POLICY,
    fanOut: new FanOut({ webhooks, jobs }),
    logger,
    metrics,
  });
  return async (event) => {
    try {
      return await processSqsBatch(event, (record) => worker.process(DeliveryJob.parse(JSON.parse(record.body))), {
        logger,
        park: parkOnSourceQueue(deps.sqs, [deps.queueUrls.deliveries, deps.queueUrls.slowLaneDeliveries]),
      });
    } finally {
      metrics.flush();
    }
  };
};

/**
 * What Lambda's SQS event source mapping does for one function, until the queue is drained: receive up to 10,
 * invoke, delete what the handler did not report failed (as `local/event-source-mapping.ts` does, with short polls
 * so the drain ends). The final empty receive is counted by the caller's counter like any other.
 */
export const drainQueue = async (options: {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: Handler;
  batchSize?: number;
}): Promise<{ invocations: number; records: number; failed: number; invocationMs: number[] }> => {
  const invocationMs: number[] = [];
  let records = 0;
  let failed = 0;
  for (;;) {
    const { Messages = [] } = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: options.batchSize ?? 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    const batch: SQSRecord[] = Messages.map((message) => ({
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: message.Attributes as unknown as SQSRecord['attributes'],
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          { dataType: value.DataType ?? 'String', ...(value.StringValue !== undefined && { stringValue: value.StringValue }) },
        ]),
      ),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: options.queueArn,
      awsRegion: 'us-east-1',
    }));
    const started = performance.now();
    const response = await options.handler({ Records: batch });
    invocationMs.push(performance.now() - started);
    const failedIds = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    records += batch.length;
    failed += failedIds.size;
    const done = batch.filter((record) => !failedIds.has(record.messageId));
    if (done.length > 0) {
      await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
    }
  }
  return { invocations: invocationMs.length, records, failed, invocationMs };
};

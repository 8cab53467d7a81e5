import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { ulid } from 'ulid';
import { createDocumentClient } from '../adapters/dynamodb/document-client.js';
import { DynamoApiKeyRepository } from '../adapters/dynamodb/tenant.repository.js';
import { DynamoWebhookRepository } from '../adapters/dynamodb/webhook.repository.js';
import { SqsDeliveryQueue } from '../adapters/sqs/delivery-queue.js';
import type { Clock, DeliveryQueue, IdGenerator } from '../domain/ports.js';
import { WebhookService } from '../domain/webhook.service.js';
import type { ApiEnvironment } from './config.js';

/** Adapters built once per cold start, from the parsed environment, and shared by every invocation. */
export const systemClock: Clock = { now: () => new Date() };

export const ulidIds: IdGenerator = {
  webhookId: () => `wh_${ulid()}`,
  deliveryId: () => `dlv_${ulid()}`,
  eventId: () => `evt_${ulid()}`,
};

export const createLogger = (serviceName: string) => new Logger({ serviceName });

export const createDocumentClientFor = (env: ApiEnvironment) =>
  createDocumentClient({
    region: env.AWS_REGION,
    ...(env.DYNAMODB_ENDPOINT && { endpoint: env.DYNAMODB_ENDPOINT }),
  });

const deliveryQueueFor = (env: ApiEnvironment): DeliveryQueue => {
  const queueUrl = env.DELIVERY_QUEUE_URL;
  if (!queueUrl) {
    return {
      enqueue: () => Promise.reject(new Error('DELIVERY_QUEUE_URL is not configured for this function')),
    };
  }
  const sqs = new SQSClient({
    region: env.AWS_REGION,
    ...(env.SQS_ENDPOINT && { endpoint: env.SQS_ENDPOINT, useQueueUrlAsEndpoint: false }),
  });
  return new SqsDeliveryQueue(sqs, queueUrl);
};

export const createWebhookService = (env: ApiEnvironment) =>
  new WebhookService({
    webhooks: new DynamoWebhookRepository(createDocumentClientFor(env), env.TABLE_NAME, systemClock),
    deliveries: deliveryQueueFor(env),
    clock: systemClock,
    ids: ulidIds,
    policy: { allowHttpUrls: env.ALLOW_HTTP_URLS },
  });

export const createApiKeyRepository = (env: ApiEnvironment) =>
  new DynamoApiKeyRepository(createDocumentClientFor(env), env.TABLE_NAME);

import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeliveryJobQueue } from '../adapters/sqs/delivery-queue.js';
import type { ApiEnvironment } from './config.js';
import { sdkTransport } from './wiring.js';

/**
 * SQS clients, apart from `wiring.ts` so that functions which never touch a queue (the read-only API, the authorizer,
 * the catalogue) do not load the SQS client at cold start.
 *
 * `cacheMiddleware`: the client resolves each command's middleware stack once, not on every send (0.55 → 0.45 ms of
 * CPU per SQS request, measured in process); nothing here changes a client's stack after its first request. (The
 * DynamoDB document client refuses the option.)
 */
export const createSqsClientFor = (env: ApiEnvironment) => {
  const requestHandler = sdkTransport();
  return new SQSClient({
    region: env.AWS_REGION,
    cacheMiddleware: true,
    ...(env.SQS_ENDPOINT && { endpoint: env.SQS_ENDPOINT, useQueueUrlAsEndpoint: false }),
    ...(requestHandler && { requestHandler }),
  });
};

/** The delivery queue of a function that queues deliveries: it refuses to start without DELIVERY_QUEUE_URL. */
export const createDeliveryJobQueueFor = (env: ApiEnvironment) => {
  if (!env.DELIVERY_QUEUE_URL) throw new Error('Invalid function environment: DELIVERY_QUEUE_URL is required');
  return new SqsDeliveryJobQueue(createSqsClientFor(env), env.DELIVERY_QUEUE_URL);
};

import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import { ulid } from 'ulid';
import { DynamoDeliveryRepository } from '../adapters/dynamodb/delivery.repository.js';
import { createDocumentClient } from '../adapters/dynamodb/document-client.js';
import { DynamoApiKeyRepository } from '../adapters/dynamodb/tenant.repository.js';
import { DynamoWebhookRepository } from '../adapters/dynamodb/webhook.repository.js';
import { createDestinationPolicy } from '../adapters/http/destination-guard.js';
import type { DeliveryJobQueue } from '../domain/delivery/delivery.ports.js';
import { DeliveryService } from '../domain/delivery/delivery.service.js';
import type { Clock, CredentialsVault, IdGenerator } from '../domain/ports.js';
import { WebhookService } from '../domain/webhook.service.js';
import type { ApiEnvironment } from './config.js';

/** Adapters built once per cold start, from the parsed environment, and shared by every invocation. */
export const systemClock: Clock = { now: () => new Date() };

export const ulidIds: IdGenerator = {
  webhookId: () => `wh_${ulid()}`,
  deliveryId: () => `dlv_${ulid()}`,
  eventId: () => `evt_${ulid()}`,
};

type SdkRequestHandler = NonNullable<SQSClientConfig['requestHandler']>;
let sdkRequestHandler: SdkRequestHandler | undefined;

/** The transport set by `useSdkRequestHandler`, if any: `sqs-wiring.ts` builds its clients with it too. */
export const sdkTransport = (): SdkRequestHandler | undefined => sdkRequestHandler;

/**
 * The transport of the SDK clients built from here on: the SDK's own (HTTPS) unless this is called first. The local
 * platform, which runs the handlers in its own process, calls it before loading them, with a handler that gives
 * each request to its embedded store or queue without a socket; on AWS nothing calls it.
 */
export const useSdkRequestHandler = (handler: SdkRequestHandler): void => {
  sdkRequestHandler = handler;
};

export const createDocumentClientFor = (env: ApiEnvironment) =>
  createDocumentClient({
    region: env.AWS_REGION,
    ...(env.DYNAMODB_ENDPOINT && { endpoint: env.DYNAMODB_ENDPOINT }),
    ...(sdkRequestHandler && { requestHandler: sdkRequestHandler }),
  });

/**
 * The job queue of functions that never queue a delivery (the read-only API): calling it is a wiring bug. It keeps
 * the SQS client out of their bundles (`sqs-wiring.ts` builds the real one).
 */
export const refusingJobQueue: DeliveryJobQueue = {
  enqueue: () => Promise.reject(new Error('This function does not queue deliveries')),
};

/**
 * The vault of functions that never see credentials in plaintext (the read-only API): calling it is a wiring bug,
 * and their role has no grant on the key anyway. It keeps the KMS client out of their bundles (`kms-wiring.ts`
 * builds the real one).
 */
export const refusingVault: CredentialsVault = {
  seal: () => Promise.reject(new Error('This function does not seal credentials')),
  open: () => Promise.reject(new Error('This function cannot read credentials')),
};

export const createWebhookService = (env: ApiEnvironment, vault: CredentialsVault) =>
  new WebhookService({
    webhooks: new DynamoWebhookRepository(createDocumentClientFor(env), env.TABLE_NAME, systemClock),
    vault,
    destinations: createDestinationPolicy({
      allowHttp: env.ALLOW_HTTP_URLS,
      allowPrivateDestinations: env.ALLOW_PRIVATE_DESTINATIONS,
    }),
    clock: systemClock,
    ids: ulidIds,
    secretOverlapSeconds: env.SECRET_ROTATION_OVERLAP_SECONDS,
  });

export const createDeliveryService = (env: ApiEnvironment, jobs: DeliveryJobQueue) => {
  const db = createDocumentClientFor(env);
  return new DeliveryService({
    webhooks: new DynamoWebhookRepository(db, env.TABLE_NAME, systemClock),
    deliveries: new DynamoDeliveryRepository(db, env.TABLE_NAME, systemClock),
    jobs,
    clock: systemClock,
    ids: ulidIds,
  });
};

export const createApiKeyRepository = (env: ApiEnvironment) =>
  new DynamoApiKeyRepository(createDocumentClientFor(env), env.TABLE_NAME);

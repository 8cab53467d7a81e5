import { DeliveryPathParameters, WebhookPathParameters } from '../contracts/api-routes.js';
import { DeliveryListQuery, RecoverRequest } from '../contracts/delivery.schema.js';
import { SecretRotation, WebhookCreate, WebhookListQuery, WebhookPatch } from '../contracts/webhook.schema.js';
import type { DeliveryService } from '../domain/delivery/delivery.service.js';
import { NotFoundError } from '../domain/errors.js';
import type { WebhookService } from '../domain/webhook.service.js';
import type { ApiRequest, Operation, Operations } from './http/api-handler.js';
import { httpErrors } from './http/http-error.js';

const tenantOf = (request: ApiRequest) => {
  if (!request.principal) throw httpErrors.unauthorized();
  return request.principal.tenantId;
};

/** A malformed id names no webhook: 404, exactly like a missing one. */
const webhookIdOf = (request: ApiRequest) => {
  const parsed = WebhookPathParameters.safeParse(request.pathParameters);
  if (!parsed.success) throw new NotFoundError(`No webhook with id ${request.pathParameters.id ?? ''}`);
  return parsed.data.id;
};

const deliveryKeyOf = (request: ApiRequest) => {
  const parsed = DeliveryPathParameters.safeParse(request.pathParameters);
  if (!parsed.success) throw new NotFoundError(`No delivery with id ${request.pathParameters.deliveryId ?? ''}`);
  return { tenantId: tenantOf(request), webhookId: parsed.data.id, deliveryId: parsed.data.deliveryId };
};

/** Primary adapters of the webhook use cases: parse and validate, call the service, format. */
export const webhookOperations = (service: WebhookService) => {
  const update: Operation = async (request) => {
    const patch = WebhookPatch.parse(request.body);
    const result = await service.update(tenantOf(request), webhookIdOf(request), patch, ifMatchVersion(request));
    return { statusCode: 200, body: result.value, headers: { etag: etagOf(result.version) } };
  };

  return {
    listWebhooks: async (request) => {
      const query = WebhookListQuery.parse(request.query);
      return { statusCode: 200, body: await service.list(tenantOf(request), query) };
    },
    getWebhook: async (request) => {
      const { value, version } = await service.get(tenantOf(request), webhookIdOf(request));
      return { statusCode: 200, body: value, headers: { etag: etagOf(version) } };
    },
    createWebhook: async (request) => {
      const input = WebhookCreate.parse(request.body);
      const { webhook, secret } = await service.create(tenantOf(request), input);
      return {
        statusCode: 201,
        body: { ...webhook, secret },
        // The body carries the secret: no cache (browser, proxy) may keep it.
        headers: { location: `/v1/webhooks/${webhook.id}`, etag: etagOf(1), 'cache-control': 'no-store' },
      };
    },
    getWebhookSecret: async (request) => ({
      statusCode: 200,
      body: { secret: await service.getSecret(tenantOf(request), webhookIdOf(request)) },
      headers: { 'cache-control': 'no-store' },
    }),
    rotateWebhookSecret: async (request) => {
      const rotation = SecretRotation.parse(request.body);
      const rotated = await service.rotateSecret(tenantOf(request), webhookIdOf(request), rotation?.secret);
      return {
        statusCode: 200,
        body: { secret: rotated.secret, previousSecretExpiresAt: rotated.previousExpiresAt },
        headers: { 'cache-control': 'no-store' },
      };
    },
    updateWebhook: update,
    replaceWebhookFields: update,
    deleteWebhook: async (request) => ({
      statusCode: 200,
      body: await service.delete(tenantOf(request), webhookIdOf(request)),
    }),
  } satisfies Operations;
};

/** Primary adapters of the delivery use cases: the attempt log, manual retries, pings. */
export const deliveryOperations = (service: DeliveryService) =>
  ({
    pingWebhook: async (request) => {
      const queued = await service.ping(tenantOf(request), webhookIdOf(request));
      return { statusCode: 202, body: { ...queued, status: 'queued' } };
    },
    listDeliveries: async (request) => {
      const query = DeliveryListQuery.parse(request.query);
      return { statusCode: 200, body: await service.list(tenantOf(request), webhookIdOf(request), query) };
    },
    getDelivery: async (request) => {
      const { tenantId, webhookId, deliveryId } = deliveryKeyOf(request);
      return { statusCode: 200, body: await service.get(tenantId, webhookId, deliveryId) };
    },
    recoverWebhook: async (request) => {
      const { since } = RecoverRequest.parse(request.body);
      return { statusCode: 202, body: await service.recover(tenantOf(request), webhookIdOf(request), new Date(since)) };
    },
    retryDelivery: async (request) => {
      const { tenantId, webhookId, deliveryId } = deliveryKeyOf(request);
      const queued = await service.retry(tenantId, webhookId, deliveryId);
      return { statusCode: 202, body: { ...queued, status: 'queued' } };
    },
  }) satisfies Operations;

const etagOf = (version: number) => `"${version}"`;

const ifMatchVersion = (request: ApiRequest): number | undefined => {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match?.[1]) throw httpErrors.invalidIfMatch();
  return Number(match[1]);
};

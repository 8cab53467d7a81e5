import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import { type ApiRoute, apiRoutes, DeliveryPathParameters, WebhookPathParameters } from './api-routes.js';
import { ErrorResponse } from './error.schema.js';
import { RegionQuery } from './webhook.schema.js';

const errorResponses = {
  400: 'Validation failed, malformed JSON or invalid region',
  401: 'Missing or unknown API key',
  403: 'The API key lacks the scope',
  404: 'No such webhook (or route)',
  409: 'Another webhook of the tenant already receives one of these events at this url',
  412: 'If-Match names an outdated version',
  413: 'Body over 64 KB',
  415: 'Body not sent as application/json',
  500: 'Internal error',
} as const;

/** The operations that can find a (url, event type) pair taken by another webhook of the tenant. */
const CLAIMING_OPERATIONS: ReadonlySet<string> = new Set(['createWebhook', 'updateWebhook', 'replaceWebhookFields']);

/** Exactly the error statuses each route can answer (404 and 405 for unknown routes and methods are not routes'). */
const errorsFor = (route: ApiRoute): (keyof typeof errorResponses)[] => {
  const codes: (keyof typeof errorResponses)[] = [400, 500];
  if (route.scope !== null) codes.push(401, 403);
  if (route.path.includes('{id}')) codes.push(404);
  if (CLAIMING_OPERATIONS.has(route.operationId)) codes.push(409);
  if (route.body) codes.push(413, 415);
  if (route.method === 'PATCH' || route.method === 'PUT') codes.push(412);
  return codes.sort();
};

/** The ETag the API sends with a webhook: its version, quoted; If-Match takes it back (also weak, `W/"3"`). */
const ETAG_PATTERN = '^"[0-9]+"$';
const IfMatchHeader = z.object({
  'If-Match': z
    .string()
    .regex(/^(?:W\/)?"[0-9]+"$/)
    .optional()
    .describe('An ETag of this webhook: the update applies only while it is at that version (412 otherwise).')
    .meta({ example: '"3"' }),
});
const etagHeader = { ETag: { description: 'The version of the webhook', schema: { type: 'string', pattern: ETAG_PATTERN } } } as const;
const SUCCESS_HEADERS: Readonly<Record<string, Record<string, unknown>>> = {
  createWebhook: {
    ...etagHeader,
    Location: { description: 'The path of the new webhook', schema: { type: 'string', pattern: '^/v1/webhooks/wh_[0-9A-HJKMNP-TV-Z]{26}$' } },
  },
  getWebhook: etagHeader,
  updateWebhook: etagHeader,
  replaceWebhookFields: etagHeader,
};

/** The API key may come in any of these headers; each is a security scheme, any one of them suffices. */
const SECURITY_SCHEMES = {
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
  bearer: { type: 'http', scheme: 'bearer', description: 'The API key as `Authorization: Bearer <key>`.' },
  apiToken: { type: 'apiKey', in: 'header', name: 'x-api-token' },
  xApiKey: { type: 'apiKey', in: 'header', name: 'X-ApiKey' },
} as const;

/**
 * The OpenAPI 3.1 document of the API, generated from the route table and the zod contracts. It states every rule the
 * API validates, so what it allows the API accepts; only `region` differs per deployment: this document gives its
 * pattern, and each deployment serves it with its own region as the one value (openapi-deployment.ts).
 */
export const buildOpenApiDocument = () => {
  const registry = new OpenAPIRegistry();
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) registry.registerComponent('securitySchemes', name, scheme);
  for (const route of apiRoutes as readonly ApiRoute[]) {
    const query = route.query ? (route.query as z.ZodObject).extend(RegionQuery.shape) : RegionQuery;
    const bodyRequired = route.body !== undefined && !route.body.safeParse(undefined).success;
    registry.registerPath({
      operationId: route.operationId,
      method: route.method.toLowerCase() as Lowercase<ApiRoute['method']>,
      path: route.path,
      summary: route.summary,
      security: route.scope === null ? [] : Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [route.scope as string] })),
      request: {
        query,
        ...(route.path.includes('{id}') && {
          params: route.path.includes('{deliveryId}') ? DeliveryPathParameters : WebhookPathParameters,
        }),
        ...((route.method === 'PATCH' || route.method === 'PUT') && { headers: IfMatchHeader }),
        ...(route.body && {
          body: { required: bodyRequired, content: { 'application/json': { schema: route.body } } },
        }),
      },
      responses: {
        [route.success.status]: {
          description: route.success.description,
          ...(SUCCESS_HEADERS[route.operationId] && { headers: SUCCESS_HEADERS[route.operationId] }),
          content: { 'application/json': { schema: route.success.schema } },
        },
        ...Object.fromEntries(
          errorsFor(route).map((status) => [
            status,
            { description: errorResponses[status], content: { 'application/json': { schema: ErrorResponse } } },
          ]),
        ),
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Webhook platform API',
      version: '1.0.0',
      description:
        'Manage webhook subscriptions. Deliveries are signed with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) and X-Hub-Signature-256.',
    },
  });
};

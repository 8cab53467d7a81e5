import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import { type ApiRoute, apiRoutes } from './api-routes.js';
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

const errorsFor = (route: ApiRoute): (keyof typeof errorResponses)[] => {
  const codes: (keyof typeof errorResponses)[] = [400, 500];
  if (route.scope !== null) codes.push(401, 403);
  if (route.path.includes('{id}')) codes.push(404);
  if (route.body) codes.push(409, 413, 415);
  if (route.method === 'PATCH' || route.method === 'PUT') codes.push(412);
  return codes.sort();
};

/** The OpenAPI 3.1 document of the API, generated from the route table and the zod contracts. */
export const buildOpenApiDocument = () => {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description: 'Also accepted as `Authorization: Bearer <key>`, `x-api-token` or `X-ApiKey`.',
  });
  for (const route of apiRoutes as readonly ApiRoute[]) {
    const query = route.query ? (route.query as z.ZodObject).extend(RegionQuery.shape) : RegionQuery;
    registry.registerPath({
      operationId: route.operationId,
      method: route.method.toLowerCase() as Lowercase<ApiRoute['method']>,
      path: route.path,
      summary: route.summary,
      security: route.scope === null ? [] : [{ apiKey: [route.scope] }],
      request: {
        query,
        ...(route.path.includes('{id}') && {
          params: route.path.includes('{deliveryId}')
            ? z.object({ id: z.string(), deliveryId: z.string() })
            : z.object({ id: z.string() }),
        }),
        ...(route.body && { body: { required: true, content: { 'application/json': { schema: route.body } } } }),
      },
      responses: {
        [route.success.status]: {
          description: route.success.description,
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

import * as z from 'zod';
import type { Scope } from '../domain/api-key.js';
import { EventTypeList } from './event-type.schema.js';
import {
  Delivery,
  DeliveryAccepted,
  DeliveryList,
  DeliveryListQuery,
  RecoverAccepted,
  RecoverRequest,
} from './delivery.schema.js';
import {
  SecretRotated,
  SecretRotation,
  Webhook,
  WebhookCreate,
  WebhookId,
  WebhookList,
  WebhookListQuery,
  WebhookPatch,
  WebhookSecretResponse,
  WebhookUpdateResponse,
  WebhookWithSecret,
} from './webhook.schema.js';

export const API_BASE_PATH = '/v1';

/** The Lambda function that serves a route. Each group gets only the permissions its routes need. */
export type RouteGroup = 'webhooksRead' | 'webhooksWrite' | 'catalogue';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRoute {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** API Gateway resource template, e.g. `/v1/webhooks/{id}`. */
  readonly path: string;
  readonly summary: string;
  readonly group: RouteGroup;
  /** The scope an API key needs; `null` for public routes. */
  readonly scope: Scope | null;
  readonly body?: z.ZodType;
  readonly query?: z.ZodObject;
  readonly success: { readonly status: number; readonly schema: z.ZodType; readonly description: string };
}

const webhookPath = `${API_BASE_PATH}/webhooks/{id}`;

/**
 * Every route of the API: the single definition the Lambda handlers, the API Gateway resources (CDK), the local
 * server and the OpenAPI document are built from.
 */
export const apiRoutes = [
  {
    operationId: 'listWebhooks',
    method: 'GET',
    path: `${API_BASE_PATH}/webhooks`,
    summary: 'List webhooks, newest first, with cursor pagination',
    group: 'webhooksRead',
    scope: 'webhooks:read',
    query: WebhookListQuery,
    success: { status: 200, schema: WebhookList, description: 'A page of webhooks' },
  },
  {
    operationId: 'createWebhook',
    method: 'POST',
    path: `${API_BASE_PATH}/webhooks`,
    summary: 'Create a webhook; the response carries its signing secret',
    group: 'webhooksWrite',
    scope: 'webhooks:write',
    body: WebhookCreate,
    success: { status: 201, schema: WebhookWithSecret, description: 'The webhook and its secret' },
  },
  {
    operationId: 'getWebhook',
    method: 'GET',
    path: webhookPath,
    summary: 'Get a webhook (never its secret)',
    group: 'webhooksRead',
    scope: 'webhooks:read',
    success: { status: 200, schema: Webhook, description: 'The webhook; the ETag header carries its version' },
  },
  {
    operationId: 'getWebhookSecret',
    method: 'GET',
    path: `${webhookPath}/secret`,
    summary: "Get a webhook's signing secret",
    group: 'webhooksWrite',
    scope: 'webhooks:write',
    success: { status: 200, schema: WebhookSecretResponse, description: 'The signing secret' },
  },
  {
    operationId: 'rotateWebhookSecret',
    method: 'POST',
    path: `${webhookPath}/secret/rotate`,
    summary: 'Replace the signing secret; the previous one keeps signing deliveries for the overlap (24 h by default)',
    group: 'webhooksWrite',
    scope: 'webhooks:write',
    body: SecretRotation,
    success: { status: 200, schema: SecretRotated, description: 'The new secret' },
  },
  ...(['PATCH', 'PUT'] as const).map((method) => ({
    operationId: method === 'PATCH' ? 'updateWebhook' : 'replaceWebhookFields',
    method,
    path: webhookPath,
    summary:
      'Update the given fields; "" or null removes an optional field. PUT has the same semantics as PATCH. Send If-Match with an ETag to update only that version.',
    group: 'webhooksWrite' as const,
    scope: 'webhooks:write' as const,
    body: WebhookPatch,
    success: { status: 200, schema: WebhookUpdateResponse, description: 'The updated webhook and every changed field' },
  })),
  {
    operationId: 'deleteWebhook',
    method: 'DELETE',
    path: webhookPath,
    summary: 'Delete a webhook; nothing new is delivered to it afterwards',
    group: 'webhooksWrite',
    scope: 'webhooks:write',
    success: { status: 200, schema: Webhook, description: 'The configuration of the deleted webhook' },
  },
  {
    operationId: 'pingWebhook',
    method: 'POST',
    path: `${webhookPath}/ping`,
    summary: 'Send a signed `ping` event to the webhook',
    group: 'webhooksWrite',
    scope: 'webhooks:write',
    success: { status: 202, schema: DeliveryAccepted, description: 'The ping is queued for delivery' },
  },
  {
    operationId: 'listDeliveries',
    method: 'GET',
    path: `${webhookPath}/deliveries`,
    summary: "The webhook's deliveries, newest first; filter with `status`",
    group: 'webhooksRead',
    scope: 'webhooks:read',
    query: DeliveryListQuery,
    success: { status: 200, schema: DeliveryList, description: 'A page of deliveries' },
  },
  {
    operationId: 'getDelivery',
    method: 'GET',
    path: `${webhookPath}/deliveries/{deliveryId}`,
    summary: 'A delivery with every attempt (status, HTTP code, duration, error, response snippet)',
    group: 'webhooksRead',
    scope: 'webhooks:read',
    success: { status: 200, schema: Delivery, description: 'The delivery and its attempts' },
  },
  {
    operationId: 'recoverWebhook',
    method: 'POST',
    path: `${webhookPath}/recover`,
    summary: 'Re-send every failed delivery of the webhook since a time (at most 14 days ago), with the same webhook-ids',
    group: 'webhooksWrite',
    scope: 'webhooks:write',
    body: RecoverRequest,
    success: { status: 202, schema: RecoverAccepted, description: 'The failed deliveries are queued again' },
  },
  {
    operationId: 'retryDelivery',
    method: 'POST',
    path: `${webhookPath}/deliveries/{deliveryId}/retry`,
    summary: 'Send the delivery again now, with the same webhook-id',
    group: 'webhooksWrite',
    scope: 'webhooks:write',
    success: { status: 202, schema: DeliveryAccepted, description: 'The retry is queued' },
  },
  {
    operationId: 'listEventTypes',
    method: 'GET',
    path: `${API_BASE_PATH}/event-types`,
    summary: 'The event types webhooks can subscribe to, with JSON Schemas and examples',
    group: 'catalogue',
    scope: 'webhooks:read',
    success: { status: 200, schema: EventTypeList, description: 'The event-type catalogue' },
  },
  {
    operationId: 'getOpenApi',
    method: 'GET',
    path: `${API_BASE_PATH}/openapi.json`,
    summary: 'This OpenAPI document',
    group: 'catalogue',
    scope: null,
    success: { status: 200, schema: z.record(z.string(), z.unknown()), description: 'OpenAPI 3.1 document' },
  },
] as const satisfies readonly ApiRoute[];

export type OperationId = (typeof apiRoutes)[number]['operationId'];

export const WebhookPathParameters = z.object({ id: WebhookId });
export const DeliveryPathParameters = z.object({ id: WebhookId, deliveryId: z.string().regex(/^dlv_[0-9A-HJKMNP-TV-Z]{26}$/) });

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: ApiRoute; readonly pathParameters: Record<string, string> }
  | { readonly kind: 'methodNotAllowed'; readonly allow: readonly string[] }
  | { readonly kind: 'notFound' };

const compiled = apiRoutes.map((route) => ({
  route: route as ApiRoute,
  pattern: new RegExp(`^${route.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}/?$`),
}));

/** Resolves a request to its route, or says whether the path exists with other methods. */
export const matchRoute = (method: string, path: string): RouteMatch => {
  const allow: string[] = [];
  for (const { route, pattern } of compiled) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (route.method === method) {
      const pathParameters = decodePathParameters(match.groups ?? {});
      return pathParameters ? { kind: 'route', route, pathParameters } : { kind: 'notFound' };
    }
    allow.push(route.method);
  }
  return allow.length > 0 ? { kind: 'methodNotAllowed', allow } : { kind: 'notFound' };
};

const decodePathParameters = (groups: Record<string, string>): Record<string, string> | undefined => {
  try {
    return Object.fromEntries(Object.entries(groups).map(([name, value]) => [name, decodeURIComponent(value)]));
  } catch {
    return undefined; // malformed percent-encoding names no resource
  }
};

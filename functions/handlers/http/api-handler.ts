import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { matchRoute, type OperationId } from '../../contracts/api-routes.js';
import { type Principal, Scope } from '../../domain/api-key.js';
import { toErrorResponse } from './error-response.js';
import { httpErrors } from './http-error.js';

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiRequest {
  readonly principal: Principal | undefined;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, for routes that declare one. */
  readonly body: unknown;
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Operation = (request: ApiRequest) => Promise<ApiResponse>;
export type Operations = Partial<Record<OperationId, Operation>>;

interface Logger {
  error(message: string, ...extra: unknown[]): void;
}

/**
 * Builds the Lambda handler of one route group: resolves the route from the shared route table, enforces the
 * deployment region, the key's scope and the JSON body rules, runs the operation and formats the response.
 * Every error, thrown anywhere, goes through the one error mapper.
 */
export const createApiHandler = (options: { operations: Operations; region: string; logger: Logger }) =>
  middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(httpHeaderNormalizer())
    .use({
      onError: async (request) => {
        request.response = toErrorResponse(request.error, options.logger);
      },
    })
    .handler(async (event) => {
      const match = matchRoute(event.httpMethod, event.path);
      if (match.kind === 'notFound') throw httpErrors.routeNotFound();
      if (match.kind === 'methodNotAllowed') throw httpErrors.methodNotAllowed(match.allow);
      const operation = options.operations[match.route.operationId as OperationId];
      if (!operation) throw httpErrors.routeNotFound();

      const query = definedValues(event.queryStringParameters);
      // As the OpenAPI document says: a parameter a route does not take is refused, not ignored (a misspelt `limit`
      // would otherwise silently give the default page).
      const known = ['region', ...Object.keys(match.route.query?.shape ?? {})];
      const unknown = Object.keys(query).filter((name) => !known.includes(name));
      if (unknown.length > 0) throw httpErrors.unknownQueryParameters(unknown, known);
      const requestedRegion = query.region;
      if (requestedRegion !== undefined && requestedRegion !== options.region) {
        throw httpErrors.invalidRegion(requestedRegion, options.region);
      }
      const principal = principalOf(event);
      if (match.route.scope !== null) {
        if (!principal) throw httpErrors.unauthorized();
        if (!principal.scopes.includes(match.route.scope)) throw httpErrors.forbidden(match.route.scope);
      }
      const headers = definedValues(event.headers);
      const response = await operation({
        principal,
        pathParameters: match.pathParameters,
        query,
        headers,
        body: 'body' in match.route ? parseJsonBody(event, headers) : undefined,
      });
      return {
        statusCode: response.statusCode,
        headers: { 'content-type': 'application/json', ...response.headers },
        body: JSON.stringify(response.body),
      };
    });

/** The tenant and scopes the authorizer put into the request context (strings only, by API Gateway's rules). */
const principalOf = (event: APIGatewayProxyEvent): Principal | undefined => {
  const context = event.requestContext.authorizer;
  const tenantId = context?.tenantId;
  const keyId = context?.keyId;
  if (typeof tenantId !== 'string' || typeof keyId !== 'string') return undefined;
  const scopes = String(context?.scopes ?? '')
    .split(' ')
    .filter((scope): scope is Scope => Scope.safeParse(scope).success);
  return { tenantId, keyId, scopes };
};

const parseJsonBody = (event: APIGatewayProxyEvent, headers: Record<string, string>): unknown => {
  const raw = event.body ?? '';
  if (raw === '') return undefined; // the route's schema decides whether a body is required
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw httpErrors.payloadTooLarge(MAX_BODY_BYTES);
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(headers['content-type'] ?? '')) throw httpErrors.unsupportedMediaType();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw httpErrors.malformedJson((error as Error).message);
  }
};

const definedValues = (record: Record<string, string | undefined> | null): Record<string, string> =>
  Object.fromEntries(Object.entries(record ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));

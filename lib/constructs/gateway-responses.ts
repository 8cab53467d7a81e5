import { ResponseType, type RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { HttpError, httpErrors } from '../../functions/handlers/http/http-error.js';
import { errorResult } from '../../functions/handlers/http/error-response.js';

/** API Gateway's own payload limit for REST APIs; bodies under it reach the handlers, which apply theirs. */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** Stands for API Gateway's own message, which only the mapping template can insert. */
const GATEWAY_MESSAGE = '\u0000gateway-message\u0000';

interface GatewayError {
  readonly type: ResponseType;
  readonly error: HttpError;
  /** Answer with the error's status code; otherwise API Gateway's status (a 4XX or 5XX family default) stays. */
  readonly overrideStatus: boolean;
}

/**
 * The errors API Gateway answers itself, before or instead of a handler, as the same HttpErrors the handlers use,
 * so every response of the API has the one error shape `{ "error": { "code", "message", "details": [] } }`.
 */
export const gatewayErrors: readonly GatewayError[] = [
  { type: ResponseType.UNAUTHORIZED, error: httpErrors.unauthorized(), overrideStatus: true },
  {
    type: ResponseType.ACCESS_DENIED,
    error: new HttpError(403, 'forbidden', 'This API key may not call this route'),
    overrideStatus: true,
  },
  // API Gateway's answer for a path or method with no resource; the fallback methods make it rare.
  { type: ResponseType.MISSING_AUTHENTICATION_TOKEN, error: httpErrors.routeNotFound(), overrideStatus: true },
  {
    type: ResponseType.REQUEST_TOO_LARGE,
    error: httpErrors.payloadTooLarge(API_GATEWAY_MAX_PAYLOAD_BYTES),
    overrideStatus: true,
  },
  {
    type: ResponseType.THROTTLED,
    error: new HttpError(429, 'too_many_requests', 'Too many requests; retry with backoff'),
    overrideStatus: true,
  },
  { type: ResponseType.DEFAULT_4XX, error: new HttpError(400, 'bad_request', GATEWAY_MESSAGE), overrideStatus: false },
  {
    type: ResponseType.DEFAULT_5XX,
    error: new HttpError(500, 'internal_error', 'An internal error occurred; retry later'),
    overrideStatus: false,
  },
];

/**
 * The mapping template of one gateway response: the body `errorResult()` builds, with API Gateway's message
 * inserted where the error asked for it. Static text must not contain VTL syntax (`$`, `#`).
 */
export const gatewayResponseTemplate = (error: HttpError): string => {
  const body = errorResult(error.statusCode, error.code, error.message, error.details).body;
  const placeholder = JSON.stringify(GATEWAY_MESSAGE);
  if (/[$#]/.test(body)) {
    throw new Error(`Gateway response "${error.code}" contains VTL syntax ($ or #), which the template would evaluate`);
  }
  return body.split(placeholder).join('$context.error.messageString');
};

/** Header mapping values are quoted literals in API Gateway. */
const gatewayResponseHeaders = (error: HttpError): Record<string, string> => {
  const headers = errorResult(error.statusCode, error.code, error.message, error.details, error.headers).headers ?? {};
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => {
      if (String(value).includes("'")) throw new Error(`Gateway response header ${name} must not contain a quote`);
      return [name, `'${String(value)}'`];
    }),
  );
};

/** Adds every gateway response of `gatewayErrors` to the API. */
export const addGatewayResponses = (api: RestApiBase): void => {
  for (const { type, error, overrideStatus } of gatewayErrors) {
    api.addGatewayResponse(`${pascalCase(type.responseType)}Response`, {
      type,
      ...(overrideStatus && { statusCode: String(error.statusCode) }),
      responseHeaders: gatewayResponseHeaders(error),
      templates: { 'application/json': gatewayResponseTemplate(error) },
    });
  }
};

const pascalCase = (value: string) =>
  value
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

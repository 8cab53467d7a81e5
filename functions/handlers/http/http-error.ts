import type { ErrorDetail } from '../../domain/errors.js';

/** Errors of the HTTP transport itself (auth, routing, body parsing); domain errors are mapped separately. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const httpErrors = {
  unauthorized: () =>
    new HttpError(401, 'unauthorized', 'A valid API key is required (x-api-key or Authorization: Bearer)', [], {
      'www-authenticate': 'Bearer',
    }),
  forbidden: (scope: string) => new HttpError(403, 'forbidden', `This API key lacks the ${scope} scope`),
  routeNotFound: () => new HttpError(404, 'not_found', 'No such route'),
  methodNotAllowed: (allow: readonly string[]) =>
    new HttpError(405, 'method_not_allowed', `Method not allowed; use ${allow.join(', ')}`, [], { allow: allow.join(', ') }),
  payloadTooLarge: (limitBytes: number) =>
    new HttpError(413, 'payload_too_large', `Request body exceeds ${limitBytes} bytes`),
  unsupportedMediaType: () =>
    new HttpError(415, 'unsupported_media_type', 'Request body must be sent as Content-Type: application/json'),
  malformedJson: (reason: string) =>
    new HttpError(400, 'malformed_json', 'Request body is not valid JSON', [{ path: 'body', message: reason }]),
  invalidRegion: (requested: string, actual: string) =>
    new HttpError(400, 'invalid_region', 'Invalid Region', [
      { path: 'region', message: `this deployment serves region ${actual}, not ${requested}` },
    ]),
  unknownQueryParameters: (unknown: readonly string[], known: readonly string[]) =>
    new HttpError(
      400,
      'validation_failed',
      'Request validation failed',
      unknown.map((name) => ({ path: `query.${name}`, message: `unknown query parameter; this route takes ${known.join(', ')}` })),
    ),
  invalidIfMatch: () =>
    new HttpError(400, 'validation_failed', 'Request validation failed', [
      { path: 'if-match', message: 'must be an ETag returned by this API, e.g. "3"' },
    ]),
};

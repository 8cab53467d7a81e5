import type { APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import type { ErrorResponse } from '../../contracts/error.schema.js';
import {
  ConflictError,
  DomainError,
  type ErrorDetail,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '../../domain/errors.js';
import { HttpError } from './http-error.js';

interface ErrorLogger {
  error(message: string, ...extra: unknown[]): void;
}

const domainStatus = (error: DomainError): number => {
  if (error instanceof ValidationError) return 400;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof PreconditionFailedError) return 412;
  return 400;
};

/** The one place errors become HTTP responses. Unknown errors are logged with their cause and never exposed. */
export const toErrorResponse = (error: unknown, logger: ErrorLogger): APIGatewayProxyResult => {
  if (error instanceof z.ZodError) return toErrorResponse(new ValidationError(zodIssueDetails(error)), logger);
  if (error instanceof HttpError) {
    return errorResult(error.statusCode, error.code, error.message, error.details, error.headers);
  }
  if (error instanceof DomainError) {
    return errorResult(domainStatus(error), error.code, error.message, error.details);
  }
  logger.error('Unhandled error', error as Error);
  return errorResult(500, 'internal_error', 'An internal error occurred; it has been logged', []);
};

export const errorResult = (
  statusCode: number,
  code: string,
  message: string,
  details: readonly ErrorDetail[],
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult => {
  const body: ErrorResponse = { error: { code, message, details: [...details] } };
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
};

/** `events[0]`-style paths, one detail per issue. */
export const zodIssueDetails = (error: z.ZodError, root?: string): ErrorDetail[] =>
  issueDetails(error.issues, root === undefined ? [] : [root]);

const issueDetails = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): ErrorDetail[] =>
  issues.flatMap((issue) => {
    const at = [...prefix, ...issue.path];
    const path = formatPath(at);
    // A record's key failing its schema: say why, not only that the key is invalid.
    if (issue.code === 'invalid_key') return issue.issues.map((inner) => ({ path, message: `name ${inner.message}` }));
    // A removable field (`value | "" | null`) with a bad value: what is wrong with the value, not "Invalid input".
    const [value] = issue.code === 'invalid_union' ? issue.errors : [];
    if (value && value.length > 0) return issueDetails(value, at);
    return [{ path, message: issue.message }];
  });

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, segment) => {
    if (typeof segment === 'number') return `${acc}[${segment}]`;
    const name = String(segment);
    return acc === '' ? name : `${acc}.${name}`;
  }, '') || 'body';

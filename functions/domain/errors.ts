/** One problem with one field of a request, as `details[]` of the error body. */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

/**
 * Errors the domain raises on purpose. Each carries a stable machine-readable `code`; the HTTP layer maps the
 * class to a status code in one place (functions/handlers/http/error-response.ts). Anything that is not a
 * DomainError is unexpected and becomes a generic 500.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;

  constructor(
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  readonly code = 'validation_failed';

  constructor(details: readonly ErrorDetail[]) {
    super('Request validation failed', details);
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'not_found';
}

export class ConflictError extends DomainError {
  readonly code = 'conflict';
}

/** The caller's `If-Match` names a version that is no longer current. */
export class PreconditionFailedError extends DomainError {
  readonly code = 'precondition_failed';
}

/**
 * The stored webhook changed between read and write (optimistic concurrency). Internal: the service retries,
 * or reports PreconditionFailedError when the caller pinned a version with If-Match.
 */
export class StaleVersionError extends Error {
  constructor(readonly webhookId: string) {
    super(`webhook ${webhookId} was modified concurrently`);
    this.name = 'StaleVersionError';
  }
}

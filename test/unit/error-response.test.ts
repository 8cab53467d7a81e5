import * as z from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../../functions/domain/errors.js';
import { toErrorResponse } from '../../functions/handlers/http/error-response.js';
import { httpErrors } from '../../functions/handlers/http/http-error.js';

const capture = () => {
  const logged: unknown[][] = [];
  return { logger: { error: (...args: unknown[]) => void logged.push(args) }, logged };
};

describe('toErrorResponse', () => {
  it('hides unexpected errors behind a generic 500 and logs their cause', () => {
    const { logger, logged } = capture();
    const response = toErrorResponse(new Error('connection string postgres://admin:pw@db'), logger);
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'internal_error', message: 'An internal error occurred; it has been logged', details: [] },
    });
    expect(response.body).not.toContain('postgres');
    expect(String((logged[0]?.[1] as Error).message)).toContain('postgres');
  });

  it.each([
    [new ValidationError([{ path: 'url', message: 'bad' }]), 400, 'validation_failed'],
    [new NotFoundError('No webhook'), 404, 'not_found'],
    [new ConflictError('taken'), 409, 'conflict'],
    [httpErrors.methodNotAllowed(['GET']), 405, 'method_not_allowed'],
    [httpErrors.payloadTooLarge(65536), 413, 'payload_too_large'],
  ])('maps %p to %i %s', (error, status, code) => {
    const response = toErrorResponse(error, capture().logger);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error.code).toBe(code);
  });

  it('turns schema failures into one detail per problem with field paths', () => {
    const schema = z.object({ events: z.array(z.string()), url: z.string() });
    const result = schema.safeParse({ events: ['a', 1] });
    const response = toErrorResponse(result.error, capture().logger);
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'validation_failed',
      message: 'Request validation failed',
      details: [
        { path: 'events[1]', message: expect.any(String) },
        { path: 'url', message: expect.any(String) },
      ],
    });
  });
});

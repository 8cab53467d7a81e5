import { decodeCursor, encodeCursor } from '../../functions/domain/cursor.js';
import { ValidationError } from '../../functions/domain/errors.js';

const encoded = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('list cursors', () => {
  it('give back the last id they were made from, and are opaque (base64url)', () => {
    const cursor = encodeCursor('wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST');

    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain('wh_');
    expect(decodeCursor(cursor)).toBe('wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST');
  });

  it.each([
    ['not base64url JSON', 'not-a-cursor'],
    ['JSON null', encoded(null)],
    ['a JSON number', encoded(42)],
    ['a JSON string', encoded('wh_1')],
    ['an object without "after"', encoded({ before: 'wh_1' })],
    ['an "after" that is not a string', encoded({ after: 7 })],
    ['an "after" that is null', encoded({ after: null })],
  ])('refuses %s with a validation error on `cursor`', (_what, cursor) => {
    let refusal: unknown;
    try {
      decodeCursor(cursor);
    } catch (error) {
      refusal = error;
    }

    expect(refusal).toBeInstanceOf(ValidationError);
    expect((refusal as ValidationError).details).toEqual([{ path: 'cursor', message: 'is not a cursor returned by this API' }]);
  });
});

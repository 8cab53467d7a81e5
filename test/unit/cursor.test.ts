import { CURSOR_PATTERN } from '../../functions/contracts/common.schema.js';
import { decodeCursor, encodeCursor } from '../../functions/domain/cursor.js';
import { ValidationError } from '../../functions/domain/errors.js';

const encoded = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('list cursors', () => {
  it('give back the last id they were made from, and are opaque (base64url)', () => {
    const cursor = encodeCursor('wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST');

    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).toMatch(CURSOR_PATTERN);
    expect(cursor).not.toContain('wh_');
    expect(decodeCursor(cursor, 'wh_')).toBe('wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST');
    expect(decodeCursor(encodeCursor('dlv_7ZZZZZZZZZZZZZZZZZZZZZZZZZ'), 'dlv_')).toBe('dlv_7ZZZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(decodeCursor(encodeCursor('dlv_00000000000000000000000000'), 'dlv_')).toBe('dlv_00000000000000000000000000');
  });

  it('decode every string the OpenAPI document allows (its pattern is the whole rule) to an id', () => {
    for (const cursor of ['AAAAAAAAAAAAAAAAAAAAAA', '_____________________w', 'abcdefghijklmnopqrstuQ', '0123456789-_ABCDEFGHIg']) {
      const id = decodeCursor(cursor, 'wh_');
      expect(id).toMatch(/^wh_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
      expect(encodeCursor(id)).toBe(cursor);
    }
  });

  it.each([
    ['not base64url of 16 bytes', 'not-a-cursor'],
    ['base64url JSON (the former format)', encoded({ after: 'wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST' })],
    ['one character short', 'AAAAAAAAAAAAAAAAAAAAA'],
    ['one character long', 'AAAAAAAAAAAAAAAAAAAAAAA'],
    ['padded', 'AAAAAAAAAAAAAAAAAAAAAA=='],
    ['trailing bits set (not canonical)', 'AAAAAAAAAAAAAAAAAAAAAB'],
    ['base64, not base64url', 'AAAAAAAAAAAAAAAAAAAA+A'],
  ])('refuses %s with a validation error on `cursor`', (_what, cursor) => {
    let refusal: unknown;
    try {
      decodeCursor(cursor, 'wh_');
    } catch (error) {
      refusal = error;
    }

    expect(refusal).toBeInstanceOf(ValidationError);
    expect((refusal as ValidationError).details).toEqual([{ path: 'cursor', message: 'is not a cursor returned by this API' }]);
  });

  it('are only made of ULID ids', () => {
    expect(() => encodeCursor('wh_1')).toThrow('not a ULID');
    expect(() => encodeCursor('wh_8ZZZZZZZZZZZZZZZZZZZZZZZZZ')).toThrow('not a ULID');
  });
});

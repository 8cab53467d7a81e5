import { ValidationError } from './errors.js';

/** Cursors are opaque to clients: base64url of the last id seen. */
export const encodeCursor = (lastId: string) => Buffer.from(JSON.stringify({ after: lastId })).toString('base64url');

export const decodeCursor = (cursor: string): string => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'after' in parsed && typeof parsed.after === 'string') {
      return parsed.after;
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError([{ path: 'cursor', message: 'is not a cursor returned by this API' }]);
};

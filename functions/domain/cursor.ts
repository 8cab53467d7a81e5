import { CURSOR_PATTERN } from '../contracts/common.schema.js';
import { CROCKFORD } from './delivery/delivery-id.js';
import { ValidationError } from './errors.js';

const ULID_LENGTH = 26;

/**
 * Cursors are opaque to clients: the base64url (unpadded, 22 characters) of the 16 bytes of the ULID of the last id
 * seen. Every string of that shape (CURSOR_PATTERN, which the OpenAPI document states) decodes to an id, so the API
 * accepts exactly the cursors its document allows.
 */
export const encodeCursor = (lastId: string): string => {
  const ulid = lastId.slice(lastId.indexOf('_') + 1);
  if (ulid.length !== ULID_LENGTH) throw new Error(`cannot make a cursor of id ${lastId}: not a ULID`);
  let bits = 0n;
  for (const character of ulid) {
    const digit = CROCKFORD.indexOf(character);
    if (digit < 0) throw new Error(`cannot make a cursor of id ${lastId}: not a ULID`);
    bits = (bits << 5n) | BigInt(digit);
  }
  if (bits >> 128n !== 0n) throw new Error(`cannot make a cursor of id ${lastId}: not a ULID`);
  const bytes = Buffer.alloc(16);
  for (let index = 15; index >= 0; index -= 1) {
    bytes[index] = Number(bits & 0xffn);
    bits >>= 8n;
  }
  return bytes.toString('base64url');
};

/** The id a cursor continues after: `idPrefix` (`wh_`, `dlv_`) and the ULID it carries. */
export const decodeCursor = (cursor: string, idPrefix: string): string => {
  if (!CURSOR_PATTERN.test(cursor)) {
    throw new ValidationError([{ path: 'cursor', message: 'is not a cursor returned by this API' }]);
  }
  let bits = 0n;
  for (const byte of Buffer.from(cursor, 'base64url')) bits = (bits << 8n) | BigInt(byte);
  let ulid = '';
  for (let index = 0; index < ULID_LENGTH; index += 1) {
    ulid = CROCKFORD[Number(bits & 31n)]! + ulid;
    bits >>= 5n;
  }
  return `${idPrefix}${ulid}`;
};

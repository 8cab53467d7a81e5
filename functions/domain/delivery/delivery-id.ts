import { createHash } from 'node:crypto';
import { encodeTime } from 'ulid';

/** The digits of a ULID: Crockford's base 32. */
export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The id of the delivery of one event to one webhook: a ULID whose time is the event's and whose randomness is
 * a hash of (event id, webhook id). Deterministic, so publishing the same event twice, or redelivering the
 * same queue message, addresses the same delivery; time-ordered, so listings are newest first.
 */
export const deliveryIdFor = (eventId: string, webhookId: string, eventTime: Date): string => {
  const digest = createHash('sha256').update(`${eventId}\u0000${webhookId}`).digest();
  let bits = 0n;
  for (const byte of digest.subarray(0, 10)) bits = (bits << 8n) | BigInt(byte);
  let random = '';
  for (let index = 0; index < 16; index += 1) {
    random = CROCKFORD[Number(bits & 31n)]! + random;
    bits >>= 5n;
  }
  return `dlv_${encodeTime(eventTime.getTime(), 10)}${random}`;
};

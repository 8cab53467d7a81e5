import { createHmac } from 'node:crypto';
import { SECRET_PREFIX } from '../../contracts/webhook.schema.js';

export const USER_AGENT = 'WebhookPlatform/1.0 (+https://github.com/standard-webhooks/standard-webhooks)';

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the secret's
 * decoded bytes; one signature per valid secret, space-separated (during a rotation both verify).
 */
export const standardWebhooksSignature = (
  secrets: readonly string[],
  message: { id: string; timestampSeconds: number; body: string },
): string =>
  secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
      const digest = createHmac('sha256', key).update(`${message.id}.${message.timestampSeconds}.${message.body}`).digest('base64');
      return `v1,${digest}`;
    })
    .join(' ');

/** GitHub-style `X-Hub-Signature-256`: hex HMAC-SHA256 of the raw body keyed with the secret string itself. */
export const hubSignature256 = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** Every header of a delivery request. `webhook-id` is the event id: the same across retries, for deduplication. */
export const deliveryHeaders = (options: {
  secrets: readonly string[];
  eventId: string;
  deliveryId: string;
  attempt: number;
  timestampSeconds: number;
  body: string;
}): Record<string, string> => {
  const [newest] = options.secrets;
  if (newest === undefined) throw new Error('a webhook always has a secret');
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': options.eventId,
    'webhook-timestamp': String(options.timestampSeconds),
    'webhook-signature': standardWebhooksSignature(options.secrets, {
      id: options.eventId,
      timestampSeconds: options.timestampSeconds,
      body: options.body,
    }),
    'x-hub-signature-256': hubSignature256(newest, options.body),
    'webhook-delivery-id': options.deliveryId,
    'webhook-attempt': String(options.attempt),
    'webhook-attempt-id': `${options.deliveryId}.${options.attempt}`,
  };
};

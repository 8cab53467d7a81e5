import { createHash } from 'node:crypto';

/**
 * The single-table design, shared by the CDK table construct, local mode's table bootstrap and the repositories.
 *
 * | item          | pk                              | sk                  | gsi1pk                  | gsi1sk |
 * |---------------|---------------------------------|---------------------|-------------------------|--------|
 * | tenant        | TENANT#{tenantId}               | TENANT              |                         |        |
 * | webhook       | TENANT#{tenantId}               | WEBHOOK#{webhookId} |                         |        |
 * | subscription  | TENANT#{tenantId}#EVENT#{type}  | URL#{sha256(url)}   |                         |        |
 * | API key       | APIKEY#{sha256(key)}            | APIKEY              | TENANT#{tenantId}#KEYS  | keyId  |
 * | delivery      | TENANT#{tenantId}#WEBHOOK#{id}  | DELIVERY#{deliveryId} |                       |        |
 * | publication   | TENANT#{tenantId}#PUBLISHED#{eventId} | PUBLISHED     |                         |        |
 *
 * Deliveries and publications expire through DynamoDB TTL on `expiresAt` (epoch seconds).
 */
export const tableDesign = {
  partitionKey: 'pk',
  sortKey: 'sk',
  tenantKeysIndex: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  timeToLiveAttribute: 'expiresAt',
} as const;

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

export const WEBHOOK_SK_PREFIX = 'WEBHOOK#';
export const DELIVERY_SK_PREFIX = 'DELIVERY#';

export const itemKeys = {
  tenant: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' }),
  webhook: (tenantId: string, webhookId: string) => ({ pk: `TENANT#${tenantId}`, sk: `${WEBHOOK_SK_PREFIX}${webhookId}` }),
  webhooksOf: (tenantId: string) => `TENANT#${tenantId}`,
  subscription: (tenantId: string, eventType: string, url: string) => ({
    pk: itemKeys.subscriptionsOf(tenantId, eventType),
    sk: `URL#${sha256(url)}`,
  }),
  subscriptionsOf: (tenantId: string, eventType: string) => `TENANT#${tenantId}#EVENT#${eventType}`,
  apiKey: (keyHash: string) => ({ pk: `APIKEY#${keyHash}`, sk: 'APIKEY' }),
  apiKeysOf: (tenantId: string) => `TENANT#${tenantId}#KEYS`,
  delivery: (tenantId: string, webhookId: string, deliveryId: string) => ({
    pk: itemKeys.deliveriesOf(tenantId, webhookId),
    sk: `${DELIVERY_SK_PREFIX}${deliveryId}`,
  }),
  deliveriesOf: (tenantId: string, webhookId: string) => `TENANT#${tenantId}#WEBHOOK#${webhookId}`,
  publication: (tenantId: string, eventId: string) => ({ pk: `TENANT#${tenantId}#PUBLISHED#${eventId}`, sk: 'PUBLISHED' }),
};

import { parseApiEnvironment } from './config.js';
import { createLogger } from './logger.js';
import { createApiHandler } from './http/api-handler.js';
import { deliveryOperations, webhookOperations } from './api.operations.js';
import { createDeliveryService, createWebhookService, refusingJobQueue, refusingVault } from './wiring.js';

const env = parseApiEnvironment();
const { listWebhooks, getWebhook } = webhookOperations(createWebhookService(env, refusingVault));
const { listDeliveries, getDelivery } = deliveryOperations(createDeliveryService(env, refusingJobQueue));

/** GET routes of /v1/webhooks and their deliveries: read-only access to the table. */
export const handler = createApiHandler({
  operations: { listWebhooks, getWebhook, listDeliveries, getDelivery },
  region: env.AWS_REGION,
  logger: createLogger('webhooks-read'),
});

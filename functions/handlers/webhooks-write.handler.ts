import { parseApiEnvironment } from './config.js';
import { createLogger } from './logger.js';
import { createApiHandler } from './http/api-handler.js';
import { deliveryOperations, webhookOperations } from './api.operations.js';
import { createCredentialsVaultFor } from './kms-wiring.js';
import { createDeliveryJobQueueFor } from './sqs-wiring.js';
import { createDeliveryService, createWebhookService } from './wiring.js';

const env = parseApiEnvironment();
const operations = webhookOperations(createWebhookService(env, createCredentialsVaultFor(env)));
const { pingWebhook, retryDelivery, recoverWebhook } = deliveryOperations(
  createDeliveryService(env, createDeliveryJobQueueFor(env)),
);

/** Routes that change webhooks, reveal secrets or queue deliveries. */
export const handler = createApiHandler({
  operations: {
    createWebhook: operations.createWebhook,
    getWebhookSecret: operations.getWebhookSecret,
    rotateWebhookSecret: operations.rotateWebhookSecret,
    updateWebhook: operations.updateWebhook,
    replaceWebhookFields: operations.replaceWebhookFields,
    deleteWebhook: operations.deleteWebhook,
    pingWebhook,
    retryDelivery,
    recoverWebhook,
  },
  region: env.AWS_REGION,
  logger: createLogger('webhooks-write'),
});

import { parseApiEnvironment } from './config.js';
import { createApiHandler } from './http/api-handler.js';
import { webhookOperations } from './webhooks.operations.js';
import { createLogger, createWebhookService } from './wiring.js';

const env = parseApiEnvironment();
const { listWebhooks, getWebhook } = webhookOperations(createWebhookService(env));

/** GET routes of /v1/webhooks: read-only access to the table. */
export const handler = createApiHandler({
  operations: { listWebhooks, getWebhook },
  region: env.AWS_REGION,
  logger: createLogger('webhooks-read'),
});

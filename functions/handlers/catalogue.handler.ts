import * as z from 'zod';
import { catalogueOperations } from './catalogue.operations.js';
import { createLogger } from './logger.js';
import { createApiHandler } from './http/api-handler.js';


const env = z
  .object({ AWS_REGION: z.string().min(1), ALLOW_HTTP_URLS: z.enum(['true', 'false']).default('false') })
  .parse(process.env);

/**
 * Storage-free routes (event types, OpenAPI), and API Gateway's fallback: the ANY methods and the catch-all
 * resource send unknown routes and wrong methods here, answered 404 / 405 from the shared route table.
 */
export const handler = createApiHandler({
  operations: catalogueOperations({ region: env.AWS_REGION, allowHttpUrls: env.ALLOW_HTTP_URLS === 'true' }),
  region: env.AWS_REGION,
  logger: createLogger('catalogue'),
});

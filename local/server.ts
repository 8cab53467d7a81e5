import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDevTenants } from './dev-keys.js';
import { startLocalPlatform } from './platform.js';

/**
 * `npm start`: the platform on http://127.0.0.1:${PORT:-3000}, data persisted under DATA_DIR (default .data).
 * DEV_API_KEY registers a key for tenant `dev`; DEV_TENANTS='acme:key1,globex:key2:read' registers more.
 */
const LocalEnvironment = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default('.data'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  ALLOW_HTTP_URLS: z.enum(['true', 'false']).default('true'),
  ALLOW_PRIVATE_DESTINATIONS: z.enum(['true', 'false']).default('true'),
  EVENT_SOURCES: z.string().optional(),
  RETRY_SCHEDULE: z.string().optional(),
  DEV_API_KEY: z.string().min(1).optional(),
  DEV_TENANTS: z.string().optional(),
});

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const main = async () => {
  const env = LocalEnvironment.parse(process.env);
  const devKeys = parseDevTenants(env.DEV_TENANTS);
  if (env.DEV_API_KEY) devKeys.unshift({ tenantId: 'dev', key: env.DEV_API_KEY, scopes: ['webhooks:read', 'webhooks:write'] });

  const platform = await startLocalPlatform({
    port: env.PORT,
    dataDir: resolve(env.DATA_DIR),
    region: env.AWS_REGION,
    allowHttpUrls: env.ALLOW_HTTP_URLS === 'true',
    allowPrivateDestinations: env.ALLOW_PRIVATE_DESTINATIONS === 'true',
    ...(env.EVENT_SOURCES && { eventSources: env.EVENT_SOURCES.split(',').map((source) => source.trim()) }),
    ...(env.RETRY_SCHEDULE !== undefined && { retrySchedule: env.RETRY_SCHEDULE }),
    devKeys,
    log,
  });

  log(`  data: ${resolve(env.DATA_DIR)} (embedded DynamoDB at ${platform.dynamoDbEndpoint}, SQS at ${platform.sqsEndpoint})`);
  if (env.ALLOW_HTTP_URLS === 'true') log('  http:// webhook URLs are accepted (local mode; ALLOW_HTTP_URLS=false to refuse them)');
  if (env.ALLOW_PRIVATE_DESTINATIONS === 'true') {
    log('  private and loopback destinations are allowed (local mode; ALLOW_PRIVATE_DESTINATIONS=false turns the SSRF guard on)');
  }
  log(`  events: EventBridge PutEvents at ${platform.url} from ${env.EVENT_SOURCES ? `sources ${env.EVENT_SOURCES}` : 'any source'}`);
  if (platform.generatedDevKey) log(`  API key for tenant "dev" (read+write): ${platform.generatedDevKey}`);
  for (const devKey of devKeys) log(`  API key for tenant "${devKey.tenantId}": ${devKey.scopes.join(' ')}`);
  log(`  try: curl -H "x-api-key: <key>" ${platform.url}/v1/event-types`);
  log(`webhook platform listening on ${platform.url}`);

  const shutdown = () => {
    platform.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import { resolve } from 'node:path';
import * as z from 'zod';
import { parseDevTenants } from './dev-keys.js';
import type { LocalPlatformOptions } from './platform.js';

/**
 * `npm start`'s settings, from its environment: the platform on http://127.0.0.1:${PORT:-3000}, data persisted
 * under DATA_DIR (default .data). DEV_API_KEY registers a key for tenant `dev`; DEV_TENANTS='acme:key1,globex:key2:read'
 * registers more.
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
export type LocalEnvironment = z.output<typeof LocalEnvironment>;

/** The environment parsed, and the platform's options it gives; throws naming every invalid variable. */
export const localSettingsFrom = (
  variables: NodeJS.ProcessEnv,
  log: (line: string) => void,
): { env: LocalEnvironment; options: LocalPlatformOptions } => {
  const env = LocalEnvironment.parse(variables);
  const devKeys = parseDevTenants(env.DEV_TENANTS);
  if (env.DEV_API_KEY) devKeys.unshift({ tenantId: 'dev', key: env.DEV_API_KEY, scopes: ['webhooks:read', 'webhooks:write'] });
  return {
    env,
    options: {
      port: env.PORT,
      dataDir: resolve(env.DATA_DIR),
      region: env.AWS_REGION,
      allowHttpUrls: env.ALLOW_HTTP_URLS === 'true',
      allowPrivateDestinations: env.ALLOW_PRIVATE_DESTINATIONS === 'true',
      ...(env.EVENT_SOURCES && { eventSources: env.EVENT_SOURCES.split(',').map((source) => source.trim()) }),
      ...(env.RETRY_SCHEDULE !== undefined && { retrySchedule: env.RETRY_SCHEDULE }),
      devKeys,
      log,
    },
  };
};

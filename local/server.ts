import { localSettingsFrom } from './environment.js';
import { startLocalPlatform } from './platform.js';

/** `npm start`: the whole platform in this process, configured by its environment (local/environment.ts). */
const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const main = async () => {
  const { env, options } = localSettingsFrom(process.env, log);
  const { devKeys } = options;
  const platform = await startLocalPlatform(options);

  log(`  data: ${options.dataDir} (embedded DynamoDB at ${platform.dynamoDbEndpoint}, SQS at ${platform.sqsEndpoint})`);
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

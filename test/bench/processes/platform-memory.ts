import { startLocalPlatform } from '../../../local/platform.js';

/**
 * The local platform as `npm start` assembles it (same handlers, embedded DynamoDB and SQS, event source
 * mappings), but in memory: no data folder, so neither the LevelDB store nor the queue state file is written.
 * Prints the same "listening on" line as local/server.ts.
 */
const platform = await startLocalPlatform({
  port: 0,
  region: 'us-east-1',
  allowHttpUrls: true,
  allowPrivateDestinations: true,
  eventSources: process.env.EVENT_SOURCES ? process.env.EVENT_SOURCES.split(',') : undefined,
  devKeys: [{ tenantId: 'dev', key: process.env.DEV_API_KEY!, scopes: ['webhooks:read', 'webhooks:write'] }],
  log: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(`webhook platform listening on ${platform.url}\n`);
const shutdown = () => {
  platform.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

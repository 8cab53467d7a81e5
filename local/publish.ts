import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Command } from 'commander';

/**
 * `npm run publish -- <type> <tenantId> '<json data>'`: publishes an event to the local platform with the
 * EventBridge SDK, exactly as a producer service does on AWS.
 */
const program = new Command('publish')
  .argument('<type>', 'event type, e.g. order.created')
  .argument('<tenantId>', 'tenant the event belongs to')
  .argument('<data>', 'the event data as JSON')
  .option('--source <source>', 'EventBridge Source', 'local.publisher')
  .option('--id <id>', 'idempotency id: the same id is delivered once per webhook')
  .option('--attribute <name=value...>', 'attributes matched against webhook filters')
  .option('--endpoint <url>', 'the local platform', `http://127.0.0.1:${process.env.PORT ?? '3000'}`)
  .action(async (type: string, tenantId: string, data: string, options: { source: string; id?: string; attribute?: string[]; endpoint: string }) => {
    const attributes = Object.fromEntries((options.attribute ?? []).map((pair) => pair.split(/=(.*)/s).slice(0, 2)));
    const client = new EventBridgeClient({
      region: process.env.AWS_REGION ?? 'us-east-1',
      endpoint: options.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const detail = { tenantId, data: JSON.parse(data) as unknown, ...(options.id && { id: options.id }), ...(options.attribute && { attributes }) };
    const result = await client.send(
      new PutEventsCommand({ Entries: [{ Source: options.source, DetailType: type, Detail: JSON.stringify(detail) }] }),
    );
    process.stdout.write(`${JSON.stringify(result.Entries, null, 2)}\n`);
    if (result.FailedEntryCount) process.exitCode = 1;
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
});

/**
 * `webhooks publish --event-bus <name>`: the admin CLI puts the event on a deployed bus named on the command line,
 * with nothing else of the stack (no --stack, no --table) and no local platform running. The bus, a rule for the
 * platform's pattern and its queue live in moto; the CLI runs as an operator runs it, as a child process, its
 * EventBridge endpoint set the way the SDK reads it from the environment (AWS_ENDPOINT_URL_EVENTBRIDGE).
 */
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { buildEventPattern } from '../../functions/contracts/event-routing.js';
import { runAdminCli } from '../support/admin-cli.js';
import { claimMoto, createQueue, drain, eventually, MOTO_REGION, motoEndpoint, motoEventBridgeClient, motoSqsClient, parseBody } from './support/moto-clients.js';

const SOURCE = 'com.example.shop';
const BUS = 'admin-publish-bus';

const admin = (...args: string[]) =>
  runAdminCli(args, {
    DATA_DIR: '/nonexistent-data-dir', // no local platform to fall back on
    AWS_ENDPOINT_URL_EVENTBRIDGE: motoEndpoint(),
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: MOTO_REGION,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });

let releaseMoto: (() => Promise<void>) | undefined;
afterAll(async () => releaseMoto?.());

it('publishes to the bus given with --event-bus alone, without a stack, a table or a local platform', async () => {
  releaseMoto = await claimMoto();
  const events = motoEventBridgeClient();
  const sqs = motoSqsClient();
  const queue = await createQueue(sqs, 'admin-publish-events');
  await events.send(new CreateEventBusCommand({ Name: BUS }));
  await events.send(new PutRuleCommand({ Name: 'admin-publish-rule', EventBusName: BUS, EventPattern: JSON.stringify(buildEventPattern([SOURCE])) }));
  await events.send(new PutTargetsCommand({ Rule: 'admin-publish-rule', EventBusName: BUS, Targets: [{ Id: 'queue', Arn: queue.arn }] }));
  const data = { orderId: 'o-cli', customerId: 'c', total: { amount: 1, currency: 'EUR' }, lines: [{ sku: 's', quantity: 1 }] };

  const published = await admin(
    '--event-bus', BUS,
    'publish', 'order.created', 'acme', JSON.stringify(data),
    '--source', SOURCE, '--id', 'evt-cli-bus', '--attribute', 'region=eu',
  );

  expect(published.code).toBe(0);
  expect(JSON.parse(published.stdout)).toEqual([{ EventId: expect.any(String) }]);
  const [message] = await eventually(async () => {
    const messages = await drain(sqs, queue);
    return messages.length > 0 ? messages : undefined;
  }, 20_000, 'the published event on the rule target queue');
  expect(parseBody(message!)).toMatchObject({
    source: SOURCE,
    'detail-type': 'order.created',
    detail: { tenantId: 'acme', id: 'evt-cli-bus', data, attributes: { region: 'eu' } },
  });
});

it('still refuses with the hint to act on when neither a bus nor a platform is given', async () => {
  const result = await admin('publish', 'order.created', 'acme', '{}');

  expect(result.code).toBe(1);
  expect(result.stderr).toContain('No local platform found');
});

/**
 * The deployed platform, black-box: the four stacks of the test stage (test/aws/deployed/stage.json) were deployed
 * into MiniStack with the real CDK CLI by this project's global setup, and everything here goes through what was
 * deployed, found by the stacks' outputs: tenants and keys through the admin CLI with `--stack`; the API through API
 * Gateway (MiniStack serves stage `s` of API `a` at `/_aws/execute-api/a/s/...`) and its Lambda authorizer; events
 * through EventBridge PutEvents on the deployed bus, its rule, the events queue, the event router Lambda, the
 * delivery queue and the delivery worker Lambda, to a real receiver on loopback whose requests are verified with
 * standardwebhooks and @octokit/webhooks-methods; dead letters and redrive through the deployed queues; the
 * monitoring stack's alarms and dashboard through CloudWatch.
 *
 * What MiniStack 1.5.33 cannot prove, and what covers it instead, is listed in the README ("How we test against
 * AWS without AWS"): IAM (it enforces none), TTL, PITR and SSE, EMF extraction, alarm evaluation, Node 22.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { verify as verifyHubSignature } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Agent, fetch } from 'undici';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/document-client.js';
import { itemKeys } from '../../../functions/adapters/dynamodb/table-design.js';
import { runAdminCli } from '../../support/admin-cli.js';
import { eventually } from '../../support/eventually.js';
import { type ReceivedRequest, startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';
import { DEPLOYED_ENV, EMULATED_REGION, emulatorClientEnv } from './support/deployment.js';

const SOURCE = 'com.example.shop';
const TENANT = 'deployed-probe';
/** Deliveries cross two queues and two Lambdas that MiniStack starts on first use: generous, polled bounds. */
const DELIVERY_WAIT_MS = 60_000;

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite with npm run test:deployed, whose global setup deploys the stacks`);
  return value;
};
const endpoint = required(DEPLOYED_ENV.endpoint);
const stackPrefix = required(DEPLOYED_ENV.stackPrefix);
const assembly = required(DEPLOYED_ENV.assembly);
const certificate = required(DEPLOYED_ENV.certificate);
const clientEnv = emulatorClientEnv(endpoint, certificate);
/** MiniStack serves TLS with a self-signed certificate: this process's clients trust it (child processes by env). */
const ca = readFileSync(certificate);
const clientConfig = {
  region: EMULATED_REGION,
  endpoint,
  credentials: { accessKeyId: clientEnv.AWS_ACCESS_KEY_ID!, secretAccessKey: clientEnv.AWS_SECRET_ACCESS_KEY! },
  requestHandler: { httpsAgent: new HttpsAgent({ ca, keepAlive: true }) },
};
const apiGateway = new Agent({ connect: { ca } });

const cloudFormation = new CloudFormationClient(clientConfig);
const events = new EventBridgeClient(clientConfig);
const sqs = new SQSClient(clientConfig);
const cloudWatch = new CloudWatchClient(clientConfig);
const dynamodb = createDocumentClient(clientConfig);

const outputsOf = async (stack: string): Promise<Record<string, string>> => {
  const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: `${stackPrefix}-${stack}` }));
  expect(Stacks[0]?.StackStatus).toBe('CREATE_COMPLETE');
  return Object.fromEntries((Stacks[0]?.Outputs ?? []).map((output) => [output.OutputKey!, output.OutputValue!]));
};

/** The admin CLI as an operator runs it against a deployed stage: `--stack`, names from the stack outputs. */
const admin = (...args: string[]) => runAdminCli(args, { ...clientEnv, DATA_DIR: '/nonexistent-data-dir' });
const adminJson = async <T>(...args: string[]): Promise<T> => {
  const result = await admin(...args);
  if (result.code !== 0) throw new Error(`webhooks ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
};

let stateful: Record<string, string>;
let apiBase: string;
let writeKey: string;
let readKey: string;
let receiver: WebhookReceiver;

beforeAll(async () => {
  stateful = await outputsOf('Stateful');
  // ApiUrl is https://{apiId}.execute-api.{region}.amazonaws.com/{stage}/ as on AWS; MiniStack serves it by path.
  const apiUrl = new URL((await outputsOf('Api')).ApiUrl!);
  const apiId = apiUrl.hostname.split('.')[0];
  apiBase = `${endpoint}/_aws/execute-api/${apiId}${apiUrl.pathname.replace(/\/$/, '')}`;
  receiver = await startWebhookReceiver();

  await adminJson('--stack', stackPrefix, 'tenant', 'create', TENANT, '--name', 'Deployed probe');
  ({ key: writeKey } = await adminJson<{ key: string }>('--stack', stackPrefix, 'key', 'create', TENANT));
  ({ key: readKey } = await adminJson<{ key: string }>('--stack', stackPrefix, 'key', 'create', TENANT, '--scopes', 'read'));
}, 120_000);

afterAll(async () => {
  await receiver?.stop();
  for (const client of [cloudFormation, events, sqs, cloudWatch, dynamodb]) client.destroy();
  await apiGateway.close();
});

/** `key` null: the request carries no key at all. */
const api = async (method: string, path: string, body?: unknown, key: string | null = writeKey) => {
  const response = await fetch(`${apiBase}${path}`, {
    dispatcher: apiGateway,
    method,
    headers: { ...(key !== null && { 'x-api-key': key }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};

interface CreatedWebhook {
  readonly id: string;
  readonly secret: string;
}

/** A webhook for one probe case: its filter lets through only the events that case publishes. */
const createWebhook = async (path: string, probe: string, options: Record<string, unknown> = {}): Promise<CreatedWebhook> => {
  const response = await api('POST', '/v1/webhooks', {
    url: receiver.url(path),
    events: ['order.created'],
    filters: { probe: [probe] },
    ...options,
  });
  expect(response.status).toBe(201);
  return response.body as CreatedWebhook;
};

let orderSequence = 0;
const orderData = () => ({
  orderId: `ord_deployed_${(orderSequence += 1)}`,
  customerId: 'cus_deployed',
  total: { amount: 1999, currency: 'EUR' },
  lines: [{ sku: 'SKU-1', quantity: 1 }],
});

/** PutEvents on the deployed bus, as a producer service does. */
const publish = async (id: string, attributes: Record<string, string>, data: unknown = orderData()) => {
  const result = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: stateful.EventBusName,
          Source: SOURCE,
          DetailType: 'order.created',
          Detail: JSON.stringify({ tenantId: TENANT, id, data, attributes }),
        },
      ],
    }),
  );
  expect(result.FailedEntryCount).toBe(0);
};

/** Resolves once the events and delivery queues (both lanes) hold nothing: visible, in flight or delayed. */
const pipelineIdle = () =>
  eventually(
    async () => {
      for (const queueUrl of [stateful.EventsQueueUrl, stateful.DeliveryQueueUrl, stateful.SlowLaneQueueUrl]) {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
          }),
        );
        if (Object.values(Attributes).some((count) => Number(count) > 0)) return undefined;
      }
      return true;
    },
    DELIVERY_WAIT_MS,
    'the events and delivery queues empty',
    250,
  );

const receivedAt = (path: string, what: string, count = 1): Promise<ReceivedRequest[]> =>
  eventually(async () => (receiver.at(path).length >= count ? receiver.at(path) : undefined), DELIVERY_WAIT_MS, what, 250);

const expectVerified = async (request: ReceivedRequest, secret: string) => {
  const headers = request.headers as Record<string, string>;
  expect(new StandardWebhook(secret).verify(request.body, headers)).toEqual(JSON.parse(request.body));
  expect(await verifyHubSignature(secret, request.body, headers['x-hub-signature-256']!)).toBe(true);
};

describe('the emulator', () => {
  it('enforces IAM: a caller it does not know may not send to the deployed delivery queue', async () => {
    const stranger = new SQSClient({
      ...clientConfig,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    });
    try {
      await expect(stranger.send(new SendMessageCommand({ QueueUrl: stateful.DeliveryQueueUrl, MessageBody: '{}' }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: expect.any(Number) },
        name: expect.stringMatching(/InvalidClientTokenId|AccessDenied|UnrecognizedClient/),
      });
    } finally {
      stranger.destroy();
    }
  });
});

describe('the API through API Gateway and its Lambda authorizer', () => {
  it('answers 401 without a key or with an unknown one, 403 to a read-only key writing, in the API’s error shape', async () => {
    const noKey = await api('GET', '/v1/webhooks', undefined, null);
    const unknownKey = await api('GET', '/v1/webhooks', undefined, 'wpk_not-a-key');
    const readOnly = await api('POST', '/v1/webhooks', { url: receiver.url('/ok/never'), events: ['order.created'] }, readKey);

    expect(noKey).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(unknownKey).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(readOnly).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await api('GET', '/v1/webhooks', undefined, readKey)).status).toBe(200);
  });

  it('creates, reads, lists, updates and deletes a webhook; the secret is shown on create only', async () => {
    const created = await api('POST', '/v1/webhooks', { url: receiver.url('/ok/crud'), events: ['order.created'], name: 'crud' });
    expect(created).toMatchObject({ status: 201, body: { id: expect.stringMatching(/^wh_/), secret: expect.stringMatching(/^whsec_/) } });
    const { id } = created.body as { id: string };

    const fetched = await api('GET', `/v1/webhooks/${id}`);
    expect(fetched).toMatchObject({ status: 200, body: { id, name: 'crud', enabled: true } });
    expect(fetched.body.secret).toBeUndefined();
    expect((await api('GET', '/v1/webhooks?limit=100')).body.data.map((webhook: { id: string }) => webhook.id)).toContain(id);

    const patched = await api('PATCH', `/v1/webhooks/${id}`, { name: 'crud renamed', description: 'patched' });
    expect(patched).toMatchObject({
      status: 200,
      body: { webhook: { name: 'crud renamed', description: 'patched' }, changes: { name: { from: 'crud', to: 'crud renamed' } } },
    });
    const invalid = await api('PATCH', `/v1/webhooks/${id}`, { events: ['no.such.event'] });
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });

    expect((await api('DELETE', `/v1/webhooks/${id}`)).status).toBe(200);
    expect(await api('GET', `/v1/webhooks/${id}`)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('delivers a ping through the deployed pipeline, signed, with the endpoint\'s headers sealed under the deployed key', async () => {
    const token = 'Bearer deployed-endpoint-token';
    const webhook = await createWebhook('/ok/ping', 'ping', { headers: { Authorization: token } });

    const ping = await api('POST', `/v1/webhooks/${webhook.id}/ping`);

    expect(ping).toMatchObject({ status: 202, body: { status: 'queued', deliveryId: expect.any(String) } });
    const [request] = await receivedAt('/ok/ping', 'the ping at the receiver');
    expect(JSON.parse(request!.body)).toMatchObject({ type: 'ping', data: { webhookId: webhook.id } });
    expect(request!.headers.authorization).toBe(token);
    await expectVerified(request!, webhook.secret);
    const { Item } = await dynamodb.send(
      new GetCommand({ TableName: stateful.TableName!, Key: itemKeys.webhook(TENANT, webhook.id), ConsistentRead: true }),
    );
    expect(Item?.credentials).toMatch(/^v1\./);
    expect(JSON.stringify(Item)).not.toContain(webhook.secret.slice('whsec_'.length));
    expect(JSON.stringify(Item)).not.toContain('deployed-endpoint-token');
  });
});

describe('events published to the deployed bus', () => {
  it('are delivered to the receiver, signed so that standardwebhooks and @octokit/webhooks-methods verify them', async () => {
    const webhook = await createWebhook('/ok/delivered', 'delivered');
    const data = orderData();

    await publish('evt-deployed-delivered', { probe: 'delivered' }, data);

    const [request] = await receivedAt('/ok/delivered', 'the event at the receiver');
    await expectVerified(request!, webhook.secret);
    expect(request!.headers['webhook-id']).toBe('evt-deployed-delivered');
    expect(JSON.parse(request!.body)).toMatchObject({ id: 'evt-deployed-delivered', type: 'order.created', data });
    const deliveries = await eventually(async () => {
      const listed = await api('GET', `/v1/webhooks/${webhook.id}/deliveries?status=succeeded`);
      return listed.body.data.length === 1 ? listed.body.data : undefined;
    }, DELIVERY_WAIT_MS, 'the succeeded delivery in the attempt log');
    expect(deliveries[0]).toMatchObject({ eventId: 'evt-deployed-delivered', status: 'succeeded' });
  });

  it('are delivered once per id when published again seconds later', async () => {
    const webhook = await createWebhook('/ok/republished', 'republished');
    await publish('evt-deployed-republished', { probe: 'republished' });
    const [request] = await receivedAt('/ok/republished', 'the first publication at the receiver');
    // EventBridge stamps whole seconds (MiniStack ignores an entry's Time): the second publish must be 2 s later.
    const firstTime = Date.parse(JSON.parse(request!.body).timestamp);
    await eventually(async () => Date.now() >= firstTime + 2_000 || undefined, 5_000, 'two seconds after the first publish', 100);

    await publish('evt-deployed-republished', { probe: 'republished' });
    await pipelineIdle();

    expect(receiver.at('/ok/republished')).toHaveLength(1);
    expect((await api('GET', `/v1/webhooks/${webhook.id}/deliveries`)).body.data).toHaveLength(1);
  });

  it('are not delivered to a webhook whose filter they do not match', async () => {
    const euOnly = await createWebhook('/ok/filter-eu', 'filter', { filters: { probe: ['filter'], region: ['eu'] } });
    await createWebhook('/ok/filter-any', 'filter');

    await publish('evt-deployed-us', { probe: 'filter', region: 'us' });
    // The router queues an event's jobs for every matching webhook together: once the unfiltered webhook has the
    // US event, the EU-only one would have its job too. A later EU event proves that webhook's deliveries flow.
    await receivedAt('/ok/filter-any', 'the US event at the unfiltered webhook');
    await publish('evt-deployed-eu', { probe: 'filter', region: 'eu' });
    await receivedAt('/ok/filter-any', 'the EU event at the unfiltered webhook', 2);
    const [euRequest] = await receivedAt('/ok/filter-eu', 'the EU event at the EU-only webhook');

    expect(receiver.at('/ok/filter-eu').map((request) => request.headers['webhook-id'])).toEqual(['evt-deployed-eu']);
    expect(euRequest!.headers['webhook-id']).toBe('evt-deployed-eu');
    expect((await api('GET', `/v1/webhooks/${euOnly.id}/deliveries`)).body.data.map((d: { eventId: string }) => d.eventId)).toEqual([
      'evt-deployed-eu',
    ]);
  });

  it('with invalid data land on the rejected-events queue with the reason, and nothing is delivered', async () => {
    await createWebhook('/ok/rejected', 'rejected');

    await publish('evt-deployed-invalid', { probe: 'rejected' }, { orderId: 42 });

    const rejected = await eventually(async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stateful.RejectedEventsQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const ours = Messages.find((message) => JSON.parse(message.Body ?? '{}').event?.detail?.id === 'evt-deployed-invalid');
      if (ours) await sqs.send(new DeleteMessageCommand({ QueueUrl: stateful.RejectedEventsQueueUrl, ReceiptHandle: ours.ReceiptHandle! }));
      return ours && (JSON.parse(ours.Body!) as { reasons: string[] });
    }, DELIVERY_WAIT_MS, 'the invalid event on the rejected-events queue');
    expect(rejected.reasons).toEqual(expect.arrayContaining([expect.stringContaining('detail.data.orderId')]));
    // A valid event after it, to the same webhook: once it is in, a delivery of the invalid one would be too.
    await publish('evt-deployed-valid', { probe: 'rejected' });
    await receivedAt('/ok/rejected', 'the valid event after the invalid one');
    expect(receiver.at('/ok/rejected').map((request) => request.headers['webhook-id'])).toEqual(['evt-deployed-valid']);
  });
});

describe('a slow endpoint', () => {
  it('moves to the deployed slow lane, which delivers what the shared lane abandoned at its deadline, under the same ids', async () => {
    const webhook = await createWebhook('/slow/lane', 'slow-lane'); // answers after 3 s: past the 2 s deadline

    await publish('evt-deployed-slow-lane', { probe: 'slow-lane' });

    const requests = await receivedAt('/slow/lane', 'the abandoned request and the slow lane’s', 2);
    expect(new Set(requests.map((request) => `${request.headers['webhook-id']} ${request.headers['webhook-delivery-id']}`)).size).toBe(1);
    const [delivery] = await eventually(async () => {
      const listed = await api('GET', `/v1/webhooks/${webhook.id}/deliveries?status=succeeded`);
      return listed.body.data.length === 1 ? listed.body.data : undefined;
    }, DELIVERY_WAIT_MS, 'the delivery succeeded in the slow lane');
    expect(delivery).toMatchObject({ eventId: 'evt-deployed-slow-lane', attempts: 1 });
    const { body } = await api('GET', `/v1/webhooks/${webhook.id}`);
    expect(Date.parse(body.health.slowLaneUntil)).toBeGreaterThan(Date.now());
  });
});

describe('failures', () => {
  let ops: CreatedWebhook;
  beforeAll(async () => {
    // The tenant's operations webhook: the platform's own events about its other webhooks.
    const response = await api('POST', '/v1/webhooks', { url: receiver.url('/ok/ops'), events: ['webhook.disabled', 'delivery.exhausted'] });
    expect(response.status).toBe(201);
    ops = response.body as CreatedWebhook;
  });
  const opsEvents = (type: string, webhookId: string) =>
    receiver
      .at('/ok/ops')
      .map((request) => ({ request, body: JSON.parse(request.body) as { type: string; data: { webhookId: string } } }))
      .filter(({ body }) => body.type === type && body.data.webhookId === webhookId);

  it('are retried on the short schedule, dead-lettered after the last attempt, and delivered by `dlq redrive`', async () => {
    const webhook = await createWebhook('/toggle', 'redrive');

    await publish('evt-deployed-redrive', { probe: 'redrive' });

    const failed = await eventually(async () => {
      const listed = await api('GET', `/v1/webhooks/${webhook.id}/deliveries?status=failed`);
      return listed.body.data[0] as { id: string; attempts: { statusCode: number }[] } | undefined;
    }, DELIVERY_WAIT_MS, 'the delivery failed after every attempt');
    const detail = (await api('GET', `/v1/webhooks/${webhook.id}/deliveries/${failed.id}`)).body;
    expect(detail.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([500, 500, 500, 500]);
    const deadLettered = await eventually(async () => {
      const listed = await adminJson<{ deliveryId: string; attempts: number }[]>('--stack', stackPrefix, 'dlq', 'list', '--webhook', webhook.id);
      return listed.length > 0 ? listed : undefined;
    }, DELIVERY_WAIT_MS, 'the delivery on the delivery DLQ');
    expect(deadLettered).toEqual([expect.objectContaining({ deliveryId: failed.id, attempts: 4 })]);
    const [exhausted] = await eventually(async () => {
      const found = opsEvents('delivery.exhausted', webhook.id);
      return found.length > 0 ? found : undefined;
    }, DELIVERY_WAIT_MS, 'delivery.exhausted at the operations webhook');
    await expectVerified(exhausted!.request, ops.secret);

    receiver.toggle.healthy = true;
    const redriven = await adminJson<{ redriven: number }>('--stack', stackPrefix, 'dlq', 'redrive', '--webhook', webhook.id);

    expect(redriven).toMatchObject({ redriven: 1 });
    const succeeded = await eventually(async () => {
      const delivery = (await api('GET', `/v1/webhooks/${webhook.id}/deliveries/${failed.id}`)).body;
      return delivery.status === 'succeeded' ? delivery : undefined;
    }, DELIVERY_WAIT_MS, 'the redriven delivery succeeded');
    expect(succeeded.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([500, 500, 500, 500, 200]);
    const requests = receiver.at('/toggle');
    expect(new Set(requests.map((request) => request.headers['webhook-id']))).toEqual(new Set(['evt-deployed-redrive']));
    await expectVerified(requests.at(-1)!, webhook.secret);
    expect(await adminJson('--stack', stackPrefix, 'dlq', 'list', '--webhook', webhook.id)).toEqual([]);
  }, 180_000);

  it('410 Gone disables the webhook, and webhook.disabled reaches the tenant’s operations webhook', async () => {
    const gone = await createWebhook('/gone', 'gone');

    await publish('evt-deployed-gone', { probe: 'gone' });

    const disabled = await eventually(async () => {
      const webhook = (await api('GET', `/v1/webhooks/${gone.id}`)).body;
      return webhook.enabled === false ? webhook : undefined;
    }, DELIVERY_WAIT_MS, 'the webhook disabled');
    expect(disabled.disabledReason).toContain('410');
    const [announced] = await eventually(async () => {
      const found = opsEvents('webhook.disabled', gone.id);
      return found.length > 0 ? found : undefined;
    }, DELIVERY_WAIT_MS, 'webhook.disabled at the operations webhook');
    expect(announced!.body.data).toMatchObject({ webhookId: gone.id, url: receiver.url('/gone'), reason: expect.stringContaining('410') });
    await expectVerified(announced!.request, ops.secret);
    // Another event for it, with a webhook beside it that gets it too: once that one has it, the router has decided.
    await createWebhook('/ok/gone-sentinel', 'gone');
    await publish('evt-deployed-after-gone', { probe: 'gone' });
    await receivedAt('/ok/gone-sentinel', 'the next event at the webhook beside the disabled one');
    expect(receiver.at('/gone').map((request) => request.headers['webhook-id'])).toEqual(['evt-deployed-gone']);
  }, 180_000);
});

describe('the monitoring stack', () => {
  type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const synthesized = JSON.parse(readFileSync(join(assembly, `${stackPrefix}-Monitoring.template.json`), 'utf8')) as Template;
  const ofType = (type: string) => Object.values(synthesized.Resources).filter((resource) => resource.Type === type);

  it('has every alarm of its template in CloudWatch, notifying its topic', async () => {
    const { AlarmTopicArn } = await outputsOf('Monitoring');
    const { MetricAlarms = [] } = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${stackPrefix}-`, MaxRecords: 100 }));
    const expected = ofType('AWS::CloudWatch::Alarm').map((alarm) => alarm.Properties.AlarmName as string);

    expect(expected.length).toBeGreaterThanOrEqual(20);
    expect(MetricAlarms.map((alarm) => alarm.AlarmName).sort()).toEqual(expected.sort());
    for (const alarm of MetricAlarms) expect(alarm.AlarmActions).toEqual([AlarmTopicArn]);
  });

  it('has its dashboard, with every widget of its template', async () => {
    const { DashboardName } = await outputsOf('Monitoring');
    // GetDashboard rather than ListDashboards: MiniStack 1.5.33 answers ListDashboards with a LastModified the
    // SDK cannot parse (an ISO string where the JSON protocol has epoch seconds).
    const dashboard = await cloudWatch.send(new GetDashboardCommand({ DashboardName }));
    const [template] = ofType('AWS::CloudWatch::Dashboard');
    const templateBody = JSON.stringify(template!.Properties.DashboardBody);

    expect(DashboardName).toBe(stackPrefix);
    expect(dashboard.DashboardName).toBe(DashboardName);
    const widgets = (JSON.parse(dashboard.DashboardBody!) as { widgets: { properties: { title?: string } }[] }).widgets;
    expect(widgets.length).toBe(templateBody.match(/\\"type\\":/g)?.length);
    expect(widgets.map((widget) => widget.properties.title)).toEqual(expect.arrayContaining(['Delivery success rate (%)', 'Attempts by outcome']));
  });
});

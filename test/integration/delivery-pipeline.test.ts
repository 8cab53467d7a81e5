import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { verify as verifyHubSignature } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { type RunningPlatform, startPlatformProcess } from '../support/local-platform-process.js';
import { eventually } from '../support/eventually.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The delivery pipeline end to end in local mode: EventBridge PutEvents (real SDK) → routing → embedded SQS →
 * the delivery worker → a real receiver, whose signatures are checked by independent libraries.
 */
const KEY = 'pipeline-key';
const OTHER_TENANT_KEY = 'other-tenant-key';

let platform: RunningPlatform;
let receiver: WebhookReceiver;
let events: EventBridgeClient;
let sqs: SQSClient;
let sqsEndpoint: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  platform = await startPlatformProcess({
    DEV_API_KEY: KEY,
    DEV_TENANTS: `other:${OTHER_TENANT_KEY}`,
    RETRY_SCHEDULE: '1,3',
    REQUEST_TIMEOUT_MS: '1000',
    // Failing endpoints here run their whole schedule; circuits have their own tests (delivery-worker, local-mode).
    CIRCUIT_FAILURE_THRESHOLD: '1000',
    EVENT_SOURCES: 'shop.orders',
  });
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  events = new EventBridgeClient({ region: 'us-east-1', endpoint: platform.url, credentials });
  sqsEndpoint = /SQS at (http:\/\/\S+)\)/.exec(platform.output())![1]!;
  sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsEndpoint, useQueueUrlAsEndpoint: false, credentials });
});
afterAll(async () => {
  events?.destroy();
  sqs?.destroy();
  await platform?.stop();
  await receiver?.stop();
});

const api = async (method: string, path: string, body?: unknown, key = KEY) => {
  const response = await fetch(`${platform.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};

const secretsIssued: string[] = [];
const createWebhook = async (path: string, options: Record<string, unknown> = {}, key = KEY) => {
  const response = await api('POST', '/v1/webhooks', { url: receiver.url(path), events: ['order.created'], ...options }, key);
  expect(response.status).toBe(201);
  secretsIssued.push(response.body.secret);
  return response.body as { id: string; secret: string };
};

let orderSequence = 0;
/** A value only payloads carry, to prove they never reach the logs. */
const PAYLOAD_MARKER = 'cus_payload-marker-7f3a';
const orderData = () => ({
  orderId: `ord_${(orderSequence += 1)}`,
  customerId: PAYLOAD_MARKER,
  total: { amount: 1999, currency: 'EUR' },
  lines: [{ sku: 'SKU-1', quantity: 1 }],
});

const publish = async (detail: Record<string, unknown>, options: { type?: string; source?: string; time?: Date } = {}) => {
  const result = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: options.source ?? 'shop.orders',
          DetailType: options.type ?? 'order.created',
          Detail: JSON.stringify({ tenantId: 'dev', data: orderData(), ...detail }),
          ...(options.time && { Time: options.time }),
        },
      ],
    }),
  );
  expect(result.FailedEntryCount).toBe(0);
};

/** The webhook's one delivery once it reached `status`; if it does not, the error carries the platform's log of it. */
const deliveryOnceIn = (webhookId: string, status: string) =>
  eventually(
    async () => {
      const list = await api('GET', `/v1/webhooks/${webhookId}/deliveries?status=${status}`);
      const [summary] = list.body.data as { id: string }[];
      return summary && (await api('GET', `/v1/webhooks/${webhookId}/deliveries/${summary.id}`)).body;
    },
    // Retries take seconds; on a loaded 2-core machine, with other tests' jobs ahead of them, much longer.
    45_000,
    `a delivery to ${webhookId} ${status}`,
    200,
  ).catch((error: Error) => {
    const log = platform.output().split('\n').filter((line) => line.includes(webhookId));
    throw new Error(`${error.message}; the platform's log of it:\n${log.join('\n')}`);
  });

const run = promisify(execFile);
const admin = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'bin/webhooks.ts', ...args], {
    env: { ...process.env, NODE_OPTIONS: '', DATA_DIR: platform.dataDir },
  });

const readQueue = async (name: string) => {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: `${sqsEndpoint}/000000000000/${name}`, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return Messages.map((message) => JSON.parse(message.Body ?? '{}'));
};

/**
 * Resolves once the events and delivery queues hold no message at all (visible, in flight or delayed): every event
 * published so far has been routed and every job queued so far attempted or dropped. What a test asserts did not
 * happen is then known not to be on its way.
 */
const pipelineIdle = async () => {
  let last = '';
  try {
    await eventually(
      async () => {
        for (const name of ['events', 'deliveries']) {
          const { Attributes = {} } = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: `${sqsEndpoint}/000000000000/${name}`,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
            }),
          );
          last = `${name}: ${JSON.stringify(Attributes)}`;
          if (Object.values(Attributes).some((count) => Number(count) > 0)) return undefined;
        }
        return true;
      },
      45_000,
      'the events and delivery queues empty',
      250,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} (last seen ${last})`);
  }
};

describe('delivery pipeline (local mode)', () => {
  it('delivers a published event, signed so that standardwebhooks and @octokit/webhooks-methods verify it', async () => {
    const webhook = await createWebhook('/ok/signed');

    await publish({ id: 'evt-signed-1' });

    const request = await eventually(async () => receiver.at('/ok/signed')[0]);
    expect(JSON.parse(request.body)).toEqual({
      id: 'evt-signed-1',
      type: 'order.created',
      timestamp: expect.any(String),
      data: expect.objectContaining({ customerId: PAYLOAD_MARKER }),
    });
    expect(new StandardWebhook(webhook.secret).verify(request.body, request.headers as Record<string, string>)).toEqual(
      JSON.parse(request.body),
    );
    expect(await verifyHubSignature(webhook.secret, request.body, String(request.headers['x-hub-signature-256']))).toBe(true);
    expect(request.headers['webhook-id']).toBe('evt-signed-1');
    expect(request.headers['user-agent']).toMatch(/^WebhookPlatform\//);
    expect(request.headers['webhook-attempt-id']).toBeDefined();
    expect((await deliveryOnceIn(webhook.id, 'succeeded')).attempts).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: 200, responseSnippet: 'thanks' }),
    ]);
  });

  it('applies filters, event subscriptions and tenancy to fan-out', async () => {
    await createWebhook('/ok/dc1', { filters: { dcId: ['1'] } });
    await createWebhook('/ok/dc2', { filters: { dcId: ['2'] } });
    await createWebhook('/ok/other-event', { events: ['order.status_changed'] });
    await createWebhook('/ok/other-tenant', {}, OTHER_TENANT_KEY);
    await createWebhook('/ok/unfiltered');

    await publish({ id: 'evt-filtered', attributes: { dcId: '1' } });

    await eventually(async () => (receiver.at('/ok/dc1').length && receiver.at('/ok/unfiltered').length) || undefined);
    await pipelineIdle();
    expect(receiver.at('/ok/dc2')).toHaveLength(0);
    expect(receiver.at('/ok/other-event')).toHaveLength(0);
    expect(receiver.at('/ok/other-tenant')).toHaveLength(0);
  });

  it('retries a failing endpoint with the same webhook-id, never re-sends to healthy ones, and dead-letters it with its history', async () => {
    const healthy = [await createWebhook('/ok/fanout-a'), await createWebhook('/ok/fanout-b')];
    const failing = await createWebhook('/fail/fanout');

    await publish({ id: 'evt-fanout' });

    const failed = await deliveryOnceIn(failing.id, 'failed');
    expect(failed.attempts.map((attempt: { statusCode: number; error: string }) => [attempt.statusCode, attempt.error])).toEqual([
      [500, 'http_5xx'],
      [500, 'http_5xx'],
      [500, 'http_5xx'],
    ]);
    expect(failed.lastError).toBe('http_5xx');
    expect(new Set(receiver.at('/fail/fanout').map((request) => request.headers['webhook-id']))).toEqual(new Set(['evt-fanout']));
    for (const path of ['/ok/fanout-a', '/ok/fanout-b']) expect(receiver.at(path)).toHaveLength(1);
    for (const webhook of healthy) expect((await deliveryOnceIn(webhook.id, 'succeeded')).attempts).toHaveLength(1);

    const deadLetters = await eventually(async () => {
      const entries = (await readQueue('deliveries-dlq')).filter((entry) => entry.job?.webhookId === failing.id);
      return entries.length > 0 ? entries : undefined;
    });
    expect(deadLetters[0]).toMatchObject({
      kind: 'delivery_exhausted',
      lastError: 'http_5xx',
      job: { webhookId: failing.id, event: { id: 'evt-fanout' } },
      attempts: [expect.objectContaining({ attempt: 1 }), expect.objectContaining({ attempt: 2 }), expect.objectContaining({ attempt: 3 })],
    });
  });

  it('classifies timeouts, connection resets and redirects as failed attempts, never following the redirect', async () => {
    const slow = await createWebhook('/slow');
    const reset = await createWebhook('/reset');
    const redirect = await createWebhook('/redirect');

    await publish({ id: 'evt-failure-modes' });

    expect((await deliveryOnceIn(slow.id, 'failed')).attempts.map((attempt: { error: string }) => attempt.error)).toEqual([
      'timeout',
      'timeout',
      'timeout',
    ]);
    expect((await deliveryOnceIn(reset.id, 'failed')).lastError).toBe('connection');
    const redirected = await deliveryOnceIn(redirect.id, 'failed');
    expect(redirected.attempts[0]).toMatchObject({ statusCode: 302, error: 'http_3xx' });
    expect(receiver.hits('/redirect-target')).toBe(0);
  });

  it('honours Retry-After on 429', async () => {
    const throttled = await createWebhook('/throttled');

    await publish({ id: 'evt-throttled' });

    const delivered = await deliveryOnceIn(throttled.id, 'succeeded');
    const [first, second] = delivered.attempts as { at: string; statusCode: number }[];
    expect([first?.statusCode, second?.statusCode]).toEqual([429, 200]);
    expect(Date.parse(second!.at) - Date.parse(first!.at)).toBeGreaterThanOrEqual(1900);
  });

  it('disables a webhook answering 410 Gone, with a reason, and stops', async () => {
    const gone = await createWebhook('/gone');

    await publish({ id: 'evt-gone' });

    const failed = await deliveryOnceIn(gone.id, 'failed');
    expect(failed.attempts).toHaveLength(1);
    const webhook = (await api('GET', `/v1/webhooks/${gone.id}`)).body;
    expect(webhook).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
    await publish({ id: 'evt-after-gone' });
    await pipelineIdle();
    expect(receiver.at('/gone')).toHaveLength(1);
  });

  it('re-sends a delivery on manual retry with the same webhook-id, and delivers pings', async () => {
    const webhook = await createWebhook('/ok/manual');
    await publish({ id: 'evt-manual' });
    const delivered = await deliveryOnceIn(webhook.id, 'succeeded');

    const retry = await api('POST', `/v1/webhooks/${webhook.id}/deliveries/${delivered.id}/retry`);
    expect(retry).toMatchObject({ status: 202, body: { deliveryId: delivered.id, eventId: 'evt-manual' } });
    await eventually(async () => (receiver.at('/ok/manual').length === 2 ? true : undefined));
    expect(receiver.at('/ok/manual').map((request) => request.headers['webhook-id'])).toEqual(['evt-manual', 'evt-manual']);

    const ping = await api('POST', `/v1/webhooks/${webhook.id}/ping`);
    const pinged = await eventually(async () => receiver.at('/ok/manual').find((request) => JSON.parse(request.body).type === 'ping'));
    expect(pinged.headers['webhook-id']).toBe(ping.body.eventId);
    expect(new StandardWebhook(webhook.secret).verify(pinged.body, pinged.headers as Record<string, string>)).toMatchObject({
      type: 'ping',
      data: { webhookId: webhook.id },
    });
  });

  it('signs with both secrets during a rotation, so receivers verifying with either succeed', async () => {
    const webhook = await createWebhook('/ok/rotated');
    const rotated = (await api('POST', `/v1/webhooks/${webhook.id}/secret/rotate`)).body as { secret: string };
    secretsIssued.push(rotated.secret);

    await publish({ id: 'evt-rotated' });

    const request = await eventually(async () => receiver.at('/ok/rotated')[0]);
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new StandardWebhook(webhook.secret).verify(request.body, headers)).toBeDefined();
    expect(new StandardWebhook(rotated.secret).verify(request.body, headers)).toBeDefined();
    expect(await verifyHubSignature(rotated.secret, request.body, headers['x-hub-signature-256']!)).toBe(true);
  });

  it('recovers every failed delivery since a time, re-sent with the same webhook-ids', async () => {
    const webhook = await createWebhook('/toggle');
    const since = new Date(Date.now() - 1000).toISOString();
    await publish({ id: 'evt-recover-1' });
    await publish({ id: 'evt-recover-2' });
    await eventually(async () => {
      const page = await api('GET', `/v1/webhooks/${webhook.id}/deliveries?status=failed`);
      return page.body.data.length === 2 ? true : undefined;
    });
    receiver.toggle.healthy = true;

    const recovered = await api('POST', `/v1/webhooks/${webhook.id}/recover`, { since });

    expect(recovered).toEqual({ status: 202, body: { recovered: 2 } });
    await eventually(async () => {
      const page = await api('GET', `/v1/webhooks/${webhook.id}/deliveries?status=succeeded`);
      return page.body.data.length === 2 ? true : undefined;
    });
    const succeeded = receiver.at('/toggle').slice(-2).map((request) => request.headers['webhook-id']);
    expect(succeeded.sort()).toEqual(['evt-recover-1', 'evt-recover-2']);
    const tooOld = await api('POST', `/v1/webhooks/${webhook.id}/recover`, { since: new Date(Date.now() - 15 * 86_400_000).toISOString() });
    expect(tooOld.status).toBe(400);
  });

  it('lists and redrives dead-lettered deliveries with the admin CLI, through the normal path, same webhook-id', async () => {
    const webhook = await createWebhook('/flip');
    await publish({ id: 'evt-dlq-redrive' });
    await deliveryOnceIn(webhook.id, 'failed');
    receiver.toggle.flipHealthy = true;

    const listed = JSON.parse((await admin('dlq', 'list', '--webhook', webhook.id)).stdout) as { eventId: string; attempts: number }[];
    expect(listed).toEqual([expect.objectContaining({ eventId: 'evt-dlq-redrive', attempts: 3, lastError: 'http_5xx' })]);
    const redriven = await admin('dlq', 'redrive', '--webhook', webhook.id);

    expect(JSON.parse(redriven.stdout)).toMatchObject({ redriven: 1 });
    expect(redriven.stderr).toContain('redriven 1/1');
    const delivered = await deliveryOnceIn(webhook.id, 'succeeded');
    expect(delivered.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([500, 500, 500, 200]);
    expect(receiver.at('/flip').map((request) => request.headers['webhook-id'])).toEqual(Array(4).fill('evt-dlq-redrive'));
    expect(JSON.parse((await admin('dlq', 'list', '--webhook', webhook.id)).stdout)).toEqual([]);
  });

  it('stops retrying once the webhook is deleted', async () => {
    const webhook = await createWebhook('/fail/deleted');
    await publish({ id: 'evt-deleted' });
    await eventually(async () => receiver.at('/fail/deleted')[0]);

    await api('DELETE', `/v1/webhooks/${webhook.id}`);
    await pipelineIdle(); // the retry queued after the first attempt has been dropped

    expect(receiver.at('/fail/deleted')).toHaveLength(1);
  });

  it('delivers an event published twice with the same id once, with its first publication’s time, however far apart', async () => {
    await createWebhook('/ok/idempotent');
    const firstTime = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000); // EventBridge keeps whole seconds
    await publish({ id: 'evt-twice' }, { time: firstTime });
    const delivered = await eventually(async () => receiver.at('/ok/idempotent')[0]);
    await publish({ id: 'evt-twice' }); // an hour later, by the events' times
    expect(JSON.parse(delivered.body).timestamp).toBe(firstTime.toISOString());
    // The second copy is dropped at once, or parked while the first attempt's claim is held and dropped when it
    // surfaces (up to the claim's length later): the worker logs the drop, for this event id.
    await eventually(
      async () => (/"duplicate job dropped[^}]*"eventId": ?"evt-twice"/.test(platform.output()) ? true : undefined),
      60_000,
      'the second copy of evt-twice dropped',
      250,
    );
    expect(receiver.at('/ok/idempotent')).toHaveLength(1);
  });

  it('keeps events failing validation in the rejected-events queue with the reason, and delivers nothing', async () => {
    await createWebhook('/ok/never');
    await publish({ id: 'evt-invalid', data: { orderId: 42 } });
    const rejected = await eventually(async () => {
      const entries = (await readQueue('rejected-events')).filter((entry) => entry.event?.detail?.id === 'evt-invalid');
      return entries[0];
    });
    expect(rejected.reasons).toEqual(expect.arrayContaining([expect.stringContaining('detail.data.orderId')]));
    await pipelineIdle();
    expect(receiver.at('/ok/never')).toHaveLength(0);
  });

  it('routes only allowed sources (EVENT_SOURCES), like the CDK rule', async () => {
    await createWebhook('/ok/source');
    await publish({ id: 'evt-wrong-source' }, { source: 'someone.else' });
    await publish({ id: 'evt-right-source' });
    await pipelineIdle();
    expect(receiver.at('/ok/source').map((request) => request.headers['webhook-id'])).toEqual(['evt-right-source']);
  });

  it('ends every (event, matching webhook) delivered or dead-lettered: none lost', async () => {
    const good = [await createWebhook('/ok/ledger-1', { events: ['order.price_changed'] }), await createWebhook('/ok/ledger-2', { events: ['order.price_changed'] })];
    const bad = await createWebhook('/fail/ledger', { events: ['order.price_changed'] });
    const ids = Array.from({ length: 20 }, (_, index) => `evt-ledger-${index}`);

    await Promise.all(
      ids.map((id) =>
        publish(
          {
            id,
            data: { orderId: id, previous: { amount: 1, currency: 'EUR' }, current: { amount: 2, currency: 'EUR' } },
          },
          { type: 'order.price_changed' },
        ),
      ),
    );

    for (const webhook of good) {
      await eventually(async () => {
        const page = await api('GET', `/v1/webhooks/${webhook.id}/deliveries?status=succeeded&limit=100`);
        return page.body.data.length === ids.length ? true : undefined;
      }, 30_000);
    }
    const failed = await eventually(async () => {
      const page = await api('GET', `/v1/webhooks/${bad.id}/deliveries?status=failed&limit=100`);
      return page.body.data.length === ids.length ? page.body.data : undefined;
    }, 30_000);
    expect(failed).toHaveLength(ids.length);
    for (const path of ['/ok/ledger-1', '/ok/ledger-2']) {
      expect(receiver.at(path).map((request) => request.headers['webhook-id']).sort()).toEqual([...ids].sort());
    }
    const deadLettered = new Set<string>();
    await eventually(async () => {
      for (const entry of await readQueue('deliveries-dlq')) if (entry.job?.webhookId === bad.id) deadLettered.add(entry.job.event.id);
      return deadLettered.size === ids.length ? true : undefined;
    }, 30_000);
  });

  it('never writes secrets, API keys, signatures or payloads to its logs', async () => {
    const signatures = receiver.received.flatMap((request) => [
      ...String(request.headers['webhook-signature'] ?? '').split(' ').map((signature) => signature.slice('v1,'.length)),
      String(request.headers['x-hub-signature-256'] ?? '').slice('sha256='.length),
    ]);
    const logs = platform.output();

    expect(logs).toContain('delivery attempt');
    for (const secret of secretsIssued) expect(logs).not.toContain(secret.slice('whsec_'.length));
    for (const signature of signatures.filter((value) => value.length > 0)) expect(logs).not.toContain(signature);
    expect(logs).not.toContain(KEY);
    expect(logs).not.toContain(OTHER_TENANT_KEY);
    expect(logs).not.toContain(PAYLOAD_MARKER);
  });
});

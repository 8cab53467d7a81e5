import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { runAdminCli } from '../support/admin-cli.js';
import { eventually } from '../support/eventually.js';
import { startPlatformProcess } from '../support/local-platform-process.js';

/** `npm start` as a newcomer meets it: generated key, persistence across restarts, the admin CLI. */
const admin = (dataDir: string, ...args: string[]) => runAdminCli(args, { DATA_DIR: dataDir });

const get = (url: string, key: string) => fetch(url, { headers: { 'x-api-key': key } });
const webhookHealth = async (platformUrl: string, id: string) =>
  ((await (await get(`${platformUrl}/v1/webhooks/${id}`, 'k')).json()) as { health: { state: string; slowLaneUntil?: string } }).health;
const ORDER = { orderId: 'o', customerId: 'c', total: { amount: 1, currency: 'EUR' }, lines: [{ sku: 's', quantity: 1 }] };
const post = (url: string, key: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
/** A webhook of tenant `dev` (key `k`) to `receiver`'s `path` that only events with attribute probe=`probe` reach. */
const createProbed = async (platformUrl: string, receiver: Server, path: string, probe: string) => {
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${path}`;
  const created = await post(`${platformUrl}/v1/webhooks`, 'k', { url, events: ['order.created'], filters: { probe: [probe] } });
  return ((await created.json()) as { id: string }).id;
};
/** `count` order.created events of tenant `dev` with attribute probe=`probe`, ten per PutEvents call. */
/** Publishes `count` events tagged with `probe`, with ids evt-<probe>-<from> onwards. */
const publishProbed = async (events: EventBridgeClient, probe: string, count: number, from = 0) => {
  for (let first = 0; first < count; first += 10) {
    const entries = Array.from({ length: Math.min(10, count - first) }, (_, index) => ({
      Source: 'com.example.shop',
      DetailType: 'order.created',
      Detail: JSON.stringify({ tenantId: 'dev', id: `evt-${probe}-${from + first + index}`, attributes: { probe }, data: ORDER }),
    }));
    expect((await events.send(new PutEventsCommand({ Entries: entries }))).FailedEntryCount).toBe(0);
  }
};

describe('local mode', () => {
  it('prints a generated key for tenant dev, keeps it and the data across a restart', async () => {
    const first = await startPlatformProcess();
    const key = /API key for tenant "dev" \(read\+write\): (\S+)/.exec(first.output())?.[1];
    expect(key).toMatch(/^wpk_/);
    const created = await post(`${first.url}/v1/webhooks`, key!, { url: 'http://127.0.0.1:9/hook', events: ['order.created'] });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await first.stop();

    const second = await startPlatformProcess({}, first.dataDir);
    try {
      expect(second.output()).toContain(key!);
      const fetched = await get(`${second.url}/v1/webhooks/${id}`, key!);
      expect(fetched.status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('keeps a retrying delivery across a restart and completes it afterwards', async () => {
    const receiver = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    await new Promise((resolve) => receiver.close(resolve)); // down for now: the first attempt fails
    const env = { DEV_API_KEY: 'k', RETRY_SCHEDULE: '3' };
    const first = await startPlatformProcess(env);
    const webhook = (await (await post(`${first.url}/v1/webhooks`, 'k', { url: `http://127.0.0.1:${port}/hook`, events: ['order.created'] })).json()) as { id: string };
    await fetch(first.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({
        Entries: [
          {
            Source: 'test',
            DetailType: 'order.created',
            Detail: JSON.stringify({
              tenantId: 'dev',
              id: 'evt-restart',
              data: { orderId: 'o', customerId: 'c', total: { amount: 1, currency: 'EUR' }, lines: [{ sku: 's', quantity: 1 }] },
            }),
          },
        ],
      }),
    });
    const deliveries = async (url: string) =>
      ((await (await get(`${url}/v1/webhooks/${webhook.id}/deliveries`, 'k')).json()) as { data: { status: string }[] }).data;
    for (let tries = 0; (await deliveries(first.url))[0]?.status !== 'retrying'; tries += 1) {
      if (tries > 100) throw new Error('the first attempt did not fail');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await first.stop();

    const revived = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => revived.listen(port, '127.0.0.1', resolve));
    const second = await startPlatformProcess(env, first.dataDir);
    try {
      for (let tries = 0; (await deliveries(second.url))[0]?.status !== 'succeeded'; tries += 1) {
        if (tries > 150) throw new Error('the retry did not complete after the restart');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await second.stop();
      revived.closeAllConnections();
      await new Promise((resolve) => revived.close(resolve));
    }
  });

  it('refuses http:// webhook URLs when ALLOW_HTTP_URLS=false', async () => {
    const platform = await startPlatformProcess({ ALLOW_HTTP_URLS: 'false', DEV_API_KEY: 'k' });
    try {
      const response = await post(`${platform.url}/v1/webhooks`, 'k', { url: 'http://127.0.0.1:9/hook', events: ['order.created'] });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { details: [{ path: 'url', message: 'must use https' }] } });
    } finally {
      await platform.stop();
    }
  });

  it('manages tenants and keys with the admin CLI; a revoked key gets 401', async () => {
    const platform = await startPlatformProcess({ DEV_API_KEY: 'k' });
    try {
      expect((await admin(platform.dataDir, 'tenant', 'create', 'initech')).code).toBe(0);
      const duplicate = await admin(platform.dataDir, 'tenant', 'create', 'initech');
      expect(duplicate.code).toBe(1);
      expect(duplicate.stderr).toContain('Tenant initech already exists');

      const created = await admin(platform.dataDir, 'key', 'create', 'initech', '--scopes', 'read');
      const { key, keyId } = JSON.parse(created.stdout) as { key: string; keyId: string };
      expect((await get(`${platform.url}/v1/webhooks`, key)).status).toBe(200);
      expect((await post(`${platform.url}/v1/webhooks`, key, { url: 'https://x.example.com', events: ['order.created'] })).status).toBe(403);

      const listed = JSON.parse((await admin(platform.dataDir, 'key', 'list', 'initech')).stdout) as object[];
      expect(listed).toEqual([expect.objectContaining({ keyId, scopes: ['webhooks:read'] })]);
      expect(JSON.stringify(listed)).not.toContain(key);

      expect((await admin(platform.dataDir, 'key', 'revoke', 'initech', keyId)).code).toBe(0);
      expect((await get(`${platform.url}/v1/webhooks`, key)).status).toBe(401);

      const unknownTenant = await admin(platform.dataDir, 'key', 'create', 'nobody');
      expect(unknownTenant).toMatchObject({ code: 1, stderr: expect.stringContaining('No tenant nobody') });
    } finally {
      await platform.stop();
    }
  });

  it('publishes events and tails a webhook’s deliveries with the admin CLI', async () => {
    const receiver = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const platform = await startPlatformProcess({ DEV_API_KEY: 'k' });
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const { id } = (await (await post(`${platform.url}/v1/webhooks`, 'k', { url, events: ['order.created'] })).json()) as { id: string };
      const data = { orderId: 'o', customerId: 'c', total: { amount: 1, currency: 'EUR' }, lines: [{ sku: 's', quantity: 1 }] };

      const published = await admin(platform.dataDir, 'publish', 'order.created', 'dev', JSON.stringify(data), '--id', 'evt-cli');
      const tailed = await admin(platform.dataDir, 'tail', 'dev', id, '--for', '3', '--interval', '0.5');

      expect(JSON.parse(published.stdout)).toEqual([{ EventId: expect.any(String) }]);
      const lines = tailed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { eventId: string; status: string });
      expect(lines.at(-1)).toMatchObject({ eventId: 'evt-cli', status: 'succeeded', attempts: 1 });
      const invalid = await admin(platform.dataDir, 'publish', 'order.created', 'dev', 'not json');
      expect(invalid).toMatchObject({ code: 1, stderr: expect.stringContaining('data must be JSON') });
    } finally {
      await platform.stop();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('holds a hanging endpoint’s deliveries behind its open circuit while others flow, then delivers each once', async () => {
    const seen: { path: string; eventId: string; answered: boolean }[] = [];
    let healed = false;
    const receiver = createServer((request, response) => {
      const entry = { path: request.url ?? '', eventId: String(request.headers['webhook-id']), answered: false };
      seen.push(entry);
      if (request.url === '/hangs' && !healed) return; // accepts, never answers: the worker's request times out
      entry.answered = true;
      response.end('ok');
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const platform = await startPlatformProcess({
      DEV_API_KEY: 'k',
      REQUEST_TIMEOUT_MS: '1000',
      RETRY_SCHEDULE: Array(10).fill('1').join(','),
      CIRCUIT_FAILURE_THRESHOLD: '3',
      CIRCUIT_COOL_OFF_SECONDS: '1',
      CIRCUIT_MAX_COOL_OFF_SECONDS: '2',
    });
    const events = new EventBridgeClient({ region: 'us-east-1', endpoint: platform.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      const create = (path: string, probe: string) => createProbed(platform.url, receiver, path, probe);
      const hanging = await create('/hangs', 'hanging');
      await create('/ok', 'healthy');
      const publish = (probe: string, count: number, from?: number) => publishProbed(events, probe, count, from);
      const eventIds = (path: string, answered: boolean) => new Set(seen.filter((entry) => entry.path === path && entry.answered === answered).map((entry) => entry.eventId));

      await publish('hanging', 5);
      await eventually(async () => (await webhookHealth(platform.url, hanging)).state === 'circuit_open' || undefined, 30_000, 'the circuit open');
      const seenBeforeOpening = seen.length;
      await publish('hanging', 55, 5);
      await publish('healthy', 20);
      await eventually(async () => eventIds('/ok', true).size === 20 || undefined, 30_000, 'every healthy delivery');

      // Held, not attempted: of the 55 published behind the open circuit, the endpoint got only its probes.
      const attemptsBehindOpenCircuit = seen.slice(seenBeforeOpening).filter((entry) => entry.path === '/hangs').length;
      expect(attemptsBehindOpenCircuit).toBeLessThan(20);
      healed = true;
      await eventually(async () => eventIds('/hangs', true).size === 60 || undefined, 60_000, 'every held delivery, once healed');
      await eventually(async () => (await webhookHealth(platform.url, hanging)).state === 'healthy' || undefined, 10_000, 'the circuit closed');
      const answeredTwice = seen.filter((entry) => entry.path === '/hangs' && entry.answered).length - 60;
      expect(answeredTwice).toBe(0);
    } finally {
      events.destroy();
      await platform.stop();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('moves a slow endpoint’s deliveries to the slow lane, which delivers every one, while others flow', async () => {
    const seen: { path: string; deliveryId: string; answered: boolean }[] = [];
    const receiver = createServer((request, response) => {
      const entry = { path: request.url ?? '', deliveryId: String(request.headers['webhook-delivery-id']), answered: false };
      seen.push(entry);
      const answer = () => {
        entry.answered = !response.destroyed;
        response.end('ok');
      };
      if (request.url === '/slow') setTimeout(answer, 800); // slower than the shared lane's deadline, within the timeout
      else answer();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const platform = await startPlatformProcess({ DEV_API_KEY: 'k', REQUEST_TIMEOUT_MS: '3000', FAST_LANE_DEADLINE_MS: '300' });
    const events = new EventBridgeClient({ region: 'us-east-1', endpoint: platform.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      const create = (path: string, probe: string) => createProbed(platform.url, receiver, path, probe);
      const slow = await create('/slow', 'slow');
      const healthy = await create('/ok', 'healthy');
      const publish = (probe: string, count: number) => publishProbed(events, probe, count);
      const answered = (path: string) => new Set(seen.filter((entry) => entry.path === path && entry.answered).map((entry) => entry.deliveryId));

      await publish('slow', 30);
      await publish('healthy', 20);

      await eventually(async () => answered('/ok').size === 20 || undefined, 30_000, 'every healthy delivery');
      await eventually(async () => answered('/slow').size === 30 || undefined, 60_000, 'every slow delivery, through the slow lane');
      const health = await webhookHealth(platform.url, slow);
      expect(health.state).toBe('healthy');
      expect(Date.parse(health.slowLaneUntil!)).toBeGreaterThan(Date.now());
      expect((await webhookHealth(platform.url, healthy)).slowLaneUntil).toBeUndefined();
      // Abandoned requests were sent again in the slow lane, under the same delivery id; no other repeats.
      expect(seen.filter((entry) => entry.path === '/ok')).toHaveLength(20);
    } finally {
      events.destroy();
      await platform.stop();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('tells the operator to start the platform when none runs', async () => {
    const result = await admin('/nonexistent-data-dir', 'key', 'list', 'acme');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('npm start');
  });
});

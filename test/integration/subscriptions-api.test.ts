import { apiRoutes } from '../../functions/contracts/api-routes.js';
import { WebhookSecret } from '../../functions/contracts/webhook.schema.js';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { apiClient, expectApiError } from '../support/api-client.js';
import { eventually } from '../support/eventually.js';
import { type RunningPlatform, startPlatformProcess } from '../support/local-platform-process.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

/** Every route of the API over real HTTP, against `npm start`'s local platform. */
const DEV_KEY = 'dev-key-read-write';
const KEYS = {
  acme: 'acme-key-rw',
  acmeRead: 'acme-key-read',
  acmeWrite: 'acme-key-write',
  globex: 'globex-key-rw',
};

let platform: RunningPlatform;

beforeAll(async () => {
  platform = await startPlatformProcess({
    DEV_API_KEY: DEV_KEY,
    DEV_TENANTS: `acme:${KEYS.acme},acme:${KEYS.acmeRead}:read,acme:${KEYS.acmeWrite}:write,globex:${KEYS.globex}`,
  });
});
afterAll(() => platform.stop());

const call = apiClient(() => platform.url, KEYS.acme);

let urlSequence = 0;
const uniqueUrl = () => `https://receiver.example.com/hooks/${(urlSequence += 1)}`;
const createWebhook = async (overrides: Record<string, unknown> = {}, key = KEYS.acme) => {
  const response = await call('POST', '/v1/webhooks', {
    key,
    body: { name: 'orders', url: uniqueUrl(), events: ['order.created'], ...overrides },
  });
  expect(response.status).toBe(201);
  return response.body as { id: string; secret: string; url: string; [field: string]: unknown };
};


describe('POST /v1/webhooks', () => {
  it('creates a webhook with a generated secret and returns it once', async () => {
    const response = await call('POST', '/v1/webhooks', {
      body: {
        name: 'Orders',
        url: 'https://receiver.example.com/orders',
        events: ['order.created', 'invoice.paid'],
        filters: { dcId: ['1', '2'] },
        description: 'order feed',
        metadata: { team: 'billing' },
      },
    });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      id: expect.stringMatching(/^wh_[0-9A-Z]{26}$/),
      name: 'Orders',
      url: 'https://receiver.example.com/orders',
      events: ['order.created', 'invoice.paid'],
      filters: { dcId: ['1', '2'] },
      enabled: true,
      description: 'order feed',
      metadata: { team: 'billing' },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(WebhookSecret.safeParse(response.body.secret).success).toBe(true);
    expect(response.headers.get('location')).toBe(`/v1/webhooks/${response.body.id}`);
  });

  it('keeps a caller-supplied secret', async () => {
    const secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    expect((await createWebhook({ secret })).secret).toBe(secret);
  });

  it('lists unknown and unsubscribable event names in the validation error, and stores nothing', async () => {
    const url = uniqueUrl();
    const response = await call('POST', '/v1/webhooks', { body: { url, events: ['order.created', 'order.exploded', 'ping'] } });

    expectApiError(response, 400, 'validation_failed');
    expect(response.body.error.message).toBe('Request validation failed');
    expect(response.body.error.details).toEqual([
      { path: 'events[1]', message: 'unknown event type "order.exploded"' },
      { path: 'events[2]', message: expect.stringContaining('"ping" cannot be subscribed to') },
    ]);
    const listed = await call('GET', '/v1/webhooks?limit=100');
    expect(listed.body.data.map((webhook: { url: string }) => webhook.url)).not.toContain(url);
  });

  it.each([
    ['a relative url', { url: 'receiver/hook', events: ['order.created'] }, 'url'],
    ['a missing url', { events: ['order.created'] }, 'url'],
    ['an empty event list', { url: 'https://r.example.com', events: [] }, 'events'],
    ['an unknown property', { url: 'https://r.example.com', events: ['order.created'], colour: 'red' }, 'body'],
    ['a short secret', { url: 'https://r.example.com', events: ['order.created'], secret: 'whsec_c2hvcnQ=' }, 'secret'],
  ])('rejects %s with field details', async (_case, body, path) => {
    const response = await call('POST', '/v1/webhooks', { body });
    expectApiError(response, 400, 'validation_failed');
    expect(response.body.error.details.map((detail: { path: string }) => detail.path)).toContain(path);
  });

  it('refuses a second webhook for the same (url, event) pair of the tenant with 409', async () => {
    const first = await createWebhook({ events: ['order.created', 'order.status_changed'] });

    const response = await call('POST', '/v1/webhooks', { body: { url: first.url, events: ['order.status_changed'] } });

    expectApiError(response, 409, 'conflict');
    expect(response.body.error.details[0].message).toContain(first.id);
  });

  it('answers 413 for bodies over 64 KB, 415 for non-JSON and 400 for malformed JSON', async () => {
    const huge = { url: uniqueUrl(), events: ['order.created'], description: 'x'.repeat(70 * 1024) };
    expectApiError(await call('POST', '/v1/webhooks', { body: huge }), 413, 'payload_too_large');
    expectApiError(
      await call('POST', '/v1/webhooks', { body: 'url=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415,
      'unsupported_media_type',
    );
    expectApiError(await call('POST', '/v1/webhooks', { body: '{"url": ' }), 400, 'malformed_json');
  });
});

describe('a webhook’s rate limit and health', () => {
  it('takes a whole rateLimitPerSecond from 1 to 1000, shows it, and removes it with null', async () => {
    const created = await createWebhook({ rateLimitPerSecond: 5 });
    expect(created).toMatchObject({ rateLimitPerSecond: 5, health: { state: 'healthy' } });

    const patched = await call('PATCH', `/v1/webhooks/${created.id}`, { body: { rateLimitPerSecond: null } });
    expect(patched.status).toBe(200);
    expect(patched.body.webhook).not.toHaveProperty('rateLimitPerSecond');
    expect(patched.body.changes).toEqual({ rateLimitPerSecond: { from: 5, to: null } });
  });

  it.each([0, 1001, 2.5, '10'])('refuses rateLimitPerSecond %p with 400, and stores nothing', async (rateLimitPerSecond) => {
    const before = (await call('GET', '/v1/webhooks?limit=100')).body.data.length;
    const response = await call('POST', '/v1/webhooks', { body: { url: uniqueUrl(), events: ['order.created'], rateLimitPerSecond } });

    expectApiError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([expect.objectContaining({ path: 'rateLimitPerSecond' })]);
    expect((await call('GET', '/v1/webhooks?limit=100')).body.data).toHaveLength(before);
  });
});

describe('GET /v1/webhooks', () => {
  it('pages newest first with an opaque cursor, and only the caller’s tenant', async () => {
    const created = [];
    for (let index = 0; index < 3; index += 1) created.push(await createWebhook({}, KEYS.globex));

    const first = await call('GET', '/v1/webhooks?limit=2', { key: KEYS.globex });
    const second = await call('GET', `/v1/webhooks?limit=2&cursor=${first.body.nextCursor}`, { key: KEYS.globex });

    expect(first.body.data.map((webhook: { id: string }) => webhook.id)).toEqual([created[2]!.id, created[1]!.id]);
    expect(second.body.data.map((webhook: { id: string }) => webhook.id)).toEqual([created[0]!.id]);
    expect(second.body.nextCursor).toBeNull();
    expect(JSON.stringify(first.body)).not.toContain('whsec_');
  });

  it.each([['0'], ['101'], ['ten']])('rejects limit=%s', async (limit) => {
    expectApiError(await call('GET', `/v1/webhooks?limit=${limit}`), 400, 'validation_failed');
  });

  it('rejects a cursor it did not issue', async () => {
    expectApiError(await call('GET', '/v1/webhooks?cursor=not-a-cursor'), 400, 'validation_failed');
  });

  it('refuses query parameters a route does not take, naming them, instead of ignoring them', async () => {
    const response = await call('GET', '/v1/webhooks?limt=5&region=us-east-1');
    expectApiError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: 'query.limt', message: expect.stringContaining('region, limit, cursor') }]);
    const created = await createWebhook();
    expectApiError(await call('GET', `/v1/webhooks/${created.id}?limit=5`), 400, 'validation_failed');
    expect((await call('GET', '/v1/webhooks?limit=5&region=us-east-1')).status).toBe(200);
  });
});

describe('GET /v1/webhooks/{id} and its secret', () => {
  it('returns the webhook without its secret, with an ETag', async () => {
    const created = await createWebhook();
    const response = await call('GET', `/v1/webhooks/${created.id}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual(Object.fromEntries(Object.entries(created).filter(([field]) => field !== 'secret')));
    expect(response.headers.get('etag')).toBe('"1"');
  });

  it('reveals the secret to write-scoped keys only', async () => {
    const created = await createWebhook();
    const secret = await call('GET', `/v1/webhooks/${created.id}/secret`, { key: KEYS.acmeWrite });
    expect(secret).toMatchObject({ status: 200, body: { secret: created.secret } });
    expectApiError(await call('GET', `/v1/webhooks/${created.id}/secret`, { key: KEYS.acmeRead }), 403, 'forbidden');
  });

  it('answers 404 for missing and malformed ids', async () => {
    expectApiError(await call('GET', '/v1/webhooks/wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST'), 404, 'not_found');
    expectApiError(await call('GET', '/v1/webhooks/nonsense'), 404, 'not_found');
  });
});

describe('responses carrying a secret', () => {
  it('forbid caching (Cache-Control: no-store) on create, reveal and rotate; reading the webhook shows no secret', async () => {
    const created = await call('POST', '/v1/webhooks', { body: { url: uniqueUrl(), events: ['order.created'] } });
    const { id } = created.body as { id: string };
    const revealed = await call('GET', `/v1/webhooks/${id}/secret`);
    const rotated = await call('POST', `/v1/webhooks/${id}/secret/rotate`);

    for (const response of [created, revealed, rotated]) {
      expect(response.body.secret).toMatch(/^whsec_/);
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
    const fetched = await call('GET', `/v1/webhooks/${id}`);
    expect(fetched.body.secret).toBeUndefined();
  });
});

describe('POST /v1/webhooks/{id}/secret/rotate', () => {
  it('replaces the secret with a generated or a supplied one and says until when the old one still signs', async () => {
    const created = await createWebhook();

    const generated = await call('POST', `/v1/webhooks/${created.id}/secret/rotate`);
    const supplied = await call('POST', `/v1/webhooks/${created.id}/secret/rotate`, {
      body: { secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oDAAAA' },
    });

    expect(generated.status).toBe(200);
    expect(generated.body.secret).not.toBe(created.secret);
    expect(WebhookSecret.safeParse(generated.body.secret).success).toBe(true);
    expect(Date.parse(generated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    expect(supplied.body.secret).toBe('whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oDAAAA');
    expect((await call('GET', `/v1/webhooks/${created.id}/secret`)).body.secret).toBe(supplied.body.secret);
  });

  it('rejects a malformed secret and keeps the current one', async () => {
    const created = await createWebhook();
    expectApiError(await call('POST', `/v1/webhooks/${created.id}/secret/rotate`, { body: { secret: 'short' } }), 400, 'validation_failed');
    expect((await call('GET', `/v1/webhooks/${created.id}/secret`)).body.secret).toBe(created.secret);
  });
});

describe('PATCH and PUT /v1/webhooks/{id}', () => {
  it.each(['PATCH', 'PUT'])('%s changes only the given fields and reports each change', async (method) => {
    const created = await createWebhook({ description: 'before', filters: { dcId: ['1'] }, metadata: { a: '1' } });

    const response = await call(method, `/v1/webhooks/${created.id}`, {
      body: { name: 'renamed', description: '', filters: null, enabled: false },
    });

    expect(response.status).toBe(200);
    expect(response.body.webhook).toMatchObject({ name: 'renamed', enabled: false, metadata: { a: '1' }, url: created.url });
    expect(response.body.webhook).not.toHaveProperty('description');
    expect(response.body.webhook).not.toHaveProperty('filters');
    expect(response.body.changes).toEqual({
      name: { from: 'orders', to: 'renamed' },
      description: { from: 'before', to: null },
      filters: { from: { dcId: ['1'] }, to: null },
      enabled: { from: true, to: false },
    });
    expect(response.headers.get('etag')).toBe('"2"');
  });

  it('reports a changed url in the map of changes', async () => {
    const created = await createWebhook();
    const moved = uniqueUrl();

    const response = await call('PATCH', `/v1/webhooks/${created.id}`, { body: { url: moved } });

    expect(response.status).toBe(200);
    expect(response.body.changes).toEqual({ url: { from: created.url, to: moved } });
    expect(response.body.webhook.url).toBe(moved);
  });

  it('refuses to remove required fields and changes nothing', async () => {
    const created = await createWebhook();

    const response = await call('PATCH', `/v1/webhooks/${created.id}`, { body: { description: 'new', url: '' } });

    expectApiError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: 'url', message: 'url is required and cannot be removed' }]);
    expect((await call('GET', `/v1/webhooks/${created.id}`)).body).not.toHaveProperty('description');
  });

  it('validates new event names and the (url, event) uniqueness on update', async () => {
    const taken = await createWebhook({ events: ['order.price_changed'] });
    const mover = await createWebhook();

    expectApiError(await call('PATCH', `/v1/webhooks/${mover.id}`, { body: { events: ['nope'] } }), 400, 'validation_failed');
    expectApiError(await call('PATCH', `/v1/webhooks/${mover.id}`, { body: { url: taken.url, events: ['order.price_changed'] } }), 409, 'conflict');
  });

  it('honours If-Match: a stale ETag gets 412 and changes nothing', async () => {
    const created = await createWebhook();
    expect((await call('PATCH', `/v1/webhooks/${created.id}`, { body: { name: 'v2' }, headers: { 'if-match': '"1"' } })).status).toBe(200);

    const stale = await call('PATCH', `/v1/webhooks/${created.id}`, { body: { name: 'v3' }, headers: { 'if-match': '"1"' } });

    expectApiError(stale, 412, 'precondition_failed');
    expect((await call('GET', `/v1/webhooks/${created.id}`)).body.name).toBe('v2');
  });

  it('applies concurrent patches of different fields without losing either', async () => {
    const created = await createWebhook();
    await Promise.all([
      call('PATCH', `/v1/webhooks/${created.id}`, { body: { name: 'concurrent name' } }),
      call('PATCH', `/v1/webhooks/${created.id}`, { body: { description: 'concurrent description' } }),
      call('PATCH', `/v1/webhooks/${created.id}`, { body: { metadata: { k: 'v' } } }),
    ]);
    expect((await call('GET', `/v1/webhooks/${created.id}`)).body).toMatchObject({
      name: 'concurrent name',
      description: 'concurrent description',
      metadata: { k: 'v' },
    });
  });
});

describe('DELETE /v1/webhooks/{id}', () => {
  it('returns the deleted configuration, then the webhook is gone and its url free again', async () => {
    const created = await createWebhook();

    const response = await call('DELETE', `/v1/webhooks/${created.id}`);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: created.id, url: created.url, events: ['order.created'] });
    expect(response.body).not.toHaveProperty('secret');
    expectApiError(await call('GET', `/v1/webhooks/${created.id}`), 404, 'not_found');
    expectApiError(await call('DELETE', `/v1/webhooks/${created.id}`), 404, 'not_found');
    expect((await call('POST', '/v1/webhooks', { body: { url: created.url, events: ['order.created'] } })).status).toBe(201);
  });
});

describe('POST /v1/webhooks/{id}/ping', () => {
  it('queues a ping delivery for the webhook and records it in its delivery log', async () => {
    const created = await createWebhook();

    const response = await call('POST', `/v1/webhooks/${created.id}/ping`);

    expect(response.status).toBe(202);
    expect(response.body).toEqual({
      deliveryId: expect.stringMatching(/^dlv_/),
      eventId: expect.stringMatching(/^evt_/),
      status: 'queued',
    });
    const delivery = await call('GET', `/v1/webhooks/${created.id}/deliveries/${response.body.deliveryId}`);
    expect(delivery.body).toMatchObject({ id: response.body.deliveryId, eventId: response.body.eventId, eventType: 'ping' });
  });
});

describe('endpoint authentication headers', () => {
  const TOKEN = 'Bearer token-for-the-endpoint';

  it('are sent with every delivery beside the signature, and shown by name only', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const created = await createWebhook({ url: receiver.url('/ok/headers'), headers: { Authorization: TOKEN, 'X-Api-Key': 'k-1' } });
      expect(created.headerNames).toEqual(['Authorization', 'X-Api-Key']);
      const shown = [created, (await call('GET', `/v1/webhooks/${created.id}`)).body, (await call('GET', '/v1/webhooks?limit=100')).body];
      for (const body of shown) expect(JSON.stringify(body)).not.toMatch(/token-for-the-endpoint|k-1/);

      await call('POST', `/v1/webhooks/${created.id}/ping`);
      const arrived = (count: number) => async () => (receiver.at('/ok/headers').length >= count ? receiver.at('/ok/headers') : undefined);
      const [ping] = await eventually(arrived(1), 20_000, 'the first ping');
      expect(ping!.headers).toMatchObject({ authorization: TOKEN, 'x-api-key': 'k-1', 'content-type': 'application/json' });
      const headers = Object.fromEntries(Object.entries(ping!.headers).map(([name, value]) => [name, String(value)]));
      expect(new StandardWebhook(created.secret).verify(ping!.body, headers)).toMatchObject({ type: 'ping' });

      const patched = await call('PATCH', `/v1/webhooks/${created.id}`, { body: { headers: { Authorization: 'Bearer rotated' } } });
      expect(patched.status).toBe(200);
      expect(patched.body.changes).toEqual({ headers: { from: ['Authorization', 'X-Api-Key'], to: ['Authorization'] } });
      await call('POST', `/v1/webhooks/${created.id}/ping`);
      const requests = await eventually(arrived(2), 20_000, 'the second ping');
      expect(requests[1]!.headers.authorization).toBe('Bearer rotated');
      expect(requests[1]!.headers).not.toHaveProperty('x-api-key');
    } finally {
      await receiver.stop();
    }
  });

  it('refuse reserved and malformed names, more than 10, and bad values with 400, changing nothing', async () => {
    const created = await createWebhook();
    const cases: [Record<string, string>, string][] = [
      [{ 'Webhook-Signature': 'forged' }, 'headers.Webhook-Signature'],
      [{ 'content-type': 'text/plain' }, 'headers.content-type'],
      [{ Host: 'evil.example.com' }, 'headers.Host'],
      [{ 'X-Hub-Signature-256': 'sha256=0' }, 'headers.X-Hub-Signature-256'],
      [{ 'Bad Name': 'x' }, 'headers.Bad Name'],
      [{ 'X-Injected': 'a\r\nX-Evil: 1' }, 'headers.X-Injected'],
      [Object.fromEntries(Array.from({ length: 11 }, (_, index) => [`X-H${index}`, 'v'])), 'headers'],
      [{ Authorization: 'a', authorization: 'b' }, 'headers'],
    ];
    for (const [headers, path] of cases) {
      const onCreate = await call('POST', '/v1/webhooks', { body: { url: uniqueUrl(), events: ['order.created'], headers } });
      expectApiError(onCreate, 400, 'validation_failed');
      expect(onCreate.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      const onPatch = await call('PATCH', `/v1/webhooks/${created.id}`, { body: { headers } });
      expectApiError(onPatch, 400, 'validation_failed');
    }
    expect((await call('GET', `/v1/webhooks/${created.id}`)).body).not.toHaveProperty('headerNames');
  });

  it('replace credentials in URLs: a URL with userinfo is refused with 400 pointing to headers', async () => {
    const created = await createWebhook();
    for (const url of ['https://user:pass@receiver.example.com/hook', 'https://token@receiver.example.com/hook']) {
      const onCreate = await call('POST', '/v1/webhooks', { body: { url, events: ['order.created'] } });
      expectApiError(onCreate, 400, 'validation_failed');
      expect(onCreate.body.error.details).toEqual([{ path: 'url', message: expect.stringContaining('`headers`') }]);
      const onPatch = await call('PATCH', `/v1/webhooks/${created.id}`, { body: { url } });
      expectApiError(onPatch, 400, 'validation_failed');
    }
    expect((await call('GET', `/v1/webhooks/${created.id}`)).body.url).toBe(created.url);
  });
});

describe('GET /v1/event-types and /v1/openapi.json', () => {
  it('publishes the catalogue with JSON Schemas and examples', async () => {
    const response = await call('GET', '/v1/event-types', { key: KEYS.acmeRead });
    expect(response.status).toBe(200);
    const byName = Object.fromEntries(response.body.data.map((eventType: { name: string }) => [eventType.name, eventType]));
    expect(byName.ping).toMatchObject({ subscribable: false, inUse: true });
    expect(byName['invoice.paid']).toMatchObject({ subscribable: true, inUse: false });
    expect(byName['order.created'].schema).toMatchObject({ type: 'object', required: expect.arrayContaining(['orderId']) });
    expect(byName['order.created'].example).toMatchObject({ orderId: expect.any(String) });
  });

  it('says who publishes each type: the platform its ping and operational events, producers all the others', async () => {
    const { data } = (await call('GET', '/v1/event-types', { key: KEYS.acmeRead })).body as { data: { name: string; publishedBy: string }[] };
    const publishedBy = (publisher: string) => data.filter((eventType) => eventType.publishedBy === publisher).map((eventType) => eventType.name);
    expect(publishedBy('platform').sort()).toEqual(['delivery.exhausted', 'ping', 'webhook.circuit_opened', 'webhook.disabled']);
    expect(publishedBy('producers')).toEqual(expect.arrayContaining(['order.created', 'invoice.paid']));
    expect(publishedBy('platform').length + publishedBy('producers').length).toBe(data.length);
  });

  it('serves the OpenAPI document without a key', async () => {
    const response = await call('GET', '/v1/openapi.json', { key: '' });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(Object.keys(response.body.paths)).toContain('/v1/webhooks/{id}/ping');
  });
});

describe('authentication, scopes and tenancy', () => {
  it.each([
    ['x-api-key', { 'x-api-key': KEYS.acme }],
    ['Authorization: Bearer', { authorization: `Bearer ${KEYS.acme}` }],
    ['x-api-token', { 'x-api-token': KEYS.acme }],
    ['X-ApiKey', { 'X-ApiKey': KEYS.acme }],
  ])('accepts the key in %s', async (_header, headers) => {
    expect((await call('GET', '/v1/webhooks', { key: '', headers })).status).toBe(200);
  });

  it('answers 401 for a missing or unknown key', async () => {
    expectApiError(await call('GET', '/v1/webhooks', { key: '' }), 401, 'unauthorized');
    expectApiError(await call('GET', '/v1/webhooks', { key: 'not-a-key' }), 401, 'unauthorized');
  });

  it('answers 403 when the key lacks the scope', async () => {
    expectApiError(await call('POST', '/v1/webhooks', { key: KEYS.acmeRead, body: { url: uniqueUrl(), events: ['order.created'] } }), 403, 'forbidden');
    expectApiError(await call('GET', '/v1/webhooks', { key: KEYS.acmeWrite }), 403, 'forbidden');
  });

  /**
   * The scope each route needs, written out here rather than read from the route table, so that a scope loosened
   * in the table fails this test (the OpenAPI snapshot alone would follow a regeneration).
   */
  const ROUTE_SCOPES = [
    ['GET', '/v1/webhooks', 'read'],
    ['POST', '/v1/webhooks', 'write'],
    ['GET', '/v1/webhooks/{id}', 'read'],
    ['GET', '/v1/webhooks/{id}/secret', 'write'],
    ['POST', '/v1/webhooks/{id}/secret/rotate', 'write'],
    ['PATCH', '/v1/webhooks/{id}', 'write'],
    ['PUT', '/v1/webhooks/{id}', 'write'],
    ['DELETE', '/v1/webhooks/{id}', 'write'],
    ['POST', '/v1/webhooks/{id}/ping', 'write'],
    ['GET', '/v1/webhooks/{id}/deliveries', 'read'],
    ['GET', '/v1/webhooks/{id}/deliveries/{deliveryId}', 'read'],
    ['POST', '/v1/webhooks/{id}/recover', 'write'],
    ['POST', '/v1/webhooks/{id}/deliveries/{deliveryId}/retry', 'write'],
    ['GET', '/v1/event-types', 'read'],
    ['GET', '/v1/openapi.json', 'none'],
  ] as const;

  it('lists the scope of every route of the route table', () => {
    expect(ROUTE_SCOPES.map(([method, path]) => `${method} ${path}`).sort()).toEqual(
      apiRoutes.map((route) => `${route.method} ${route.path}`).sort(),
    );
  });

  it.each(ROUTE_SCOPES.filter(([, , scope]) => scope !== 'none'))(
    '%s %s needs the %s scope: a key without it gets 403 and changes nothing, a key with it gets past the check',
    async (method, path, scope) => {
      const webhook = await createWebhook({ description: 'untouched' });
      const concrete = path.replace('{id}', webhook.id).replace('{deliveryId}', 'dlv_01JD3ZQ8Y5W9N6V7K2M4P0R8SV');
      const body = method === 'GET' || method === 'DELETE' ? undefined : { description: 'changed', since: new Date().toISOString() };
      const [withScope, withoutScope] = scope === 'read' ? [KEYS.acmeRead, KEYS.acmeWrite] : [KEYS.acmeWrite, KEYS.acmeRead];

      expectApiError(await call(method, concrete, { key: withoutScope, ...(body && { body }) }), 403, 'forbidden');
      expect((await call('GET', `/v1/webhooks/${webhook.id}`)).body).toMatchObject({ description: 'untouched', enabled: true });
      expect([401, 403]).not.toContain((await call(method, concrete, { key: withScope, ...(body && { body }) })).status);
    },
  );

  it('hides another tenant’s webhook exactly like a missing one', async () => {
    const globexWebhook = await createWebhook({}, KEYS.globex);
    const missing = await call('GET', '/v1/webhooks/wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST');

    for (const [method, path, body] of [
      ['GET', `/v1/webhooks/${globexWebhook.id}`, undefined],
      ['GET', `/v1/webhooks/${globexWebhook.id}/secret`, undefined],
      ['PATCH', `/v1/webhooks/${globexWebhook.id}`, { name: 'hijacked' }],
      ['DELETE', `/v1/webhooks/${globexWebhook.id}`, undefined],
      ['POST', `/v1/webhooks/${globexWebhook.id}/ping`, undefined],
    ] as const) {
      const response = await call(method, path, { key: KEYS.acme, body });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe(missing.body.error.code);
    }
    expect((await call('GET', `/v1/webhooks/${globexWebhook.id}`, { key: KEYS.globex })).body.name).toBe('orders');
  });

  it('lets the same (url, event) exist in two tenants', async () => {
    const url = uniqueUrl();
    await createWebhook({ url });
    await createWebhook({ url }, KEYS.globex);
  });
});

describe('routing and region', () => {
  it('answers 404 for unknown routes and 405 with Allow for wrong methods', async () => {
    expectApiError(await call('GET', '/v1/nothing-here'), 404, 'not_found');
    const wrongMethod = await call('DELETE', '/v1/webhooks');
    expectApiError(wrongMethod, 405, 'method_not_allowed');
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
  });

  it('accepts ?region= naming this deployment’s region and rejects others with Invalid Region', async () => {
    expect((await call('GET', '/v1/webhooks?region=us-east-1')).status).toBe(200);
    const response = await call('GET', '/v1/webhooks?region=uk');
    expectApiError(response, 400, 'invalid_region');
    expect(response.body.error.message).toBe('Invalid Region');
  });

  it('registers DEV_API_KEY for tenant dev', async () => {
    const created = await createWebhook({}, DEV_KEY);
    expectApiError(await call('GET', `/v1/webhooks/${created.id}`, { key: KEYS.acme }), 404, 'not_found');
    expect((await call('GET', `/v1/webhooks/${created.id}`, { key: DEV_KEY })).status).toBe(200);
  });
});

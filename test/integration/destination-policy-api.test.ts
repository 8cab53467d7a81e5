import { apiClient, expectApiError } from '../support/api-client.js';
import { type RunningPlatform, startPlatformProcess } from '../support/local-platform-process.js';

/**
 * The destination policy through the API, with the SSRF guard on and https required, as on AWS: a webhook URL is
 * checked when it is created and whenever it changes. Its own file: the platform's handlers read these settings
 * once, when they are loaded, as a Lambda does.
 */
const DEV_KEY = 'dev-key-guarded';

describe('the destination policy, with the SSRF guard on and https required (as on AWS)', () => {
  let guarded: RunningPlatform;
  beforeAll(async () => {
    guarded = await startPlatformProcess({ DEV_API_KEY: DEV_KEY, ALLOW_PRIVATE_DESTINATIONS: 'false', ALLOW_HTTP_URLS: 'false' });
  });
  afterAll(() => guarded.stop());
  const call = apiClient(() => guarded.url, DEV_KEY);
  const guardedCall = (method: string, path: string, body?: unknown) => call(method, path, { body });

  it.each([
    ['a loopback address', 'https://127.0.0.1/hook', '127.0.0.1 is a loopback address'],
    ['the metadata service', 'https://169.254.169.254/latest', '169.254.169.254 is a link-local address'],
    ['plain http', 'http://93.184.216.34/hook', 'must use https'],
  ])('refuses creating a webhook for %s with 400, and stores nothing', async (_what, url, message) => {
    const response = await guardedCall('POST', '/v1/webhooks', { url, events: ['order.created'] });

    expectApiError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: 'url', message }]);
    expect((await guardedCall('GET', '/v1/webhooks?limit=100')).body.data.map((webhook: { url: string }) => webhook.url)).not.toContain(url);
  });

  it('checks a changed url at PATCH time: 400 and the webhook unchanged; a public one is accepted', async () => {
    const created = await guardedCall('POST', '/v1/webhooks', { url: 'https://93.184.216.34/hooks/guarded', events: ['order.created'] });
    expect(created.status).toBe(201);

    const refused = await guardedCall('PATCH', `/v1/webhooks/${created.body.id}`, { url: 'https://10.0.0.7/hooks' });

    expectApiError(refused, 400, 'validation_failed');
    expect(refused.body.error.details).toEqual([{ path: 'url', message: '10.0.0.7 is a private address' }]);
    const unchanged = await guardedCall('GET', `/v1/webhooks/${created.body.id}`);
    expect(unchanged.body.url).toBe('https://93.184.216.34/hooks/guarded');
    expect(unchanged.headers.get('etag')).toBe('"1"');
    const accepted = await guardedCall('PATCH', `/v1/webhooks/${created.body.id}`, { url: 'https://93.184.216.35/hooks/guarded' });
    expect(accepted.body.changes).toEqual({ url: { from: 'https://93.184.216.34/hooks/guarded', to: 'https://93.184.216.35/hooks/guarded' } });
  });
});

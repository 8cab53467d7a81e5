import { randomBytes } from 'node:crypto';
import { WebhookCreate, WebhookPatch, WebhookSecret } from '../../functions/contracts/webhook.schema.js';
import { generateSecret } from '../../functions/domain/webhook.js';

const secretOf = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

describe('WebhookCreate', () => {
  it('defaults enabled to true and accepts filters, metadata and a description', () => {
    const parsed = WebhookCreate.parse({
      url: 'https://example.com/hook',
      events: ['order.created'],
      filters: { dcId: ['1', '2'] },
      metadata: { team: 'billing' },
      description: 'orders',
    });
    expect(parsed.enabled).toBe(true);
    expect(parsed.filters).toEqual({ dcId: ['1', '2'] });
  });

  it.each([
    ['a relative url', { url: '/hook', events: ['order.created'] }, 'url'],
    ['a non-http scheme', { url: 'ftp://example.com/hook', events: ['order.created'] }, 'url'],
    ['no events', { url: 'https://example.com', events: [] }, 'events'],
    ['an unknown property', { url: 'https://example.com', events: ['order.created'], colour: 'red' }, ''],
    ['an empty filter value list', { url: 'https://example.com', events: ['order.created'], filters: { dcId: [] } }, 'filters.dcId'],
    ['a malformed secret', { url: 'https://example.com', events: ['order.created'], secret: 'hunter2' }, 'secret'],
  ])('rejects %s', (_case, body, path) => {
    const result = WebhookCreate.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });
});

describe('WebhookSecret', () => {
  it('accepts whsec_ with 24 to 64 bytes of base64, and generated secrets', () => {
    expect(WebhookSecret.safeParse(secretOf(24)).success).toBe(true);
    expect(WebhookSecret.safeParse(secretOf(64)).success).toBe(true);
    expect(WebhookSecret.safeParse(generateSecret()).success).toBe(true);
  });

  it('rejects secrets shorter than 24 or longer than 64 bytes', () => {
    expect(WebhookSecret.safeParse(secretOf(23)).success).toBe(false);
    expect(WebhookSecret.safeParse(secretOf(65)).success).toBe(false);
  });

  it('generates a different secret each time', () => {
    expect(generateSecret()).not.toBe(generateSecret());
  });
});

describe('WebhookPatch', () => {
  it('accepts "" and null for optional properties, meaning remove', () => {
    expect(WebhookPatch.parse({ description: '', filters: null, metadata: '' })).toEqual({
      description: '',
      filters: null,
      metadata: '',
    });
  });

  it.each(['name', 'url', 'events', 'enabled'])('refuses to remove the required property %s', (field) => {
    for (const removal of ['', null]) {
      const result = WebhookPatch.safeParse({ [field]: removal });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toBe(`${field} is required and cannot be removed`);
    }
  });

  it('refuses properties that cannot be patched, such as the secret', () => {
    expect(WebhookPatch.safeParse({ secret: generateSecret() }).success).toBe(false);
  });
});

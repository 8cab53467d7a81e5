import { verify as verifyHubSignature } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { buildEventPattern, matchesEventPattern } from '../../functions/contracts/event-routing.js';
import { deliveryIdFor } from '../../functions/domain/delivery/delivery-id.js';
import { matchesFilters } from '../../functions/domain/delivery/filters.js';
import {
  DEFAULT_RETRY_POLICY,
  nextRetryDelaySeconds,
  parseRetryAfter,
  parseRetrySchedule,
} from '../../functions/domain/delivery/retry-policy.js';
import { deliveryHeaders } from '../../functions/domain/delivery/signing.js';
import { generateSecret, signingSecrets } from '../../functions/domain/webhook.js';

describe('retry policy', () => {
  it('defaults to immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 20 h, 24 h', () => {
    expect(DEFAULT_RETRY_POLICY.delaysSeconds).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000, 86400]);
  });

  it('waits the scheduled delay within ±20 % jitter, and gives up after the last', () => {
    const policy = { delaysSeconds: [300, 1800], jitter: 0.2 };
    expect(nextRetryDelaySeconds(policy, 1, undefined, () => 0)).toBeCloseTo(240);
    expect(nextRetryDelaySeconds(policy, 1, undefined, () => 1)).toBeCloseTo(360);
    expect(nextRetryDelaySeconds(policy, 2, undefined, () => 0.5)).toBeCloseTo(1800);
    expect(nextRetryDelaySeconds(policy, 3, undefined, () => 0.5)).toBeUndefined();
  });

  it('honours Retry-After, clamped between the scheduled delay and the longest delay', () => {
    const policy = { delaysSeconds: [5, 300], jitter: 0 };
    expect(nextRetryDelaySeconds(policy, 1, 60)).toBe(60);
    expect(nextRetryDelaySeconds(policy, 1, 1)).toBe(5);
    expect(nextRetryDelaySeconds(policy, 1, 100_000)).toBe(300);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('reads Retry-After seconds with surrounding spaces, and refuses numbers with anything else around them', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(' 120 ', now)).toBe(120);
    expect(parseRetryAfter('120abc', now)).toBeUndefined();
    expect(parseRetryAfter('abc120', now)).toBeUndefined();
  });

  it('parses RETRY_SCHEDULE, "1,1,1" meaning four attempts', () => {
    expect(parseRetrySchedule('1, 1,1')).toEqual([1, 1, 1]);
    expect(() => parseRetrySchedule('1,-1')).toThrow(/RETRY_SCHEDULE/);
    expect(() => parseRetrySchedule('')).toThrow(/RETRY_SCHEDULE/);
    expect(() => parseRetrySchedule('   ')).toThrow(/RETRY_SCHEDULE/);
    expect(parseRetrySchedule('0,5')).toEqual([0, 5]); // an immediate retry is a schedule too
  });
});

describe('filters', () => {
  it('match when every filtered attribute has an allowed value', () => {
    expect(matchesFilters({ dcId: ['1', '2'], region: ['eu'] }, { dcId: '2', region: 'eu', other: 'x' })).toBe(true);
    expect(matchesFilters({ dcId: ['1', '2'] }, { dcId: '3' })).toBe(false);
    expect(matchesFilters({ dcId: ['1'] }, undefined)).toBe(false);
    expect(matchesFilters(undefined, { dcId: '3' })).toBe(true);
  });

  it('with several keys need every key to match, not any', () => {
    const filters = { dcId: ['1', '2'], region: ['eu'] };

    expect(matchesFilters(filters, { dcId: '1', region: 'us' })).toBe(false);
    expect(matchesFilters(filters, { dcId: '9', region: 'eu' })).toBe(false);
    expect(matchesFilters(filters, { dcId: '1' })).toBe(false);
    expect(matchesFilters(filters, { region: 'eu' })).toBe(false);
    expect(matchesFilters(filters, { dcId: '1', region: 'eu' })).toBe(true);
  });
});

describe('delivery ids', () => {
  it('are the same for the same (event, webhook), different otherwise, and ordered by event time', () => {
    const time = new Date('2026-01-01T00:00:00Z');
    expect(deliveryIdFor('evt_1', 'wh_A', time)).toBe(deliveryIdFor('evt_1', 'wh_A', time));
    expect(deliveryIdFor('evt_1', 'wh_A', time)).not.toBe(deliveryIdFor('evt_1', 'wh_B', time));
    expect(deliveryIdFor('evt_1', 'wh_A', time) < deliveryIdFor('evt_0', 'wh_A', new Date('2026-01-01T00:00:01Z'))).toBe(true);
    expect(deliveryIdFor('evt_1', 'wh_A', time)).toMatch(/^dlv_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

describe('delivery signatures', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'order.created', timestamp: '2026-01-01T00:00:00.000Z', data: { a: 1 } });
  const headersFor = (secrets: string[]) =>
    deliveryHeaders({ secrets, eventId: 'evt_1', deliveryId: 'dlv_1', attempt: 2, timestampSeconds: Math.floor(Date.now() / 1000), body });

  it('verify with standardwebhooks and @octokit/webhooks-methods using the secret the API returns', async () => {
    const secret = generateSecret();
    const headers = headersFor([secret]);
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(await verifyHubSignature(secret, body, headers['x-hub-signature-256']!)).toBe(true);
    expect(() => new StandardWebhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('name the content, the delivery and the attempt', () => {
    const headers = headersFor([generateSecret()]);

    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'evt_1',
      'webhook-delivery-id': 'dlv_1',
      'webhook-attempt': '2',
      'webhook-attempt-id': 'dlv_1.2',
    });
    expect(headers['user-agent']).toMatch(/^WebhookPlatform\/1\.0/);
  });

  it('carry one signature per valid secret, each verifying on its own', () => {
    const [current, previous] = [generateSecret(), generateSecret()];
    const headers = headersFor([current, previous]);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new StandardWebhook(current).verify(body, headers)).toBeDefined();
    expect(new StandardWebhook(previous).verify(body, headers)).toBeDefined();
  });
});

describe('event pattern', () => {
  it('selects the publishable catalogue types from the allowed sources, never ping', () => {
    const pattern = buildEventPattern(['shop.orders']);
    expect(pattern['detail-type']).toContain('order.created');
    expect(pattern['detail-type']).not.toContain('ping');
    expect(matchesEventPattern(pattern, { source: 'shop.orders', detailType: 'order.created' })).toBe(true);
    expect(matchesEventPattern(pattern, { source: 'elsewhere', detailType: 'order.created' })).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'shop.orders', detailType: 'ping' })).toBe(false);
    expect(buildEventPattern(undefined).source).toBeUndefined();
  });
});

describe('signing secrets during a rotation', () => {
  it('are the newest secret first, then previous ones until they expire', () => {
    const webhook = {
      secret: 'whsec_new',
      previousSecrets: [
        { secret: 'whsec_previous', expiresAt: '2026-01-02T00:00:00.000Z' },
        { secret: 'whsec_ancient', expiresAt: '2026-01-01T00:00:00.000Z' },
      ],
    };
    expect(signingSecrets(webhook, new Date('2026-01-01T12:00:00.000Z'))).toEqual(['whsec_new', 'whsec_previous']);
    expect(signingSecrets(webhook, new Date('2026-01-02T00:00:00.000Z'))).toEqual(['whsec_new']);
    expect(signingSecrets({ secret: 'whsec_only' }, new Date())).toEqual(['whsec_only']);
  });
});

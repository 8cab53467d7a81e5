import { signingSecrets, slowLaneReason, toWebhookView, type WebhookRecord } from '../../functions/domain/webhook.js';

/** What the API shows of a stored webhook, in each health state, and when its deliveries take the slow lane. */
const at = (iso: string) => `2026-06-01T${iso}.000Z`;
const now = new Date(at('12:00:00'));
const stored: WebhookRecord = {
  tenantId: 'acme',
  id: 'wh_01JQ0000000000000000000000',
  name: 'orders',
  url: 'https://receiver.example.com/hooks',
  events: ['order.created'],
  enabled: true,
  credentials: { sealed: 'v1.key.iv.sealed' },
  version: 3,
  createdAt: at('10:00:00'),
  updatedAt: at('11:00:00'),
};
const view = { id: stored.id, name: 'orders', url: stored.url, events: ['order.created'], enabled: true, createdAt: stored.createdAt, updatedAt: stored.updatedAt };

describe('the API view of a webhook', () => {
  it('shows a healthy webhook without any property it does not have, and never its credentials', () => {
    const legacy = { plaintext: { secret: 'whsec_new', previousSecrets: [{ secret: 'whsec_old', expiresAt: at('13:00:00') }] } };
    expect(toWebhookView({ ...stored, credentials: legacy })).toEqual({ ...view, health: { state: 'healthy' } });
    expect(toWebhookView(stored)).toEqual({ ...view, health: { state: 'healthy' } });
  });

  it('shows the names of the endpoint\'s headers, never their values', () => {
    expect(toWebhookView({ ...stored, headerNames: ['Authorization', 'X-Api-Key'] })).toEqual({
      ...view,
      headerNames: ['Authorization', 'X-Api-Key'],
      health: { state: 'healthy' },
    });
  });

  it('shows a failing webhook’s run, its rate limit, and the slow lane it is in', () => {
    const failing = { ...stored, failingSince: at('11:30:00'), consecutiveFailures: 2, rateLimitPerSecond: 5, slowLaneUntil: at('12:30:00') };
    expect(toWebhookView(failing)).toEqual({
      ...view,
      rateLimitPerSecond: 5,
      health: { state: 'failing', failingSince: at('11:30:00'), consecutiveFailures: 2, slowLaneUntil: at('12:30:00') },
    });
  });

  it('shows an open circuit with its next probe', () => {
    const circuit = { openedAt: at('11:50:00'), probeAt: at('12:00:30'), coolOffSeconds: 30 };
    expect(toWebhookView({ ...stored, failingSince: at('11:30:00'), consecutiveFailures: 5, circuit }).health).toEqual({
      state: 'circuit_open',
      failingSince: at('11:30:00'),
      consecutiveFailures: 5,
      circuitOpenedAt: at('11:50:00'),
      nextProbeAt: at('12:00:30'),
    });
  });

  it('shows why and since when the platform disabled a webhook, with the failure run that led there', () => {
    const disabled = {
      ...stored,
      enabled: false,
      disabledReason: 'failing for 5 days',
      disabledAt: at('11:59:00'),
      failingSince: at('06:00:00'),
      consecutiveFailures: 6,
      circuit: { openedAt: at('07:00:00'), probeAt: at('12:10:00'), coolOffSeconds: 600 },
    };
    expect(toWebhookView(disabled)).toEqual({
      ...view,
      enabled: false,
      disabledReason: 'failing for 5 days',
      disabledAt: at('11:59:00'),
      health: { state: 'disabled', failingSince: at('06:00:00'), consecutiveFailures: 6 },
    });
    expect(toWebhookView({ ...stored, enabled: false }).health).toEqual({ state: 'disabled' });
  });
});

describe('the slow lane', () => {
  it('takes an endpoint until its slowLaneUntil or stalledUntil, not from that instant on', () => {
    expect(slowLaneReason({ slowLaneUntil: new Date(now.getTime() + 1).toISOString() }, now)).toBe('slow_endpoint');
    expect(slowLaneReason({ slowLaneUntil: now.toISOString() }, now)).toBeUndefined();
    expect(slowLaneReason({ stalledUntil: new Date(now.getTime() + 1).toISOString() }, now)).toBe('requests_unanswered');
    expect(slowLaneReason({ stalledUntil: now.toISOString() }, now)).toBeUndefined();
    expect(slowLaneReason({}, now)).toBeUndefined();
    expect(slowLaneReason({ circuit: { openedAt: at('11:00:00'), probeAt: at('11:00:30'), coolOffSeconds: 30 } }, now)).toBe('circuit_open');
  });
});

describe('signing secrets', () => {
  it('are the newest, then the rotated-out ones whose overlap has not ended', () => {
    const rotated = {
      secret: 'whsec_new',
      previousSecrets: [
        { secret: 'whsec_recent', expiresAt: new Date(now.getTime() + 1).toISOString() },
        { secret: 'whsec_ending', expiresAt: now.toISOString() },
      ],
    };
    expect(signingSecrets(rotated, now)).toEqual(['whsec_new', 'whsec_recent']);
    expect(signingSecrets({ secret: 'whsec_only' }, now)).toEqual(['whsec_only']);
  });
});

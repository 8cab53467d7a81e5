import * as z from 'zod';
import {
  AWS_REGION_PATTERN,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  NOT_BLANK,
  PageCursor,
  PageLimit,
  jsonSchemaOf,
  recordOf,
  text,
  withUrlGrammar,
} from './common.schema.js';
import { pingEventType, subscribableEventTypeNames } from './event-catalogue.js';

/** Webhook ids are `wh_` + a ULID: unique, and sortable by creation time. */
export const WebhookId = z
  .string()
  .regex(/^wh_[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a webhook id (wh_ followed by 26 characters)')
  .meta({ id: 'WebhookId', example: 'wh_01JD3ZQ8Y5W9N6V7K2M4P0R8ST' });

export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

/**
 * `whsec_` + base64 of 24–64 random bytes: the Standard Webhooks secret format. 32 to 86 base64 digits are what
 * decode to 24 to 64 bytes, so the pattern states the whole rule (the refinement says it in bytes).
 */
export const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{32,86}={0,2}$/, `must be "whsec_" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`)
  .refine((secret) => {
    const bytes = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64').length;
    return bytes >= MIN_SECRET_BYTES && bytes <= MAX_SECRET_BYTES;
  }, `must encode between ${MIN_SECRET_BYTES} and ${MAX_SECRET_BYTES} bytes`)
  .meta({ id: 'WebhookSecret', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });

const WebhookUrl = z
  .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
  .max(2048)
  // Userinfo (`https://user:pass@host`) would be stored, shown to read-only keys and never sent: an `@` before the
  // end of the authority (the first / \\ ? or #, as URL parsers read it) is refused.
  .regex(
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^@/\\?#]*(?:[/\\?#]|$)/,
    'must not contain credentials (user:password@): send them as a header in `headers`, e.g. Authorization',
  )
  .describe(
    'Absolute URL receiving the POSTs, without credentials (use `headers`). https is required unless the deployment ' +
      'allows http (local mode).',
  );

/** Headers every delivery carries from the platform, or that HTTP itself manages: a webhook cannot set them. */
export const RESERVED_HEADER_NAMES = [
  'content-type',
  'content-length',
  'content-encoding',
  'host',
  'user-agent',
  'x-hub-signature-256',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
] as const;
export const RESERVED_HEADER_PREFIXES = ['webhook-', 'proxy-', 'sec-'] as const;
export const MAX_WEBHOOK_HEADERS = 10;

/** A regular expression source matching `text` in any letter case (JSON Schema patterns have no flags). */
const anyCase = (text: string) => text.replace(/[a-z]/g, (letter) => `[${letter}${letter.toUpperCase()}]`);

const HeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be an HTTP header name: 1-64 letters, digits or !#$%&'*+.^_`|~-")
  .regex(
    new RegExp(
      `^(?!(?:${RESERVED_HEADER_NAMES.map(anyCase).join('|')})$)(?!${RESERVED_HEADER_PREFIXES.map(anyCase).join('|')})`,
    ),
    `is reserved (the platform or HTTP sets it): ${RESERVED_HEADER_NAMES.join(', ')}, and ${RESERVED_HEADER_PREFIXES.map((prefix) => `${prefix}*`).join(', ')}`,
  );
const HeaderValue = z
  .string()
  .max(4096)
  .regex(/^[!-~](?:[ -~]*[!-~])?$/, 'must be 1-4096 printable ASCII characters, without leading or trailing spaces');

// Names differing only in letter case name one HTTP header: refused, the one rule JSON Schema cannot state.
const Headers = recordOf(HeaderName, HeaderValue, MAX_WEBHOOK_HEADERS, 'headers')
  .refine(
    (headers) => new Set(Object.keys(headers).map((name) => name.toLowerCase())).size === Object.keys(headers).length,
    'header names must differ in more than letter case',
  )
  .meta({ example: { Authorization: 'Bearer 3f9c…' } })
  .describe(
    `Request headers sent with every delivery, e.g. the endpoint's own authentication (at most ${MAX_WEBHOOK_HEADERS}; ` +
      'names must differ in more than letter case). ' +
      'Values are write-only: they are stored encrypted and the API only ever returns the names (`headerNames`).',
  );

/** At most 100 characters, not blank; stored trimmed. */
const name = (blank = 'must not be blank', params?: Parameters<typeof z.string>[0]) =>
  text({ max: 100 }, params).regex(NOT_BLANK, blank).trim();
const Name = name();
const Description = text({ max: 500 });

/** A name of the catalogue that webhooks can subscribe to (`ping` is sent on request only). */
const EventName = z.enum(subscribableEventTypeNames() as [string, ...string[]], {
  error: (issue) =>
    typeof issue.input !== 'string'
      ? 'must be an event type name; see GET /v1/event-types'
      : issue.input === pingEventType.name
        ? `"${pingEventType.name}" cannot be subscribed to; it is sent by POST /v1/webhooks/{id}/ping`
        : `unknown event type "${issue.input}"`,
});
const EventNames = z
  .array(EventName)
  .min(1, 'must name at least one event type')
  .max(50)
  .describe('Event types this webhook receives; see GET /v1/event-types. `ping` cannot be listed.');

const AttributeName = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits, or _.:-');
const Filters = recordOf(AttributeName, z.array(text({ min: 1, max: 256 })).min(1).max(100), 20, 'filter attributes')
  .describe(
    'Only events whose attributes match are delivered: for every key, the event attribute of that name must equal one of the listed values.',
  )
  .meta({ example: { dcId: ['1', '2', '3'] } });

const Metadata = recordOf(text({ min: 1, max: 64 }), text({ max: 500 }), 50, 'metadata keys').describe(
  'Your own key/value pairs, returned as given.',
);

export const MAX_RATE_LIMIT_PER_SECOND = 1000;
const RateLimitPerSecond = z
  .number()
  .int('must be a whole number of deliveries per second')
  .min(1)
  .max(MAX_RATE_LIMIT_PER_SECOND)
  .describe(
    'At most this many deliveries per second to this webhook, across every worker: attempts are spaced 1/rate seconds ' +
      'apart, and the excess waits its turn (never dropped, never counted as a failure). Unset: no limit.',
  )
  .meta({ example: 10 });

/** Body of POST /v1/webhooks. */
export const WebhookCreate = z
  .strictObject({
    name: Name.optional().describe('Defaults to the host of `url`.'),
    url: withUrlGrammar(WebhookUrl),
    events: EventNames,
    filters: Filters.optional(),
    enabled: z.boolean().default(true),
    description: Description.optional(),
    metadata: Metadata.optional(),
    rateLimitPerSecond: RateLimitPerSecond.optional(),
    headers: Headers.optional(),
    secret: WebhookSecret.optional().describe('Your own signing secret; one is generated when omitted.'),
  })
  .meta({ id: 'WebhookCreate' });
export type WebhookCreate = z.output<typeof WebhookCreate>;

const cannotRemove = (field: string) => ({ error: `${field} is required and cannot be removed` });
/** `""` removes an optional property, `null` unsets it; both mean "remove". */
const removable = <T extends z.ZodType>(schema: T) => z.union([schema, z.literal(''), z.null()]);

/** Body of PATCH and PUT /v1/webhooks/{id}: only the fields given change. */
export const WebhookPatch = z
  .strictObject({
    name: name('name is required and cannot be removed', cannotRemove('name')),
    // The document states the URL's rules (the pipe alone would show only its first step's).
    url: z
      .string(cannotRemove('url'))
      .min(1, 'url is required and cannot be removed')
      .pipe(withUrlGrammar(WebhookUrl))
      .meta(jsonSchemaOf(withUrlGrammar(WebhookUrl))),
    events: z.array(EventName, cannotRemove('events')).min(1, 'events is required and cannot be removed').max(50),
    filters: removable(Filters),
    enabled: z.boolean(cannotRemove('enabled')),
    description: removable(Description),
    metadata: removable(Metadata),
    rateLimitPerSecond: removable(RateLimitPerSecond),
    headers: removable(Headers).describe('Replaces all the webhook\'s headers; "" or null removes them all.'),
  })
  .partial()
  .meta({ id: 'WebhookPatch' });
export type WebhookPatch = z.output<typeof WebhookPatch>;

/** How the endpoint behind a webhook is doing, as the delivery worker sees it. */
export const EndpointHealth = z
  .object({
    state: z
      .enum(['healthy', 'failing', 'circuit_open', 'disabled'])
      .describe(
        'healthy: its last attempt succeeded (or none failed yet). failing: its latest attempts failed. circuit_open: ' +
          'so many failed in a row that deliveries are held (none lost, none counted as failed) and one attempt is let ' +
          'through at nextProbeAt; a success resumes them. disabled: see disabledReason.',
      ),
    failingSince: z.iso.datetime().optional().describe('When the current run of failed attempts began'),
    consecutiveFailures: z.number().int().positive().optional(),
    circuitOpenedAt: z.iso.datetime().optional(),
    nextProbeAt: z.iso.datetime().optional().describe('While the circuit is open: when the next attempt is let through'),
    slowLaneUntil: z.iso
      .datetime()
      .optional()
      .describe(
        'The endpoint left a delivery unanswered past the shared lane\'s deadline, so until this time its deliveries ' +
          'go through the slow lane, which has concurrency of its own and waits for the full request timeout. Each slow ' +
          'answer there extends it; an answer within the deadline there ends it. Other endpoints are never held up by ' +
          'this one.',
      ),
  })
  .meta({ id: 'EndpointHealth' });
export type EndpointHealth = z.output<typeof EndpointHealth>;

/** A webhook as the API returns it. The secret is only returned by create and GET .../secret. */
export const Webhook = z
  .object({
    id: WebhookId,
    name: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    filters: z.record(z.string(), z.array(z.string())).optional(),
    enabled: z.boolean(),
    disabledReason: z.string().optional().describe('Why the platform disabled the webhook; cleared when you re-enable it'),
    disabledAt: z.iso.datetime().optional(),
    health: EndpointHealth,
    rateLimitPerSecond: z.number().int().optional(),
    description: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    headerNames: z
      .array(z.string())
      .optional()
      .describe('Names of the headers sent with every delivery (`headers`); their values are never returned.'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof Webhook>;

export const WebhookWithSecret = Webhook.extend({ secret: WebhookSecret }).meta({ id: 'WebhookWithSecret' });

export const WebhookSecretResponse = z.object({ secret: WebhookSecret }).meta({ id: 'WebhookSecretResponse' });

/** Body of POST /v1/webhooks/{id}/secret/rotate (optional). */
export const SecretRotation = z
  .strictObject({ secret: WebhookSecret.optional().describe('Your own new secret; one is generated when omitted.') })
  .optional()
  .meta({ id: 'SecretRotation' });

export const SecretRotated = z
  .object({
    secret: WebhookSecret,
    previousSecretExpiresAt: z.iso
      .datetime()
      .describe('Until then deliveries carry signatures with both secrets, so receivers can switch without a gap.'),
  })
  .meta({ id: 'SecretRotated' });

const FieldChange = z.object({ from: z.unknown(), to: z.unknown() });
export const WebhookUpdateResponse = z
  .object({
    webhook: Webhook,
    changes: z.record(z.string(), FieldChange).describe('Every property that changed, with its old and new value.'),
  })
  .meta({ id: 'WebhookUpdateResponse' });

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE };

export const WebhookListQuery = z.object({
  limit: PageLimit,
  cursor: PageCursor.optional(),
});
export type WebhookListQuery = z.output<typeof WebhookListQuery>;

export const WebhookList = z
  .object({
    data: z.array(Webhook).describe('Newest first (ids are time-ordered).'),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
  })
  .meta({ id: 'WebhookList' });

/**
 * `?region=`, which every route accepts. The committed document states what region names look like; the one a
 * deployment serves (GET /v1/openapi.json) names its own region as the only value (see openapi-deployment.ts).
 */
export const RegionQuery = z.object({
  region: z
    .string()
    .regex(AWS_REGION_PATTERN)
    .optional()
    .describe('When given, must equal the region of this deployment (answered 400 `invalid_region` otherwise).'),
});

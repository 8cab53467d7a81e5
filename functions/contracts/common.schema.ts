import * as z from 'zod';

/**
 * Building blocks whose OpenAPI rendering states every constraint their validation enforces: zod-to-openapi renders
 * neither a record's key schema nor a refinement, and zod counts string lengths in UTF-16 units where JSON Schema
 * (so every generated client and contract test) counts characters (code points).
 */

/** The length JSON Schema's minLength/maxLength measure: code points, not UTF-16 units. */
export const characterCount = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

/** A string of `min` to `max` characters, counted as JSON Schema counts them. */
export const text = (limits: { readonly min?: number; readonly max: number }, params?: Parameters<typeof z.string>[0]) => {
  const { min = 0, max } = limits;
  return z
    .string(params)
    .refine((value) => characterCount(value) >= min, { message: `must be at least ${min} character${min === 1 ? '' : 's'}`, abort: true })
    .refine((value) => characterCount(value) <= max, `must be at most ${max} characters`)
    .meta({ ...(min > 0 && { minLength: min }), maxLength: max });
};

/**
 * What String.prototype.trim() removes (ECMAScript WhiteSpace and LineTerminator), spelled out: `\s` differs between
 * the regex dialects that read the document (Python's and Rust's count U+001C-U+001F and U+0085, and not U+FEFF).
 */
const TRIMMED = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** A string with at least one character that trim() keeps. */
export const NOT_BLANK = new RegExp(`[^${TRIMMED}]`);

/** The JSON Schema (2020-12) of a zod schema, as a fragment to put into the OpenAPI document. */
export const jsonSchemaOf = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _, ...fragment } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return fragment;
};

/** A JSON object with keys of `key`, values of `value`, and at most `maxKeys` keys, each stated in the document. */
export const recordOf = <K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V, maxKeys: number, what: string) =>
  z
    .record(key, value)
    .refine((record) => Object.keys(record).length <= maxKeys, `at most ${maxKeys} ${what}`)
    .meta({ propertyNames: jsonSchemaOf(key as unknown as z.ZodType), maxProperties: maxKeys });

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** `limit` of the list routes: the decimal digits of 1 to 100 (not `1e1`, `0x10` or ` 5`, which Number() reads). */
export const PageLimit = z
  .preprocess(
    (value) => (typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value),
    z
      .number({ error: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
      .int(`must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
      .min(1)
      .max(MAX_PAGE_SIZE),
  )
  .default(DEFAULT_PAGE_SIZE)
  .describe('Page size.');

/**
 * Cursors are opaque: the base64url (unpadded) of the 16 bytes of the ULID of the last item of the page. Every string
 * of this shape is a cursor (any 128 bits are a ULID), so the pattern is the whole rule.
 */
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;
export const PageCursor = z
  .string()
  .regex(CURSOR_PATTERN, 'is not a cursor returned by this API')
  .describe('`nextCursor` of the previous page.');

/**
 * The grammar of webhook URLs, which the API applies before the WHATWG parser (zod's z.url) and the document states
 * as `pattern`: an RFC 3986 http(s) URI whose host is a dotted-quad IPv4 address, a bracketed IPv6 address, or a name
 * of letters, digits, `_` and `-` labels whose last label starts with a letter or `_` (the WHATWG parser reads a
 * numeric last label as IPv4), with a port up to 65535 and percent-encoding only as `%` and two hex digits. Inside
 * it the WHATWG parser fails only on malformed punycode (`xn--` labels). With `userinfo` the grammar also admits
 * `user:password@`, so that the credentials check after it can say why such a URL is refused.
 */
const urlPattern = (scheme: string, userinfo: boolean) => {
  const decOctet = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
  const ipv4 = `${decOctet}(?:\\.${decOctet}){3}`;
  const h16 = '[0-9A-Fa-f]{1,4}';
  const ls32 = `(?:${h16}:${h16}|${ipv4})`;
  const ipv6 = [
    `(?:${h16}:){6}${ls32}`,
    `::(?:${h16}:){5}${ls32}`,
    `(?:${h16})?::(?:${h16}:){4}${ls32}`,
    `(?:(?:${h16}:){0,1}${h16})?::(?:${h16}:){3}${ls32}`,
    `(?:(?:${h16}:){0,2}${h16})?::(?:${h16}:){2}${ls32}`,
    `(?:(?:${h16}:){0,3}${h16})?::${h16}:${ls32}`,
    `(?:(?:${h16}:){0,4}${h16})?::${ls32}`,
    `(?:(?:${h16}:){0,5}${h16})?::${h16}`,
    `(?:(?:${h16}:){0,6}${h16})?::`,
  ].join('|');
  const name = '(?:[A-Za-z0-9_-]+\\.)*[A-Za-z_][A-Za-z0-9_-]*';
  const host = `(?:${ipv4}|\\[(?:${ipv6})\\]|${name})`;
  const port = '(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
  const pchar = "(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})";
  const credentials = userinfo ? "(?:(?:[A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*@)?" : '';
  return `^${scheme}://${credentials}${host}(?::${port})?(?:/${pchar}*)*(?:\\?(?:${pchar}|[/?])*)?(?:#(?:${pchar}|[/?])*)?$`;
};
/** `http` or `https`, in any letter case (the WHATWG parser lower-cases the scheme). */
export const HTTP_OR_HTTPS = '[Hh][Tt][Tt][Pp][Ss]?';
export const HTTPS_ONLY = '[Hh][Tt][Tt][Pp][Ss]';
/** The pattern the document states for webhook URLs; a deployment that refuses http serves it with HTTPS_ONLY. */
export const WEBHOOK_URL_PATTERN = new RegExp(urlPattern(HTTP_OR_HTTPS, false));
const WEBHOOK_URL_GRAMMAR = new RegExp(urlPattern(HTTP_OR_HTTPS, true));

/** `schema` (a z.url() with its own checks) behind the URL grammar, which the document states for both. */
export const withUrlGrammar = <T extends z.ZodType<string, string>>(schema: T) =>
  z
    .string()
    .regex(WEBHOOK_URL_GRAMMAR, 'must be an absolute http(s) URL')
    .pipe(schema)
    .meta({ ...jsonSchemaOf(schema), format: 'uri', pattern: WEBHOOK_URL_PATTERN.source });

/** What AWS region names look like (us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5). */
export const AWS_REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$/;

/** `since`-style times: what zod's `z.iso.datetime()` accepts (UTC, `Z`, seconds required), stated as a pattern. */
export const utcDateTime = () => {
  const schema = z.iso.datetime();
  return schema.meta({ pattern: schema._zod.def.pattern!.source.replaceAll('\\d', '[0-9]') });
};

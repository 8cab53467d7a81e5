/**
 * The SSRF guard: which addresses a webhook may be delivered to. Only global unicast passes; loopback, private,
 * link-local (cloud metadata), CGNAT, unique-local, multicast, reserved and every IPv6 form that embeds a forbidden
 * IPv4 address are refused.
 *
 * Three entry points, one classification:
 * - `isForbiddenAddress(ip)`: the pure classification.
 * - `guardedLookup`: a `lookup` for `net.connect` / `tls.connect` (and so for an `http.Agent`). It resolves the name
 *   once, refuses when ANY address is forbidden, and hands back exactly the addresses it checked, so the socket
 *   connects to a checked address and a DNS rebinding between check and connect is impossible.
 * - `createDestinationPolicy(...)`: the subscribe-time `DestinationPolicy` (scheme + resolution check).
 *
 * `net.connect` does not call `lookup` for an IP-literal host, so callers must check IP-literal URL hosts themselves
 * (`checkUrlHost` does; the HTTP sender uses it before connecting).
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { DestinationPolicy } from '../../domain/delivery/sender.port.js';

/** Error code carried by `DestinationBlockedError`; lets callers classify without `instanceof`. */
export const DESTINATION_BLOCKED = 'EDESTINATIONBLOCKED';

/** A destination the SSRF guard refuses. Raised inside `guardedLookup`, so it surfaces as the socket's error. */
export class DestinationBlockedError extends Error {
  readonly code = DESTINATION_BLOCKED;

  constructor(
    readonly hostname: string,
    /** The forbidden address, when the refusal is about an address. */
    readonly address: string | undefined,
    /** Why, e.g. 'private' or 'loopback'. */
    readonly reason: string,
  ) {
    super(
      address === undefined
        ? `destination ${hostname} blocked: ${reason}`
        : address === hostname
          ? `destination ${hostname} blocked: it is ${describeReason(reason)}`
          : `destination ${hostname} blocked: resolves to ${address}, ${describeReason(reason)}`,
    );
    this.name = 'DestinationBlockedError';
  }
}

export function isDestinationBlockedError(error: unknown): error is DestinationBlockedError {
  return (
    error instanceof DestinationBlockedError ||
    (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DESTINATION_BLOCKED)
  );
}

/** 'private' → 'a private address'; 'unspecified' → 'an unspecified address'. */
export function describeReason(reason: string): string {
  const article = /^(?:[aeio]|unspec|ipv[46])/i.test(reason) ? 'an' : 'a';
  return `${article} ${reason} address`;
}

const IPV4_REASONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  as112: 'AS112 anycast',
  amt: 'AMT anycast',
};

const IPV6_REASONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
  benchmarking: 'benchmarking',
  reserved: 'reserved',
};

/** 2000::/3, the only IPv6 block allocated for global unicast. */
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Classifies an IP address (canonical dotted-quad IPv4 or IPv6 text, optionally with a `%zone`). Returns why the
 * address is forbidden ('loopback', 'private', 'link-local', ...), or undefined for a global unicast address.
 * Anything that is not an IP address is refused ('not an IP address'), so callers fail closed.
 */
export function isForbiddenAddress(ip: string): string | undefined {
  // net.isIP is strict (no '127.1', no '0x7f.0.0.1'); ipaddr.js alone would accept those legacy forms.
  if (net.isIP(ip) === 0) return 'not an IP address';
  const address = ipaddr.parse(ip);
  return address.kind() === 'ipv4' ? classifyIPv4(address as ipaddr.IPv4) : classifyIPv6(address as ipaddr.IPv6);
}

function classifyIPv4(address: ipaddr.IPv4): string | undefined {
  const range: string = address.range();
  if (range === 'unicast') return undefined;
  return IPV4_REASONS[range] ?? range;
}

function classifyIPv6(address: ipaddr.IPv6): string | undefined {
  const range: string = address.range();
  const p = address.parts;
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
      return embedded('IPv4-mapped', ipv4From(p[6], p[7]));
    case 'rfc6145': // ::ffff:0:a.b.c.d (SIIT IPv4-translated)
      return embedded('IPv4-translated', ipv4From(p[6], p[7]));
    case 'rfc6052': // 64:ff9b::/96 well-known NAT64 prefix; 64:ff9b:1::/48 is local-use only
      return p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 && p[1] === 0xff9b
        ? embedded('NAT64', ipv4From(p[6], p[7]))
        : 'local-use NAT64';
    case '6to4': // 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD
      return embedded('6to4', ipv4From(p[1], p[2]));
    case 'teredo': {
      // 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC, the server in clear, the client's IPv4 XOR-ed with 0xffff.
      const server = embedded('Teredo server', ipv4From(p[2], p[3]));
      return server ?? embedded('Teredo client', ipv4From((p[6] ?? 0) ^ 0xffff, (p[7] ?? 0) ^ 0xffff));
    }
    case 'unicast':
      // ipaddr.js calls anything outside its special ranges 'unicast', including IPv4-compatible ::a.b.c.d and
      // unallocated space; only 2000::/3 is global unicast.
      return address.match(IPV6_GLOBAL_UNICAST) ? undefined : 'reserved';
    default:
      return IPV6_REASONS[range] ?? range;
  }
}

function ipv4From(high: number | undefined, low: number | undefined): ipaddr.IPv4 {
  const h = high ?? 0;
  const l = low ?? 0;
  return new ipaddr.IPv4([h >> 8, h & 0xff, l >> 8, l & 0xff]);
}

function embedded(form: string, inner: ipaddr.IPv4): string | undefined {
  const reason = classifyIPv4(inner);
  return reason === undefined ? undefined : `${form} ${reason}`;
}

/** The host of a URL as an address when it is an IP literal (brackets stripped), else undefined. */
export function ipLiteralHost(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return net.isIP(host) === 0 ? undefined : host;
}

/**
 * Checks a URL's host when it is an IP literal: `net.connect` never calls `lookup` for those, so this is the only
 * check they get. Returns the refusal, or undefined for a hostname (left to `guardedLookup`) or a public address.
 */
export function checkUrlHost(url: URL): DestinationBlockedError | undefined {
  const ip = ipLiteralHost(url);
  if (ip === undefined) return undefined;
  const reason = isForbiddenAddress(ip);
  return reason === undefined ? undefined : new DestinationBlockedError(ip, ip, reason);
}

/** The callback form of `dns.lookup` with `{ all: true }` (every family); injectable for tests. */
export type ResolveAll = (
  hostname: string,
  options: { readonly hints?: number },
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const resolveWithDns: ResolveAll = (hostname, { hints }, callback) =>
  dns.lookup(hostname, hints === undefined ? { all: true } : { all: true, hints }, callback);

/** The `lookup` option of `net.connect` / `tls.connect`. */
export type LookupFunction = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void,
) => void;

/**
 * Builds a `lookup` for `net.connect` that refuses forbidden destinations. All addresses of every family are
 * resolved and checked (a name with one public and one private address is refused), then the answer is narrowed to
 * the family Node asked for and returned in the form Node asked for: a list when `options.all` (Node >= 20 asks for
 * that when `autoSelectFamily` is on, the default), else the first address and its family.
 */
export function createGuardedLookup(resolveAll: ResolveAll = resolveWithDns): LookupFunction {
  return (hostname, options, callback) => {
    // Tolerate the two-argument form lookup(hostname, callback) some callers use.
    if (typeof options === 'function') {
      callback = options as unknown as typeof callback;
      options = {};
    }
    const family = typeof options === 'number' ? options : familyNumber(options?.family);
    const wantsAll = typeof options === 'object' && options !== null && options.all === true;

    // Node passes hints (ADDRCONFIG) so a v4-only host is not handed IPv6 answers; every family is still resolved.
    const hints = typeof options === 'object' && options !== null ? options.hints : undefined;
    resolveAll(hostname, hints === undefined ? {} : { hints }, (error, addresses) => {
      if (error) return callback(error, wantsAll ? [] : '');
      if (addresses.length === 0) return callback(notFound(hostname), wantsAll ? [] : '');

      for (const { address } of addresses) {
        const reason = isForbiddenAddress(address);
        if (reason !== undefined) {
          return callback(new DestinationBlockedError(hostname, address, reason), wantsAll ? [] : '');
        }
      }

      const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
      const first = usable[0];
      if (first === undefined) return callback(notFound(hostname), wantsAll ? [] : '');
      if (wantsAll) return callback(null, usable.map(({ address, family: f }) => ({ address, family: f })));
      return callback(null, first.address, first.family);
    });
  };
}

/** The default guard: `dns.lookup(hostname, { all: true })`, then `isForbiddenAddress` on every answer. */
export const guardedLookup: LookupFunction = createGuardedLookup();

function familyNumber(family: number | string | undefined): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

function notFound(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  error.code = 'ENOTFOUND';
  error.syscall = 'getaddrinfo';
  return error;
}

export interface DestinationPolicyOptions {
  /**
   * Allow loopback, private and other non-public destinations (local mode, tests).
   * @default false
   */
  readonly allowPrivateDestinations?: boolean;
  /**
   * Allow plain `http:` URLs (local mode, tests).
   * @default false
   */
  readonly allowHttp?: boolean;
  /** How host names are resolved; defaults to `dns.lookup(hostname, { all: true })`. */
  readonly resolveAll?: ResolveAll;
}

/**
 * The subscribe-time policy: https only (unless `allowHttp`), and, unless `allowPrivateDestinations`, a host that
 * resolves only to global unicast addresses. The reasons it returns are meant for the API caller.
 */
export function createDestinationPolicy(options: DestinationPolicyOptions = {}): DestinationPolicy {
  const { allowPrivateDestinations = false, allowHttp = false, resolveAll = resolveWithDns } = options;
  const resolve = (hostname: string) =>
    new Promise<dns.LookupAddress[]>((resolvePromise, reject) =>
      resolveAll(hostname, {}, (error, addresses) => (error ? reject(error) : resolvePromise(addresses))),
    );

  return {
    async check(rawUrl: string): Promise<string | undefined> {
      let url: URL;
      try {
        url = new URL(rawUrl);
      } catch {
        return 'is not a valid URL';
      }
      if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
        return allowHttp ? 'must use https or http' : 'must use https';
      }
      if (allowPrivateDestinations) return undefined;

      const literal = ipLiteralHost(url);
      if (literal !== undefined) {
        const reason = isForbiddenAddress(literal);
        return reason === undefined ? undefined : `${literal} is ${describeReason(reason)}`;
      }

      let addresses: dns.LookupAddress[];
      try {
        addresses = await resolve(url.hostname);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return `host ${url.hostname} does not resolve${code ? ` (${code})` : ''}`;
      }
      if (addresses.length === 0) return `host ${url.hostname} does not resolve`;
      for (const { address } of addresses) {
        const reason = isForbiddenAddress(address);
        if (reason !== undefined) return `resolves to ${address}, ${describeReason(reason)}`;
      }
      return undefined;
    },
  };
}

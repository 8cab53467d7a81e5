import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import {
  checkUrlHost,
  createDestinationPolicy,
  createGuardedLookup,
  DESTINATION_BLOCKED,
  DestinationBlockedError,
  describeReason,
  guardedLookup,
  isDestinationBlockedError,
  isForbiddenAddress,
  type LookupFunction,
  type ResolveAll,
} from '../../functions/adapters/http/destination-guard.js';

/** A resolver answering from a fixed table, standing in for DNS (none is reachable here). */
function fakeResolver(table: Record<string, LookupAddress[]>): ResolveAll {
  return (hostname, _options, callback) => {
    const answer = table[hostname];
    if (answer) return callback(null, answer);
    const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    error.code = 'ENOTFOUND';
    callback(error, []);
  };
}

type LookupOutcome = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };

function lookup(fn: LookupFunction, hostname: string, options: LookupOptions): Promise<LookupOutcome> {
  return new Promise((resolve) =>
    fn(hostname, options, (error, address, family) => resolve({ error, address, family })),
  );
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

describe('isForbiddenAddress', () => {
  it.each([
    // IPv4
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['203.0.113.9', 'reserved'],
    // IPv6
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local'],
    ['2001:db8::1', 'reserved'],
    ['::7f00:1', 'reserved'], // IPv4-compatible ::127.0.0.1
    ['100::1', 'discard-only'],
    // IPv6 forms embedding a forbidden IPv4 address
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped link-local'],
    ['::ffff:0:10.0.0.1', 'IPv4-translated private'],
    ['64:ff9b::a00:1', 'NAT64 private'],
    ['64:ff9b::127.0.0.1', 'NAT64 loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 link-local'],
    ['64:ff9b:1::808:808', 'local-use NAT64'],
    ['2002:7f00:1::1', '6to4 loopback'],
    ['2002:c0a8:101::1', '6to4 private'],
    ['2001:0:a00:1::1', 'Teredo server private'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo client loopback'], // client 127.0.0.1 XOR ffff:ffff
    // Not addresses at all: refused rather than guessed at
    ['127.1', 'not an IP address'],
    ['0x7f000001', 'not an IP address'],
    ['localhost', 'not an IP address'],
    ['', 'not an IP address'],
  ])('refuses %s (%s)', (ip, reason) => {
    expect(isForbiddenAddress(ip)).toBe(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.32.0.1', // just past 172.16/12
    '100.128.0.1', // just past 100.64/10
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001:81a::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808', // NAT64 of 8.8.8.8
    '2002:808:808::1', // 6to4 of 8.8.8.8
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo, server 65.54.227.120, client 8.8.8.8
  ])('allows the global unicast address %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBeUndefined();
  });
});

describe('checkUrlHost', () => {
  it.each([
    ['http://127.0.0.1:8080/x', 'loopback'],
    ['https://[::1]/x', 'loopback'],
    ['https://[::ffff:a9fe:a9fe]/latest/meta-data', 'IPv4-mapped link-local'],
    ['https://2130706433/', 'loopback'], // the URL parser normalises decimal IPv4 to 127.0.0.1
    ['https://0x7f.1/', 'loopback'],
    ['https://169.254.169.254./', 'link-local'],
  ])('refuses the IP-literal URL %s', (url, reason) => {
    const blocked = checkUrlHost(new URL(url));
    expect(blocked).toBeInstanceOf(DestinationBlockedError);
    expect(blocked?.code).toBe(DESTINATION_BLOCKED);
    expect(blocked?.reason).toBe(reason);
  });

  it.each(['https://8.8.8.8/hook', 'https://[2606:4700:4700::1111]/hook', 'https://localhost/hook'])(
    'leaves %s to the lookup guard or lets it pass',
    (url) => {
      expect(checkUrlHost(new URL(url))).toBeUndefined();
    },
  );
});

describe('guardedLookup', () => {
  it('refuses localhost, which resolves to loopback', async () => {
    const { error } = await lookup(guardedLookup, 'localhost', { all: true });

    expect(error).toBeInstanceOf(DestinationBlockedError);
    expect(error?.code).toBe(DESTINATION_BLOCKED);
    expect(error?.message).toMatch(/localhost blocked: resolves to (127\.0\.0\.1|::1), a loopback address/);
  });

  it('refuses localhost in the single-address form too', async () => {
    const { error, address } = await lookup(guardedLookup, 'localhost', { family: 4 });

    expect(error).toBeInstanceOf(DestinationBlockedError);
    expect(address).toBe('');
  });

  const resolveAll = fakeResolver({
    'public.example': [v4('93.184.216.34'), v6('2606:2800:220:1:248:1893:25c8:1946')],
    'mixed.example': [v4('93.184.216.34'), v4('10.0.0.5')],
    'metadata.example': [v6('2606:4700:4700::1111'), v6('fd00:ec2::254')],
    'v4only.example': [v4('1.1.1.1')],
  });
  const lookupWith = createGuardedLookup(resolveAll);

  it('returns every checked address when Node asks for all (autoSelectFamily)', async () => {
    const { error, address } = await lookup(lookupWith, 'public.example', { all: true, hints: 32 });

    expect(error).toBeNull();
    expect(address).toEqual([v4('93.184.216.34'), v6('2606:2800:220:1:248:1893:25c8:1946')]);
  });

  it('returns the first checked address and its family in the single-address form', async () => {
    const { error, address, family } = await lookup(lookupWith, 'public.example', {});

    expect(error).toBeNull();
    expect(address).toBe('93.184.216.34');
    expect(family).toBe(4);
  });

  it('narrows the answer to the family asked for', async () => {
    const { address, family } = await lookup(lookupWith, 'public.example', { family: 6 });

    expect(address).toBe('2606:2800:220:1:248:1893:25c8:1946');
    expect(family).toBe(6);
  });

  it('answers ENOTFOUND when no address of the family asked for exists', async () => {
    const { error } = await lookup(lookupWith, 'v4only.example', { family: 6, all: true });

    expect(error?.code).toBe('ENOTFOUND');
  });

  it.each([
    ['mixed.example', /resolves to 10\.0\.0\.5, a private address/],
    ['metadata.example', /resolves to fd00:ec2::254, a unique-local address/],
  ])('refuses %s when any one of its addresses is forbidden', async (hostname, message) => {
    const { error, address } = await lookup(lookupWith, hostname, { all: true });

    expect(error).toBeInstanceOf(DestinationBlockedError);
    expect(error?.message).toMatch(message);
    expect(address).toEqual([]);
  });

  it('passes DNS failures through unchanged', async () => {
    const { error } = await lookup(lookupWith, 'nowhere.example', { all: true });

    expect(error).not.toBeInstanceOf(DestinationBlockedError);
    expect(error?.code).toBe('ENOTFOUND');
  });
});

describe('createDestinationPolicy', () => {
  const resolveAll = fakeResolver({
    'hooks.example.com': [v4('93.184.216.34')],
    'internal.example.com': [v4('10.0.0.5')],
    'mixed.example.com': [v4('93.184.216.34'), v4('1.1.1.1'), v4('169.254.169.254')],
    localhost: [v4('127.0.0.1')],
  });

  it('refuses plain http when allowHttp is false', async () => {
    const policy = createDestinationPolicy({ resolveAll });

    expect(await policy.check('http://hooks.example.com/x')).toBe('must use https');
  });

  it.each(['ftp://hooks.example.com/x', 'file:///etc/passwd', 'not a url'])('refuses %s', async (url) => {
    const policy = createDestinationPolicy({ allowHttp: true, allowPrivateDestinations: true });

    expect(await policy.check(url)).toEqual(expect.any(String));
  });

  it('allows plain http when allowHttp is true', async () => {
    const policy = createDestinationPolicy({ allowHttp: true, resolveAll });

    expect(await policy.check('http://hooks.example.com/x')).toBeUndefined();
  });

  it('allows an https URL whose host resolves to public addresses', async () => {
    const policy = createDestinationPolicy({ resolveAll });

    expect(await policy.check('https://hooks.example.com/x')).toBeUndefined();
  });

  it('refuses https://localhost/x with the address it resolves to (real DNS)', async () => {
    const policy = createDestinationPolicy();

    expect(await policy.check('https://localhost/x')).toMatch(
      /^resolves to (127\.0\.0\.1|::1), a loopback address$/,
    );
  });

  it('refuses https://10.1.2.3/x, a private IP literal', async () => {
    const policy = createDestinationPolicy();

    expect(await policy.check('https://10.1.2.3/x')).toBe('10.1.2.3 is a private address');
  });

  it('refuses https://[::1]/x, a loopback IPv6 literal', async () => {
    const policy = createDestinationPolicy();

    expect(await policy.check('https://[::1]/x')).toBe('::1 is a loopback address');
  });

  it('refuses a host name resolving to a private address', async () => {
    const policy = createDestinationPolicy({ resolveAll });

    expect(await policy.check('https://internal.example.com/x')).toBe('resolves to 10.0.0.5, a private address');
  });

  it('refuses a host name any of whose answers is forbidden, not only the first', async () => {
    const policy = createDestinationPolicy({ resolveAll });

    expect(await policy.check('https://mixed.example.com/x')).toBe('resolves to 169.254.169.254, a link-local address');
  });

  it('refuses a host name that does not resolve', async () => {
    const policy = createDestinationPolicy({ resolveAll });

    expect(await policy.check('https://nowhere.example.com/x')).toBe(
      'host nowhere.example.com does not resolve (ENOTFOUND)',
    );
  });

  it.each(['https://localhost/x', 'https://10.1.2.3/x', 'https://[fd00:ec2::254]/x'])(
    'allows %s when private destinations are allowed',
    async (url) => {
      const policy = createDestinationPolicy({ allowPrivateDestinations: true });

      expect(await policy.check(url)).toBeUndefined();
    },
  );
});

describe('the guard’s edges', () => {
  it('recognises a blocked destination by its code too, as errors crossing realms or wrappers arrive', () => {
    expect(isDestinationBlockedError(new DestinationBlockedError('h', '10.0.0.1', 'private'))).toBe(true);
    expect(isDestinationBlockedError({ code: DESTINATION_BLOCKED })).toBe(true);
    expect(isDestinationBlockedError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(isDestinationBlockedError(null)).toBe(false);
    expect(isDestinationBlockedError(DESTINATION_BLOCKED)).toBe(false);
    expect(new DestinationBlockedError('h', undefined, 'x').name).toBe('DestinationBlockedError');
  });

  it.each([
    ['private', 'a private address'],
    ['unspecified', 'an unspecified address'],
    ['IPv4-mapped loopback', 'an IPv4-mapped loopback address'],
    ['link-local', 'a link-local address'],
    ['AS112 anycast', 'an AS112 anycast address'],
  ])('describes %s as %s', (reason, described) => {
    expect(describeReason(reason)).toBe(described);
  });

  it.each([
    ['64:ff9b::7f00:1', 'NAT64 loopback'], // the well-known prefix, embedding 127.0.0.1
    ['64:ff9b::5db8:d822', undefined], // the well-known prefix, embedding a public address
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
  ])('tells the well-known NAT64 prefix from the local-use one: %s', (ip, reason) => {
    expect(isForbiddenAddress(ip)).toBe(reason);
  });

  it('strips the brackets of an IPv6 literal host only', () => {
    expect(checkUrlHost(new URL('https://[::1]/x'))?.reason).toBe('loopback');
    expect(checkUrlHost(new URL('https://[2606:4700:4700::1111]/x'))).toBeUndefined();
    expect(checkUrlHost(new URL('https://hooks.example.com/x'))).toBeUndefined();
  });

  describe('the lookup Node calls', () => {
    /** A resolver that answers from a table and records the options it was asked with. */
    const recordingResolver = (answers: LookupAddress[]) => {
      const asked: { readonly hints?: number }[] = [];
      const resolveAll: ResolveAll = (_hostname, options, callback) => {
        asked.push(options);
        callback(null, answers);
      };
      return { resolveAll, asked };
    };
    const dual = [v4('93.184.216.34'), v6('2606:2800:220:1:248:1893:25c8:1946')];

    it('answers the family asked for as a number or a name, with its family', async () => {
      const { resolveAll } = recordingResolver(dual);
      const lookupFn = createGuardedLookup(resolveAll);

      expect(await lookup(lookupFn, 'h', 6 as unknown as LookupOptions)).toEqual({ error: null, address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 });
      expect(await lookup(lookupFn, 'h', { family: 'IPv6' } as unknown as LookupOptions)).toMatchObject({ address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 });
      expect(await lookup(lookupFn, 'h', { family: 'IPv4' } as unknown as LookupOptions)).toMatchObject({ address: '93.184.216.34', family: 4 });
      expect(await lookup(lookupFn, 'h', { family: 4 })).toMatchObject({ address: '93.184.216.34', family: 4 });
      expect(await lookup(lookupFn, 'h', { family: 6 })).toMatchObject({ address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 });
      expect(await lookup(lookupFn, 'h', {})).toMatchObject({ address: '93.184.216.34', family: 4 });
    });

    it('passes Node’s hints on to the resolver, and asks without any when Node gave none', async () => {
      const { resolveAll, asked } = recordingResolver(dual);
      const lookupFn = createGuardedLookup(resolveAll);

      await lookup(lookupFn, 'h', { hints: dns.ADDRCONFIG });
      await lookup(lookupFn, 'h', {});

      expect(asked).toEqual([{ hints: dns.ADDRCONFIG }, {}]);
    });

    it('answers failures in the form Node asked for: an empty list for `all`, an empty address otherwise', async () => {
      const lookupFn = createGuardedLookup(recordingResolver([]).resolveAll);

      const listed = await lookup(lookupFn, 'gone.example', { all: true });
      const single = await lookup(lookupFn, 'gone.example', {});

      expect(listed.address).toEqual([]);
      expect(single.address).toBe('');
      expect(single.error).toMatchObject({ code: 'ENOTFOUND', syscall: 'getaddrinfo', message: 'getaddrinfo ENOTFOUND gone.example' });
      const failing: ResolveAll = (_hostname, _options, callback) => callback(Object.assign(new Error('boom'), { code: 'EAI_AGAIN' }), []);
      expect(await lookup(createGuardedLookup(failing), 'h', { all: true })).toMatchObject({ error: { code: 'EAI_AGAIN' }, address: [] });
    });

    it('finds nothing when no answer has the family asked for', async () => {
      const lookupFn = createGuardedLookup(recordingResolver([v4('93.184.216.34')]).resolveAll);

      expect(await lookup(lookupFn, 'v4only.example', { family: 6, all: true })).toMatchObject({ error: { code: 'ENOTFOUND' }, address: [] });
    });
  });

  it('says which schemes it accepts when http is allowed', async () => {
    expect(await createDestinationPolicy({ allowHttp: true }).check('ftp://hooks.example.com/x')).toBe('must use https or http');
    expect(await createDestinationPolicy().check('ftp://hooks.example.com/x')).toBe('must use https');
    expect(await createDestinationPolicy().check('not a url')).toBe('is not a valid URL');
  });
});

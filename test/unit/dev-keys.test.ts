import { parseDevTenants } from '../../local/dev-keys.js';

describe('parseDevTenants', () => {
  it('reads tenant:key[:scopes] entries, read+write by default, a tenant possibly twice', () => {
    expect(parseDevTenants('acme:key1, globex:key2:read,acme:key3:write')).toEqual([
      { tenantId: 'acme', key: 'key1', scopes: ['webhooks:read', 'webhooks:write'] },
      { tenantId: 'globex', key: 'key2', scopes: ['webhooks:read'] },
      { tenantId: 'acme', key: 'key3', scopes: ['webhooks:write'] },
    ]);
  });

  it('accepts an unset or empty value', () => {
    expect(parseDevTenants(undefined)).toEqual([]);
    expect(parseDevTenants(' ')).toEqual([]);
  });

  it.each([
    ['a missing key', 'acme'],
    ['an unknown scope', 'acme:key1:admin'],
    ['an invalid tenant id', 'Acme!:key1'],
    ['too many parts', 'acme:key1:read:extra'],
  ])('fails clearly on %s', (_case, value) => {
    expect(() => parseDevTenants(value)).toThrow(/DEV_TENANTS entry 1/);
  });
});

import { DynamoApiKeyRepository, DynamoTenantRepository } from '../../functions/adapters/dynamodb/tenant.repository.js';
import { authenticate, hashApiKey } from '../../functions/domain/api-key.js';
import { ConflictError, NotFoundError } from '../../functions/domain/errors.js';
import { TenantAdminService } from '../../functions/domain/tenant-admin.service.js';
import { startTestTable } from '../support/dynamodb-store.js';

/** Tenants and API keys in DynamoDB: runs on the embedded store, or on DynamoDB Local via TEST_DYNAMODB_ENDPOINT. */
let store: Awaited<ReturnType<typeof startTestTable>>;
let admin: TenantAdminService;
let keys: DynamoApiKeyRepository;

beforeAll(async () => {
  store = await startTestTable();
  keys = new DynamoApiKeyRepository(store.db, store.tableName);
  admin = new TenantAdminService({
    tenants: new DynamoTenantRepository(store.db, store.tableName),
    keys,
    clock: { now: () => new Date('2026-06-01T00:00:00.000Z') },
  });
});
afterAll(() => store.stop());

describe('tenant and key store', () => {
  it('creates a tenant once', async () => {
    await admin.createTenant('acme', 'Acme Corp');
    await expect(admin.createTenant('acme')).rejects.toBeInstanceOf(ConflictError);
  });

  it('stores only the hash of a generated key, which then authenticates as its tenant and scopes', async () => {
    await admin.ensureTenant('hashes');
    const { key, record } = await admin.createKey('hashes', { scopes: ['webhooks:read'] });

    expect(record.keyHash).toBe(hashApiKey(key));
    expect(JSON.stringify(await keys.findByHash(record.keyHash))).not.toContain(key);
    expect(await authenticate(keys, key)).toEqual({ tenantId: 'hashes', keyId: record.keyId, scopes: ['webhooks:read'] });
    expect(await authenticate(keys, `${key}x`)).toBeUndefined();
  });

  it('lists a tenant’s keys and revokes one without touching the others', async () => {
    await admin.ensureTenant('revocation');
    const kept = await admin.createKey('revocation', { scopes: ['webhooks:read'], key: 'kept-key', description: 'dashboard' });
    const revoked = await admin.createKey('revocation', { scopes: ['webhooks:write'], key: 'revoked-key' });

    await admin.revokeKey('revocation', revoked.record.keyId);

    const listed = await admin.listKeys('revocation');
    expect(listed.map((key) => key.keyId).sort()).toEqual([kept.record.keyId, revoked.record.keyId].sort());
    expect(new Set(listed.map((key) => key.keyId)).size).toBe(2);
    for (const { keyId } of listed) expect(keyId).toMatch(/^key_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(listed.find((key) => key.keyId === kept.record.keyId)).toMatchObject({ description: 'dashboard' });
    expect(listed.find((key) => key.keyId === revoked.record.keyId)).not.toHaveProperty('description');
    expect(await authenticate(keys, 'revoked-key')).toBeUndefined();
    expect(await authenticate(keys, 'kept-key')).toMatchObject({ tenantId: 'revocation' });
    // The admin CLI prints these messages as they are.
    await expect(admin.revokeKey('revocation', 'key_unknown')).rejects.toMatchObject({ name: 'NotFoundError', message: 'Tenant revocation has no key key_unknown' });
    await expect(admin.revokeKey('acme', kept.record.keyId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses keys for unknown tenants and a key registered twice', async () => {
    await expect(admin.createKey('nobody', { scopes: ['webhooks:read'] })).rejects.toMatchObject({ name: 'NotFoundError', message: 'No tenant nobody' });
    await admin.ensureTenant('twice');
    await admin.createKey('twice', { scopes: ['webhooks:read'], key: 'same-key' });
    await expect(admin.createKey('twice', { scopes: ['webhooks:read'], key: 'same-key' })).rejects.toBeInstanceOf(ConflictError);
  });
});

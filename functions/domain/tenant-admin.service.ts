import { ulid } from 'ulid';
import { NotFoundError } from './errors.js';
import {
  type ApiKeyRecord,
  type ApiKeyRepository,
  generateApiKey,
  hashApiKey,
  type Scope,
  TenantId,
  type TenantRecord,
  type TenantRepository,
} from './api-key.js';
import type { Clock } from './ports.js';

/** Operator use cases behind the admin CLI and local mode's bootstrap; never exposed over HTTP. */
export class TenantAdminService {
  constructor(
    private readonly deps: {
      readonly tenants: TenantRepository;
      readonly keys: ApiKeyRepository;
      readonly clock: Clock;
    },
  ) {}

  async createTenant(tenantId: string, name = tenantId): Promise<TenantRecord> {
    const tenant = { tenantId: TenantId.parse(tenantId), name, createdAt: this.deps.clock.now().toISOString() };
    await this.deps.tenants.create(tenant);
    return tenant;
  }

  /** Creates the tenant unless it exists (local mode bootstrap). */
  async ensureTenant(tenantId: string): Promise<TenantRecord> {
    return (await this.deps.tenants.get(tenantId)) ?? this.createTenant(tenantId);
  }

  /**
   * Registers an API key for the tenant. A key is generated unless `key` is given; the clear key is returned
   * once and only its hash is stored.
   */
  async createKey(
    tenantId: string,
    options: { scopes: readonly Scope[]; key?: string; description?: string },
  ): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!(await this.deps.tenants.get(tenantId))) throw new NotFoundError(`No tenant ${tenantId}`);
    const key = options.key ?? generateApiKey();
    const record: ApiKeyRecord = {
      keyId: `key_${ulid()}`,
      tenantId,
      keyHash: hashApiKey(key),
      scopes: [...new Set(options.scopes)],
      ...(options.description !== undefined && { description: options.description }),
      createdAt: this.deps.clock.now().toISOString(),
    };
    await this.deps.keys.create(record);
    return { key, record };
  }

  /** Registers `key` unless it is already registered for this tenant (local mode restarts). */
  async ensureKey(tenantId: string, key: string, scopes: readonly Scope[]): Promise<void> {
    const existing = await this.deps.keys.findByHash(hashApiKey(key));
    if (existing?.tenantId === tenantId && existing.revokedAt === undefined) return;
    await this.createKey(tenantId, { key, scopes });
  }

  listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return this.deps.keys.listByTenant(tenantId);
  }

  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    const revoked = await this.deps.keys.revoke(tenantId, keyId, this.deps.clock.now().toISOString());
    if (!revoked) throw new NotFoundError(`Tenant ${tenantId} has no key ${keyId}`);
  }
}

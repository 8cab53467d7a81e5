import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

export const Scope = z.enum(['webhooks:read', 'webhooks:write']);
export type Scope = z.infer<typeof Scope>;

/** Tenant ids appear in storage keys, so they are restricted to a safe alphabet. */
export const TenantId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lowercase letters, digits, _ or -');

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly tenantId: string;
  /** SHA-256 (hex) of the key; the key itself is never stored. */
  readonly keyHash: string;
  readonly scopes: readonly Scope[];
  readonly description?: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export interface TenantRecord {
  readonly tenantId: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface ApiKeyRepository {
  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  /** Stores a key; throws ConflictError when the same key is already registered. */
  create(key: ApiKeyRecord): Promise<void>;
  listByTenant(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; returns false when the tenant has no key with that id. */
  revoke(tenantId: string, keyId: string, at: string): Promise<boolean>;
}

export interface TenantRepository {
  /** Throws ConflictError when the tenant exists. */
  create(tenant: TenantRecord): Promise<void>;
  get(tenantId: string): Promise<TenantRecord | undefined>;
}

/** The authenticated caller. */
export interface Principal {
  readonly tenantId: string;
  readonly keyId: string;
  readonly scopes: readonly Scope[];
}

/** A new API key: 32 random bytes, prefixed so leaked keys are easy to find by secret scanners. */
export const generateApiKey = (): string => `wpk_${randomBytes(32).toString('base64url')}`;

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * Resolves a presented key to its principal, or undefined for unknown and revoked keys. The stored hash is
 * compared with the presented key's hash in constant time.
 */
export const authenticate = async (keys: ApiKeyRepository, presentedKey: string): Promise<Principal | undefined> => {
  const presentedHash = hashApiKey(presentedKey);
  const record = await keys.findByHash(presentedHash);
  if (!record || record.revokedAt !== undefined) return undefined;
  const matches = timingSafeEqual(Buffer.from(record.keyHash, 'hex'), Buffer.from(presentedHash, 'hex'));
  return matches ? { tenantId: record.tenantId, keyId: record.keyId, scopes: record.scopes } : undefined;
};

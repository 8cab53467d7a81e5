import * as z from 'zod';
import { type Scope, TenantId } from '../functions/domain/api-key.js';

export interface DevKey {
  readonly tenantId: string;
  readonly key: string;
  readonly scopes: readonly Scope[];
}

const SCOPES: Record<string, readonly Scope[]> = {
  read: ['webhooks:read'],
  write: ['webhooks:write'],
  'read+write': ['webhooks:read', 'webhooks:write'],
};

/**
 * Parses DEV_TENANTS: comma-separated `tenant:key[:scopes]`, scopes `read`, `write` or `read+write` (default).
 * A tenant may appear again with another key.
 */
export const parseDevTenants = (value: string | undefined): DevKey[] => {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((entry, index) => {
    const [tenantId = '', key = '', scopes = 'read+write', ...rest] = entry.trim().split(':');
    const where = `DEV_TENANTS entry ${index + 1} ("${entry.trim()}")`;
    if (rest.length > 0 || key === '') throw new Error(`${where}: expected tenant:key[:scopes]`);
    const tenant = TenantId.safeParse(tenantId);
    if (!tenant.success) throw new Error(`${where}: tenant ${z.prettifyError(tenant.error)}`);
    const granted = SCOPES[scopes];
    if (!granted) throw new Error(`${where}: scopes must be read, write or read+write`);
    return { tenantId: tenant.data, key, scopes: granted };
  });
};

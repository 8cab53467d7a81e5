import type { CredentialsVault } from './ports.js';
import type { StoredCredentials, WebhookCredentials, WebhookRecord } from './webhook.js';

type WebhookIdentity = Pick<WebhookRecord, 'tenantId' | 'id'>;

/** What sealed credentials are bound to: the tenant and the webhook. */
const contextOf = (webhook: WebhookIdentity) => `webhook-credentials:${webhook.tenantId}/${webhook.id}`;

export const sealCredentials = async (
  vault: CredentialsVault,
  webhook: WebhookIdentity,
  credentials: WebhookCredentials,
): Promise<StoredCredentials> => ({ sealed: await vault.seal(JSON.stringify(credentials), contextOf(webhook)) });

/** The webhook's credentials in plaintext (a record written before encryption already holds them so). */
export const openCredentials = async (
  vault: CredentialsVault,
  webhook: WebhookIdentity & Pick<WebhookRecord, 'credentials'>,
): Promise<WebhookCredentials> =>
  'plaintext' in webhook.credentials
    ? webhook.credentials.plaintext
    : (JSON.parse(await vault.open(webhook.credentials.sealed, contextOf(webhook))) as WebhookCredentials);


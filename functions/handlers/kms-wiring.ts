import { KMSClient } from '@aws-sdk/client-kms';
import { EnvelopeVault } from '../adapters/kms/envelope-vault.js';
import { KmsDataKeys } from '../adapters/kms/kms-data-keys.js';
import type { CredentialsVault } from '../domain/ports.js';
import type { ApiEnvironment } from './config.js';
import { sdkTransport, systemClock } from './wiring.js';

/**
 * The credentials vault of the functions that read or write credentials in plaintext (the write API, the delivery
 * worker); apart from `wiring.ts` so that the others do not load the KMS client. It refuses to start without
 * CREDENTIALS_KEY_ID.
 */
export const createCredentialsVaultFor = (env: ApiEnvironment): CredentialsVault => {
  if (!env.CREDENTIALS_KEY_ID) throw new Error('Invalid function environment: CREDENTIALS_KEY_ID is required');
  const requestHandler = sdkTransport();
  const kms = new KMSClient({
    region: env.AWS_REGION,
    cacheMiddleware: true,
    ...(env.KMS_ENDPOINT && { endpoint: env.KMS_ENDPOINT }),
    ...(requestHandler && { requestHandler }),
  });
  return new EnvelopeVault(new KmsDataKeys(kms, env.CREDENTIALS_KEY_ID), systemClock);
};

import { KMSClient } from '@aws-sdk/client-kms';
import { EnvelopeVault } from '../../functions/adapters/kms/envelope-vault.js';
import { KmsDataKeys } from '../../functions/adapters/kms/kms-data-keys.js';
import { systemClock } from '../../functions/handlers/wiring.js';
import { createEmbeddedKms } from '../../local/embedded-kms.js';
import { InProcessRequestHandler } from '../../local/in-process-transport.js';

const EMBEDDED_KMS_ENDPOINT = 'http://kms.embedded.invalid';

/** The credentials vault as the functions build it, over the KMS client, against local mode's embedded KMS (in process). */
export const createTestVault = () => {
  const kms = createEmbeddedKms({ region: 'us-east-1', account: '000000000000' });
  const client = new KMSClient({
    region: 'us-east-1',
    endpoint: EMBEDDED_KMS_ENDPOINT,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: new InProcessRequestHandler().register(EMBEDDED_KMS_ENDPOINT, kms.service),
  });
  return new EnvelopeVault(new KmsDataKeys(client, kms.keyArn), systemClock);
};

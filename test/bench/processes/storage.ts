import { serveParent } from '../lib/child.js';
import { cpuMs } from '../lib/stats.js';
import { startStorage } from '../lib/storage.js';

/** dynalite and the embedded SQS in their own process, so their CPU is not charged to the process measured. */
const storage = await startStorage();
serveParent({
  endpoints: () => ({
    dynamoDbEndpoint: storage.dynamoDbEndpoint,
    sqsEndpoint: storage.sqsEndpoint,
    kmsEndpoint: storage.kmsEndpoint,
    credentialsKeyId: storage.credentialsKeyId,
    tableName: storage.tableName,
    queueUrls: storage.queueUrls,
  }),
  cpu: () => cpuMs(),
});

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableIfMissing } from '../../../functions/adapters/dynamodb/create-table.js';
import { startEmbeddedDynamoDb } from '../../../local/embedded-dynamodb.js';
import { createEmbeddedKms } from '../../../local/embedded-kms.js';
import { EmbeddedSqs } from '../../../local/embedded-sqs/embedded-sqs.js';

export const BENCH_REGION = 'us-east-1';
export const BENCH_TABLE = 'webhooks-bench';
export const BENCH_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

export interface StorageEndpoints {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly kmsEndpoint: string;
  /** The key sealing webhook credentials, as the stateful stack's. */
  readonly credentialsKeyId: string;
  readonly tableName: string;
  readonly queueUrls: {
    readonly events: string;
    readonly deliveries: string;
    readonly slowLaneDeliveries: string;
    readonly deliveryDeadLetters: string;
    readonly rejectedEvents: string;
  };
}

/**
 * The embedded services of local mode, in memory: dynalite (DynamoDB API) with the platform's table, the embedded
 * SQS with the pipeline's queues and the embedded KMS with its key, configured like `local/platform.ts` configures
 * them.
 */
export const startStorage = async (): Promise<StorageEndpoints & { stop(): Promise<void> }> => {
  const dynamo = await startEmbeddedDynamoDb();
  const sqs = new EmbeddedSqs({ region: BENCH_REGION });
  await sqs.start();
  const kms = createEmbeddedKms({ region: BENCH_REGION, account: '000000000000' });
  const kmsListener = await kms.listen();
  const client = new DynamoDBClient({ region: BENCH_REGION, endpoint: dynamo.endpoint, credentials: BENCH_CREDENTIALS });
  await createTableIfMissing(client, BENCH_TABLE);
  client.destroy();
  sqs.createQueue('deliveries-dlq', { retentionSeconds: 14 * 86_400 });
  sqs.createQueue('events-dlq', { retentionSeconds: 14 * 86_400 });
  const queueUrls = {
    rejectedEvents: sqs.createQueue('rejected-events'),
    deliveryDeadLetters: sqs.queueUrl('deliveries-dlq'),
    events: sqs.createQueue('events', {
      visibilityTimeout: 180,
      redrive: { deadLetterQueueName: 'events-dlq', maxReceiveCount: 5 },
    }),
    deliveries: sqs.createQueue('deliveries', {
      visibilityTimeout: 180,
      redrive: { deadLetterQueueName: 'deliveries-dlq', maxReceiveCount: 10 },
    }),
    slowLaneDeliveries: sqs.createQueue('deliveries-slow-lane', {
      visibilityTimeout: 180,
      redrive: { deadLetterQueueName: 'deliveries-dlq', maxReceiveCount: 10 },
    }),
  };
  return {
    dynamoDbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqs.endpoint,
    kmsEndpoint: kmsListener.endpoint,
    credentialsKeyId: kms.keyArn,
    tableName: BENCH_TABLE,
    queueUrls,
    stop: async () => {
      await sqs.stop();
      await dynamo.stop();
      await kmsListener.stop();
    },
  };
};

/**
 * The environment CDK gives the pipeline functions, pointed at the given services. Only loopback endpoints, and
 * dummy credentials that merely satisfy the SDK's signer.
 */
export const functionEnvironment = (storage: StorageEndpoints): Record<string, string> => ({
  TABLE_NAME: storage.tableName,
  AWS_REGION: BENCH_REGION,
  AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey,
  DYNAMODB_ENDPOINT: storage.dynamoDbEndpoint,
  SQS_ENDPOINT: storage.sqsEndpoint,
  KMS_ENDPOINT: storage.kmsEndpoint,
  CREDENTIALS_KEY_ID: storage.credentialsKeyId,
  DELIVERY_QUEUE_URL: storage.queueUrls.deliveries,
  SLOW_LANE_QUEUE_URL: storage.queueUrls.slowLaneDeliveries,
  DELIVERY_DLQ_URL: storage.queueUrls.deliveryDeadLetters,
  REJECTED_EVENTS_QUEUE_URL: storage.queueUrls.rejectedEvents,
  ALLOW_HTTP_URLS: 'true',
  ALLOW_PRIVATE_DESTINATIONS: 'true',
  POWERTOOLS_METRICS_DISABLED: 'false',
});

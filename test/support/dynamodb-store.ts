import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableIfMissing } from '../../functions/adapters/dynamodb/create-table.js';
import { createDocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import { InProcessRequestHandler } from '../../local/in-process-transport.js';

/**
 * A fresh table on a DynamoDB endpoint for a store test suite: the embedded store (dynalite, in memory) by
 * default, or any DynamoDB-compatible endpoint given in TEST_DYNAMODB_ENDPOINT (DynamoDB Local). `db` reaches the
 * embedded store in process, as local mode's own clients do; `endpoint` is its loopback port.
 */
export const startTestTable = async () => {
  const external = process.env.TEST_DYNAMODB_ENDPOINT;
  const embedded = external ? undefined : await startEmbeddedDynamoDb();
  const endpoint = external ?? embedded!.endpoint;
  const config = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const tableName = `webhooks-test-${randomUUID()}`;
  const client = new DynamoDBClient(config);
  await createTableIfMissing(client, tableName);
  return {
    tableName,
    endpoint,
    db: createDocumentClient({
      ...config,
      ...(embedded && { requestHandler: new InProcessRequestHandler().register(endpoint, embedded.service) }),
    }),
    stop: async () => {
      client.destroy();
      await embedded?.stop();
    },
  };
};

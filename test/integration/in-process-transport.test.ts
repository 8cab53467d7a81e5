import { getEventListeners } from 'node:events';
import { ConditionalCheckFailedException, DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createTableIfMissing } from '../../functions/adapters/dynamodb/create-table.js';
import { createDocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { InProcessRequestHandler } from '../../local/in-process-transport.js';
import { sqsClientFor } from '../support/embedded-sqs-client.js';
import { sleep } from '../support/eventually.js';

/**
 * Local mode's SDK clients reach the embedded store and queue in process (InProcessRequestHandler). What they get
 * back must be what the same request over the loopback port gets: outputs, error classes and statuses.
 */
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const TABLE = 'webhooks';
let dynamo: Awaited<ReturnType<typeof startEmbeddedDynamoDb>>;
let sqs: EmbeddedSqs;

beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb();
  sqs = new EmbeddedSqs({ region: 'us-east-1' });
  await sqs.start();
  await createTableIfMissing(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials }), TABLE);
});
afterAll(async () => {
  await sqs.stop();
  await dynamo.stop();
});

const storeClients = () => {
  const config = { region: 'us-east-1', endpoint: dynamo.endpoint, credentials };
  return {
    overHttp: createDocumentClient(config),
    inProcess: createDocumentClient({ ...config, requestHandler: new InProcessRequestHandler().register(dynamo.endpoint, dynamo.service) }),
  };
};

const failureOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DynamoDBServiceException) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
};

describe('the embedded store in process', () => {
  it('answers reads and writes as over its port: one client writes, the other reads the same items', async () => {
    const { overHttp, inProcess } = storeClients();
    await inProcess.send(new PutCommand({ TableName: TABLE, Item: { pk: 'TENANT#a', sk: 'WEBHOOK#1', url: 'https://a.example/1', n: 1 } }));
    await overHttp.send(new PutCommand({ TableName: TABLE, Item: { pk: 'TENANT#a', sk: 'WEBHOOK#2', url: 'https://a.example/2', n: 2 } }));

    for (const client of [overHttp, inProcess]) {
      const { Item } = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: 'TENANT#a', sk: 'WEBHOOK#2' } }));
      expect(Item).toEqual({ pk: 'TENANT#a', sk: 'WEBHOOK#2', url: 'https://a.example/2', n: 2 });
      const { Items, Count } = await client.send(
        new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'TENANT#a' } }),
      );
      expect([Count, Items?.map((item) => item.n)]).toEqual([2, [1, 2]]);
    }
  });

  it('fails a failed condition with the same error class, status and message as over its port', async () => {
    const { overHttp, inProcess } = storeClients();
    const key = { pk: 'TENANT#b', sk: 'WEBHOOK#1' };
    await inProcess.send(new PutCommand({ TableName: TABLE, Item: { ...key, version: 1 } }));
    const conditionalPut = new PutCommand({
      TableName: TABLE,
      Item: { ...key, version: 2 },
      ConditionExpression: 'attribute_not_exists(pk)',
    });

    const [viaPort, viaProcess] = [await failureOf(overHttp.send(conditionalPut)), await failureOf(inProcess.send(conditionalPut))];

    expect(viaProcess).toBeInstanceOf(ConditionalCheckFailedException);
    expect([viaProcess.name, viaProcess.$metadata.httpStatusCode, viaProcess.message]).toEqual([
      viaPort.name,
      viaPort.$metadata.httpStatusCode,
      viaPort.message,
    ]);
    expect(viaProcess.$metadata.httpStatusCode).toBe(400);
    const { Item } = await inProcess.send(new GetCommand({ TableName: TABLE, Key: key }));
    expect(Item).toEqual({ ...key, version: 1 });
  });

  it('refuses an invalid request with the service’s validation error', async () => {
    const { inProcess } = storeClients();

    const error = await failureOf(inProcess.send(new GetCommand({ TableName: TABLE, Key: { pk: 'TENANT#c' } })));

    expect([error.name, error.$metadata.httpStatusCode]).toEqual(['ValidationException', 400]);
  });
});

describe('the embedded queue in process', () => {
  const queueClient = () => sqsClientFor(sqs, 'in process');

  it('ends an aborted long poll at once with an AbortError, and the poll takes no message sent after', async () => {
    const client = queueClient();
    const queueUrl = sqs.createQueue('aborted-poll');
    const stop = new AbortController();
    const startedAt = Date.now();
    const poll = client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }), { abortSignal: stop.signal });
    await sleep(200);

    stop.abort();

    await expect(poll).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'after the abort' }));
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    expect(Messages.map((message) => message.Body)).toEqual(['after the abort']);
  });

  it('leaves no listener on a signal that many requests share (a poller’s)', async () => {
    const client = queueClient();
    const queueUrl = sqs.createQueue('shared-signal');
    const poller = new AbortController();

    for (let index = 0; index < 20; index += 1) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `m${index}` }), { abortSignal: poller.signal });
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }), { abortSignal: poller.signal });
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages[0]!.ReceiptHandle! }));
    }

    expect(getEventListeners(poller.signal, 'abort')).toHaveLength(0);
  });

  it('reaches nothing but the services registered with it', async () => {
    const stray = new SQSClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      useQueueUrlAsEndpoint: false,
      credentials,
      requestHandler: new InProcessRequestHandler().register(sqs.endpoint, sqs.service),
    });

    await expect(stray.send(new SendMessageCommand({ QueueUrl: 'http://127.0.0.1:9/000000000000/q', MessageBody: 'x' }))).rejects.toThrow(
      'No embedded service is registered for 127.0.0.1:9',
    );
  });
});

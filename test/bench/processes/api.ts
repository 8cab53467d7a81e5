import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { DynamoDeliveryRepository } from '../../../functions/adapters/dynamodb/delivery.repository.js';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/document-client.js';
import { DELIVERY_SK_PREFIX, itemKeys, WEBHOOK_SK_PREFIX } from '../../../functions/adapters/dynamodb/table-design.js';
import { DynamoApiKeyRepository, DynamoTenantRepository } from '../../../functions/adapters/dynamodb/tenant.repository.js';
import { DynamoWebhookRepository } from '../../../functions/adapters/dynamodb/webhook.repository.js';
import { generateApiKey, hashApiKey } from '../../../functions/domain/api-key.js';
import { TenantAdminService } from '../../../functions/domain/tenant-admin.service.js';
import { systemClock } from '../../../functions/handlers/wiring.js';
import { serveParent } from '../lib/child.js';
import { forEachConcurrently, makeEvent } from '../lib/fixtures.js';
import { makeDelivery, makeWebhook } from '../../support/records.js';
import { latencySummary, round } from '../lib/stats.js';
import { BENCH_CREDENTIALS, BENCH_REGION } from '../lib/storage.js';

/**
 * API overhead: each API handler bundle invoked in-process with API Gateway proxy events built as local mode
 * builds them (the authorizer's context already attached), against dynalite in another process, next to the
 * bare store call the operation boils down to, made with a plain DocumentClient.
 */
type ProxyHandler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;
type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEvent) => Promise<{ context?: Record<string, unknown> | null }>;

const TENANT = 'bench-api';
const tableName = process.env.TABLE_NAME!;
const db = createDocumentClient({ region: BENCH_REGION, endpoint: process.env.DYNAMODB_ENDPOINT!, credentials: BENCH_CREDENTIALS });
const apiKey = generateApiKey();
let authorizerContext: Record<string, unknown> = {};
let webhookId = '';
let handlers: { read: ProxyHandler; write: ProxyHandler; catalogue: ProxyHandler; authorizer: AuthorizerHandler; bare: () => Promise<unknown> };
let created = 0;

const proxyEvent = (method: string, path: string, resource: string, query: Record<string, string> | null, body?: unknown): APIGatewayProxyEvent => ({
  resource,
  path,
  httpMethod: method,
  headers: {
    host: '127.0.0.1',
    'x-api-key': apiKey,
    'user-agent': 'bench',
    ...(body !== undefined && { 'content-type': 'application/json' }),
  },
  multiValueHeaders: {},
  queryStringParameters: query,
  multiValueQueryStringParameters: null,
  pathParameters: null,
  stageVariables: null,
  body: body === undefined ? null : JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: {
    accountId: '000000000000',
    apiId: 'bench',
    authorizer: authorizerContext,
    httpMethod: method,
    path,
    protocol: 'HTTP/1.1',
    requestId: randomUUID(),
    requestTimeEpoch: Date.now(),
    resourceId: 'bench',
    resourcePath: resource,
    stage: 'bench',
    identity: { sourceIp: '127.0.0.1' },
  } as APIGatewayProxyEvent['requestContext'],
});

const lambdaContext = () => ({ functionName: 'bench', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30_000 });

const expectStatus = (result: APIGatewayProxyResult, status: number, what: string) => {
  if (result.statusCode !== status) throw new Error(`${what} answered ${result.statusCode}: ${result.body}`);
};

/** Each operation: the handler invocation, and the bare store call it boils down to. */
const operations = () => ({
  authorizer: {
    store: 'GetItem (API key by hash)',
    handler: async () => {
      const result = await handlers.authorizer({
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:us-east-1:000000000000:bench/bench/GET/v1/webhooks',
        resource: '/v1/webhooks',
        path: '/v1/webhooks',
        httpMethod: 'GET',
        headers: { 'x-api-key': apiKey },
        queryStringParameters: null,
      } as unknown as APIGatewayRequestAuthorizerEvent);
      if (!result.context) throw new Error('authorizer gave no context');
    },
    bare: () => db.send(new GetCommand({ TableName: tableName, Key: itemKeys.apiKey(hashApiKey(apiKey)) })),
  },
  getWebhook: {
    store: 'GetItem (strongly consistent)',
    handler: async () =>
      expectStatus(
        await handlers.read(proxyEvent('GET', `/v1/webhooks/${webhookId}`, '/v1/webhooks/{id}', null), lambdaContext()),
        200,
        'getWebhook',
      ),
    bare: () => db.send(new GetCommand({ TableName: tableName, Key: itemKeys.webhook(TENANT, webhookId), ConsistentRead: true })),
  },
  listWebhooks: {
    store: 'Query (21 items, descending)',
    handler: async () =>
      expectStatus(await handlers.read(proxyEvent('GET', '/v1/webhooks', '/v1/webhooks', { limit: '20' }), lambdaContext()), 200, 'listWebhooks'),
    bare: () =>
      db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': itemKeys.webhooksOf(TENANT), ':prefix': WEBHOOK_SK_PREFIX },
          ScanIndexForward: false,
          Limit: 21,
        }),
      ),
  },
  listDeliveries: {
    store: 'Query (21 items, descending)',
    handler: async () =>
      expectStatus(
        await handlers.read(
          proxyEvent('GET', `/v1/webhooks/${webhookId}/deliveries`, '/v1/webhooks/{id}/deliveries', { limit: '20' }),
          lambdaContext(),
        ),
        200,
        'listDeliveries',
      ),
    bare: () =>
      db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': itemKeys.deliveriesOf(TENANT, webhookId), ':prefix': DELIVERY_SK_PREFIX },
          ScanIndexForward: false,
          Limit: 21,
        }),
      ),
  },
  createWebhook: {
    store: 'PutItem (conditional)',
    handler: async () => {
      created += 1;
      expectStatus(
        await handlers.write(
          proxyEvent('POST', '/v1/webhooks', '/v1/webhooks', null, {
            url: `https://127.0.0.1:9/bench/${process.pid}/${created}`,
            events: ['order.created'],
          }),
          lambdaContext(),
        ),
        201,
        'createWebhook',
      );
    },
    bare: () => {
      const webhook = makeWebhook(TENANT, `https://127.0.0.1:9/bare/${process.pid}/${(created += 1)}`);
      return db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...itemKeys.webhook(TENANT, webhook.id), ...webhook },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    },
  },
  listEventTypes: {
    store: 'none (bare handler bundle)',
    handler: async () =>
      expectStatus(await handlers.catalogue(proxyEvent('GET', '/v1/event-types', '/v1/event-types', null), lambdaContext()), 200, 'listEventTypes'),
    bare: () => handlers.bare(),
  },
});

serveParent({
  setup: async (params: { bundles: { read: string; write: string; catalogue: string; authorizer: string; bare: string } }) => {
    const admin = new TenantAdminService({
      tenants: new DynamoTenantRepository(db, tableName),
      keys: new DynamoApiKeyRepository(db, tableName),
      clock: systemClock,
    });
    await admin.ensureTenant(TENANT);
    await admin.ensureKey(TENANT, apiKey, ['webhooks:read', 'webhooks:write']);
    const webhooks = new DynamoWebhookRepository(db, tableName, systemClock);
    const seeded = Array.from({ length: 50 }, (_, index) => makeWebhook(TENANT, `https://127.0.0.1:9/seed/${index}`));
    await forEachConcurrently(seeded, 8, (webhook) => webhooks.create(webhook));
    webhookId = seeded[0]!.id;
    const deliveries = new DynamoDeliveryRepository(db, tableName, systemClock);
    await forEachConcurrently(
      Array.from({ length: 50 }, (_, index) => makeDelivery(seeded[0]!, makeEvent(`evt_api_${index}`)).record),
      8,
      (record) => deliveries.createIfAbsent(record),
    );
    const load = async <T>(file: string) => ((await import(file)) as { handler: T }).handler;
    handlers = {
      read: await load<ProxyHandler>(params.bundles.read),
      write: await load<ProxyHandler>(params.bundles.write),
      catalogue: await load<ProxyHandler>(params.bundles.catalogue),
      authorizer: await load<AuthorizerHandler>(params.bundles.authorizer),
      bare: await load<() => Promise<unknown>>(params.bundles.bare),
    };
    authorizerContext = (await handlers.authorizer({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:000000000000:bench/bench/GET/v1/webhooks',
      headers: { 'x-api-key': apiKey },
    } as unknown as APIGatewayRequestAuthorizerEvent)).context ?? {};
    return null;
  },
  /** Alternates handler and bare call, `iterations` times each after `warmup` unmeasured rounds. */
  run: async ({ iterations, warmup }: { iterations: number; warmup: number }) => {
    const results: Record<string, unknown> = {};
    for (const [name, operation] of Object.entries(operations())) {
      const handlerMs: number[] = [];
      const bareMs: number[] = [];
      for (let index = 0; index < warmup + iterations; index += 1) {
        const order = index % 2 === 0 ? (['handler', 'bare'] as const) : (['bare', 'handler'] as const);
        for (const which of order) {
          const started = performance.now();
          await operation[which]();
          const elapsed = performance.now() - started;
          if (index >= warmup) (which === 'handler' ? handlerMs : bareMs).push(elapsed);
        }
      }
      const handler = latencySummary(handlerMs);
      const bare = latencySummary(bareMs);
      results[name] = {
        storeCall: operation.store,
        handler,
        bare,
        overheadP50Ms: round(handler.p50 - bare.p50, 3),
        ratioP50: bare.p50 > 0.01 ? round(handler.p50 / bare.p50, 2) : null,
      };
    }
    return results;
  },
});

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
  Context,
} from 'aws-lambda';
import { createTableIfMissing } from '../functions/adapters/dynamodb/create-table.js';
import { createDocumentClient } from '../functions/adapters/dynamodb/document-client.js';
import { DynamoApiKeyRepository, DynamoTenantRepository } from '../functions/adapters/dynamodb/tenant.repository.js';
import { matchRoute, type RouteGroup } from '../functions/contracts/api-routes.js';
import { buildEventPattern } from '../functions/contracts/event-routing.js';
import { generateApiKey } from '../functions/domain/api-key.js';
import { TenantAdminService } from '../functions/domain/tenant-admin.service.js';
import { errorResult } from '../functions/handlers/http/error-response.js';
import { httpErrors } from '../functions/handlers/http/http-error.js';
import { systemClock, useSdkRequestHandler } from '../functions/handlers/wiring.js';
import type { DevKey } from './dev-keys.js';
import { startEmbeddedDynamoDb } from './embedded-dynamodb.js';
import { createEmbeddedKms } from './embedded-kms.js';
import { EmbeddedSqs } from './embedded-sqs/embedded-sqs.js';
import { startEventSourceMapping } from './event-source-mapping.js';
import { InProcessRequestHandler } from './in-process-transport.js';
import { createEventBridgeEndpoint, type EventBridgeEndpoint } from './put-events.js';

export const LOCAL_TABLE_NAME = 'webhooks';
export const LOCAL_QUEUES = {
  events: 'events',
  eventsDeadLetters: 'events-dlq',
  rejectedEvents: 'rejected-events',
  deliveries: 'deliveries',
  slowLaneDeliveries: 'deliveries-slow-lane',
  deliveryDeadLetters: 'deliveries-dlq',
} as const;
const LOCAL_ACCOUNT = '000000000000';
/** API Gateway's own payload limit; the handlers apply the API's tighter 64 KB limit. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const FOURTEEN_DAYS_SECONDS = 14 * 24 * 3600;

/** Where a running local platform's store is, for the admin CLI (written to the data folder at start). */
export interface LocalTarget {
  /** The API and EventBridge PutEvents endpoint. */
  readonly url: string;
  readonly region: string;
  readonly tableName: string;
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly deliveryQueueUrl: string;
  readonly deliveryDeadLetterQueueUrl: string;
}

/** Concurrent pollers of each queue: the default stage's maximum concurrency of its event source mapping. */
export const LOCAL_POLLERS = { events: 5, deliveries: 20, slowLaneDeliveries: 5 } as const;

export const localTargetFile = (dataDir: string) => join(dataDir, 'local-target.json');

export interface LocalPlatformOptions {
  readonly port: number;
  /** Where the store and queues persist; in memory when undefined. */
  readonly dataDir?: string;
  readonly region: string;
  readonly allowHttpUrls: boolean;
  /** SSRF guard off: loopback and private destinations are allowed (the local default). */
  readonly allowPrivateDestinations: boolean;
  /** EVENT_SOURCES: sources PutEvents may publish from; any source when undefined. */
  readonly eventSources?: readonly string[];
  /** RETRY_SCHEDULE, as the delivery worker parses it; the default schedule when undefined. */
  readonly retrySchedule?: string;
  /** Keys registered at start (DEV_API_KEY, DEV_TENANTS). */
  readonly devKeys: readonly DevKey[];
  readonly log: (line: string) => void;
}

export interface LocalPlatform {
  readonly url: string;
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly queueUrls: Readonly<Record<keyof typeof LOCAL_QUEUES, string>>;
  /** The key generated for tenant `dev` when no DEV_API_KEY was given. */
  readonly generatedDevKey?: string;
  stop(): Promise<void>;
}

type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEvent) => Promise<{ context?: Record<string, unknown> | null }>;

/**
 * The whole platform in one process: the same Lambda handlers behind an HTTP server that builds API Gateway
 * events and runs the authorizer first, EventBridge's PutEvents at the root URL routing to the events queue,
 * and SQS event source mappings driving the event router and the delivery worker, on an embedded
 * DynamoDB-compatible store and an embedded SQS.
 */
export const startLocalPlatform = async (options: LocalPlatformOptions): Promise<LocalPlatform> => {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const dynamo = await startEmbeddedDynamoDb(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {});
  const sqs = new EmbeddedSqs({ region: options.region, ...(options.dataDir && { dataDir: join(options.dataDir, 'sqs') }) });
  await sqs.start();
  const queueUrls = createQueues(sqs);
  // Webhook credentials are sealed under this key, as under the stateful stack's KMS key on AWS.
  const kms = createEmbeddedKms({
    ...(options.dataDir && { keyFile: join(options.dataDir, 'credentials.key') }),
    region: options.region,
    account: LOCAL_ACCOUNT,
  });
  const kmsListener = await kms.listen();

  // The environment CDK gives the functions on AWS, pointed at the embedded services. The credentials only
  // satisfy the SDK's signer: every endpoint is local, so no request can reach AWS.
  Object.assign(process.env, {
    TABLE_NAME: LOCAL_TABLE_NAME,
    AWS_REGION: options.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    SQS_ENDPOINT: sqs.endpoint,
    KMS_ENDPOINT: kmsListener.endpoint,
    CREDENTIALS_KEY_ID: kms.keyArn,
    DELIVERY_QUEUE_URL: queueUrls.deliveries,
    SLOW_LANE_QUEUE_URL: queueUrls.slowLaneDeliveries,
    DELIVERY_DLQ_URL: queueUrls.deliveryDeadLetters,
    REJECTED_EVENTS_QUEUE_URL: queueUrls.rejectedEvents,
    ALLOW_HTTP_URLS: String(options.allowHttpUrls),
    ALLOW_PRIVATE_DESTINATIONS: String(options.allowPrivateDestinations),
    ...(options.retrySchedule !== undefined && { RETRY_SCHEDULE: options.retrySchedule }),
    POWERTOOLS_DEV: 'true',
  });
  delete process.env.AWS_PROFILE;

  // The platform's own SDK clients (the handlers', the pollers', PutEvents') reach the store and the queues in
  // process; the HTTP endpoints stay for other processes (the admin CLI, a user's scripts).
  const requestHandler = new InProcessRequestHandler()
    .register(dynamo.endpoint, dynamo.service)
    .register(sqs.endpoint, sqs.service)
    .register(kmsListener.endpoint, kms.service);
  useSdkRequestHandler(requestHandler);
  await createTableIfMissing(
    new DynamoDBClient({ region: options.region, endpoint: dynamo.endpoint, requestHandler }),
    LOCAL_TABLE_NAME,
  );
  const generatedDevKey = await registerDevKeys(options, createDocumentClient({ region: options.region, endpoint: dynamo.endpoint, requestHandler }));

  // Imported only now, as Lambda loads them: each parses the environment at cold start.
  const handlers: Record<RouteGroup, ProxyHandler> = {
    webhooksRead: (await import('../functions/handlers/webhooks-read.handler.js')).handler,
    webhooksWrite: (await import('../functions/handlers/webhooks-write.handler.js')).handler,
    catalogue: (await import('../functions/handlers/catalogue.handler.js')).handler,
  };
  const authorizer: AuthorizerHandler = (await import('../functions/handlers/authorizer.handler.js')).handler;
  const routeEvents = (await import('../functions/handlers/event-router.handler.js')).handler;
  const deliver = (await import('../functions/handlers/delivery-worker.handler.js')).handler;

  const sqsClient = new SQSClient({
    region: options.region,
    endpoint: sqs.endpoint,
    useQueueUrlAsEndpoint: false,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler,
    cacheMiddleware: true,
  });
  const mappings = [
    startEventSourceMapping({
      sqs: sqsClient,
      queueUrl: queueUrls.events,
      queueArn: sqs.queueArn(LOCAL_QUEUES.events),
      region: options.region,
      handler: routeEvents,
      batchSize: 10,
      concurrency: LOCAL_POLLERS.events,
      log: options.log,
    }),
    startEventSourceMapping({
      sqs: sqsClient,
      queueUrl: queueUrls.deliveries,
      queueArn: sqs.queueArn(LOCAL_QUEUES.deliveries),
      region: options.region,
      handler: deliver,
      batchSize: 10,
      concurrency: LOCAL_POLLERS.deliveries,
      log: options.log,
    }),
    // The slow lane: endpoints that answer slowly or not at all wait here, on pollers of their own.
    startEventSourceMapping({
      sqs: sqsClient,
      queueUrl: queueUrls.slowLaneDeliveries,
      queueArn: sqs.queueArn(LOCAL_QUEUES.slowLaneDeliveries),
      region: options.region,
      handler: deliver,
      batchSize: 10,
      concurrency: LOCAL_POLLERS.slowLaneDeliveries,
      log: options.log,
    }),
  ];
  const eventBridge = createEventBridgeEndpoint({
    sqs: sqsClient,
    eventsQueueUrl: queueUrls.events,
    pattern: buildEventPattern(options.eventSources),
    region: options.region,
    account: LOCAL_ACCOUNT,
  });
  if (!options.allowPrivateDestinations) options.log('SSRF guard on: deliveries only to public addresses');

  const server = createServer((request, response) => {
    serve(request, response, handlers, authorizer, eventBridge).catch((error: unknown) => {
      options.log(`local server error: ${(error as Error).stack ?? String(error)}`);
      if (!response.headersSent) send(response, errorResult(500, 'internal_error', 'An internal error occurred', []));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (options.dataDir) {
    const target: LocalTarget = {
      url,
      region: options.region,
      tableName: LOCAL_TABLE_NAME,
      dynamoDbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      deliveryQueueUrl: queueUrls.deliveries,
      deliveryDeadLetterQueueUrl: queueUrls.deliveryDeadLetters,
    };
    writeFileSync(localTargetFile(options.dataDir), JSON.stringify(target, null, 2));
  }

  return {
    url,
    dynamoDbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqs.endpoint,
    queueUrls,
    ...(generatedDevKey && { generatedDevKey }),
    stop: async () => {
      await Promise.all(mappings.map((mapping) => mapping.stop()));
      sqsClient.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await sqs.stop();
      await dynamo.stop();
      await kmsListener.stop();
      if (options.dataDir) rmSync(localTargetFile(options.dataDir), { force: true });
    },
  };
};

/** Registers DEV_API_KEY / DEV_TENANTS keys; without DEV_API_KEY, tenant `dev` gets a generated key kept in the data folder. */
const registerDevKeys = async (options: LocalPlatformOptions, db: DynamoDBDocumentClient): Promise<string | undefined> => {
  const admin = new TenantAdminService({
    tenants: new DynamoTenantRepository(db, LOCAL_TABLE_NAME),
    keys: new DynamoApiKeyRepository(db, LOCAL_TABLE_NAME),
    clock: systemClock,
  });
  let generated: string | undefined;
  const keys = [...options.devKeys];
  if (!keys.some((devKey) => devKey.tenantId === 'dev')) {
    generated = loadOrCreateGeneratedKey(options.dataDir);
    keys.push({ tenantId: 'dev', key: generated, scopes: ['webhooks:read', 'webhooks:write'] });
  }
  for (const devKey of keys) {
    await admin.ensureTenant(devKey.tenantId);
    await admin.ensureKey(devKey.tenantId, devKey.key, devKey.scopes);
  }
  return generated;
};

const loadOrCreateGeneratedKey = (dataDir: string | undefined): string => {
  if (!dataDir) return generateApiKey();
  const file = join(dataDir, 'dev-api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = generateApiKey();
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
};

/**
 * The local queues, as the CDK stack configures their AWS counterparts, except for shorter visibility timeouts
 * (60 s and 120 s, against 180 s): a crashed local worker's deliveries come back sooner.
 */
const createQueues = (sqs: EmbeddedSqs): Record<keyof typeof LOCAL_QUEUES, string> => {
  const deadLetterSettings = { retentionSeconds: FOURTEEN_DAYS_SECONDS };
  const eventsDeadLetters = sqs.createQueue(LOCAL_QUEUES.eventsDeadLetters, deadLetterSettings);
  const deliveryDeadLetters = sqs.createQueue(LOCAL_QUEUES.deliveryDeadLetters, deadLetterSettings);
  return {
    eventsDeadLetters,
    deliveryDeadLetters,
    rejectedEvents: sqs.createQueue(LOCAL_QUEUES.rejectedEvents, deadLetterSettings),
    events: sqs.createQueue(LOCAL_QUEUES.events, {
      visibilityTimeout: 60,
      redrive: { deadLetterQueueName: LOCAL_QUEUES.eventsDeadLetters, maxReceiveCount: 5 },
    }),
    deliveries: sqs.createQueue(LOCAL_QUEUES.deliveries, {
      visibilityTimeout: 120,
      redrive: { deadLetterQueueName: LOCAL_QUEUES.deliveryDeadLetters, maxReceiveCount: 10 },
    }),
    slowLaneDeliveries: sqs.createQueue(LOCAL_QUEUES.slowLaneDeliveries, {
      visibilityTimeout: 120,
      redrive: { deadLetterQueueName: LOCAL_QUEUES.deliveryDeadLetters, maxReceiveCount: 10 },
    }),
  };
};

const serve = async (
  request: IncomingMessage,
  response: ServerResponse,
  handlers: Record<RouteGroup, ProxyHandler>,
  authorizer: AuthorizerHandler,
  eventBridge: EventBridgeEndpoint,
): Promise<void> => {
  const body = await readBody(request);
  if (body === undefined) return send(response, errorResult(413, 'payload_too_large', 'Request body too large', []));
  const url = new URL(request.url ?? '/', 'http://local');
  const method = request.method ?? 'GET';
  // A request of AWS's JSON protocol to the root names its operation in X-Amz-Target: it is EventBridge's; the API's
  // routes are all under /v1.
  const target = request.headers['x-amz-target'];
  if (method === 'POST' && url.pathname === '/' && typeof target === 'string') {
    const result = await eventBridge({ target, contentType: request.headers['content-type'], body });
    return send(response, {
      statusCode: result.status,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(result.body),
    });
  }
  const match = matchRoute(method, url.pathname);

  // API Gateway sends unknown routes and wrong methods to the catalogue function, without authorization.
  let group: RouteGroup = 'catalogue';
  let authorizerContext: Record<string, unknown> | null = null;
  if (match.kind === 'route') {
    group = match.route.group;
    if (match.route.scope !== null) {
      try {
        authorizerContext = (await authorizer(authorizerEvent(request, url))).context ?? null;
      } catch {
        const unauthorized = httpErrors.unauthorized();
        return send(response, errorResult(401, unauthorized.code, unauthorized.message, [], unauthorized.headers));
      }
    }
  }
  const event = proxyEvent(request, url, body, match.kind === 'route' ? match.route.path : '/{proxy+}', authorizerContext);
  send(response, await handlers[group](event, lambdaContext(group)));
};

const readBody = async (request: IncomingMessage): Promise<string | undefined> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
};

const singleValued = (request: IncomingMessage): Record<string, string> =>
  Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]),
  );

const queryOf = (url: URL): Record<string, string> | null => {
  const entries = [...url.searchParams.entries()];
  return entries.length > 0 ? Object.fromEntries(entries) : null;
};

const authorizerEvent = (request: IncomingMessage, url: URL): APIGatewayRequestAuthorizerEvent =>
  ({
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:local:000000000000:local/local/${request.method}${url.pathname}`,
    resource: url.pathname,
    path: url.pathname,
    httpMethod: request.method ?? 'GET',
    headers: singleValued(request),
    queryStringParameters: queryOf(url),
  }) as APIGatewayRequestAuthorizerEvent;

const proxyEvent = (
  request: IncomingMessage,
  url: URL,
  body: string,
  resource: string,
  authorizer: Record<string, unknown> | null,
): APIGatewayProxyEvent => {
  const method = request.method ?? 'GET';
  return {
    resource,
    path: url.pathname,
    httpMethod: method,
    headers: singleValued(request),
    multiValueHeaders: {},
    queryStringParameters: queryOf(url),
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer,
      httpMethod: method,
      path: url.pathname,
      protocol: `HTTP/${request.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
      stage: 'local',
      identity: { sourceIp: request.socket.remoteAddress ?? '127.0.0.1' },
    } as APIGatewayProxyEvent['requestContext'],
  };
};

const lambdaContext = (group: RouteGroup): Context =>
  ({
    functionName: `local-${group}`,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => 30_000,
  }) as Context;

const send = (response: ServerResponse, result: APIGatewayProxyResult): void => {
  response.writeHead(result.statusCode, (result.headers ?? {}) as Record<string, string>);
  response.end(result.body);
};

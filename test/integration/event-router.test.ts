import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { DynamoPublishedEventLedger } from '../../functions/adapters/dynamodb/published-event.ledger.js';
import { DynamoWebhookRepository } from '../../functions/adapters/dynamodb/webhook.repository.js';
import { EmfDeliveryMetrics } from '../../functions/adapters/metrics/emf-delivery-metrics.js';
import { SqsDeliveryJobQueue, SqsRejectedEventSink } from '../../functions/adapters/sqs/delivery-queue.js';
import { EventRouter } from '../../functions/domain/delivery/event-router.service.js';
import { routeSqsBatch } from '../../functions/handlers/sqs-batch.js';
import { DeliveryJob } from '../../functions/contracts/delivery.schema.js';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { startTestTable } from '../support/dynamodb-store.js';
import { recordTableActions } from '../support/table-actions.js';
import { EVENT_ROUTER_TABLE_ACTIONS } from '../../lib/constructs/event-router.js';
import { createDocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sqsClientFor } from '../support/embedded-sqs-client.js';
import { makeWebhook } from '../support/records.js';

/**
 * The event router on one queue batch, as its Lambda runs it: real store (dynalite), real SQS protocol (the
 * embedded queue), real SDK clients. Counts the SQS requests with a middleware on the client.
 */
let now = Date.parse('2026-06-01T00:00:00.000Z');
const clock = { now: () => new Date(now) };
let store: Awaited<ReturnType<typeof startTestTable>>;
let sqsServer: EmbeddedSqs;
let sqs: SQSClient;
const sqsCommands: { name: string; entries: number }[] = [];
/** The router's own store client: its table actions are held against what the CDK construct grants the router. */
let routerDb: DynamoDBDocumentClient;
let routerTableActions: Set<string>;

beforeAll(async () => {
  store = await startTestTable();
  routerDb = createDocumentClient({ region: 'us-east-1', endpoint: store.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  routerTableActions = recordTableActions(routerDb);
  sqsServer = new EmbeddedSqs({ region: 'us-east-1' });
  await sqsServer.start();
  sqs = sqsClientFor(sqsServer);
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Entries?: unknown[] };
      sqsCommands.push({ name: context.commandName ?? '', entries: input.Entries?.length ?? 1 });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
});
afterAll(async () => {
  routerDb.destroy();
  sqs.destroy();
  await sqsServer.stop();
  await store.stop();
});

const setup = async (options: { deliveryQueue?: string; failingTenant?: string } = {}) => {
  const tenantId = `tenant${Math.random().toString(36).slice(2, 8)}`;
  const deliveryQueue = options.deliveryQueue ?? sqsServer.createQueue(`deliveries-${tenantId}`);
  const slowLaneQueue = sqsServer.createQueue(`deliveries-slow-lane-${tenantId}`);
  const rejectedQueue = sqsServer.createQueue(`rejected-${tenantId}`);
  const webhooks = new DynamoWebhookRepository(store.db, store.tableName, clock);
  const webhook = makeWebhook(tenantId, 'https://example.com/hook', { now: clock.now() });
  await webhooks.create(webhook);
  const router = new EventRouter({
    webhooks: {
      // A store failing for one tenant only: the edge this test cannot make fail for real.
      findSubscribers: async (tenant, type) => {
        if (tenant === options.failingTenant) throw new Error('ProvisionedThroughputExceededException');
        return new DynamoWebhookRepository(routerDb, store.tableName, clock).findSubscribers(tenant, type);
      },
    },
    jobs: new SqsDeliveryJobQueue(sqs, deliveryQueue, slowLaneQueue),
    rejected: new SqsRejectedEventSink(sqs, rejectedQueue),
    publications: new DynamoPublishedEventLedger(routerDb, store.tableName, clock),
    clock,
    slowLane: true,
    logger: { info: () => undefined, warn: () => undefined },
    metrics: new EmfDeliveryMetrics('event-router'),
  });
  const errors: unknown[] = [];
  const route = (bodies: string[]) => {
    const event = {
      Records: bodies.map((body, index) => ({ messageId: `m${index}`, receiptHandle: `r${index}`, body })),
    } as SQSEvent;
    return routeSqsBatch(event, router, { error: (...extra: unknown[]) => errors.push(extra) });
  };
  const orderCreated = (id: string, tenant = tenantId) =>
    JSON.stringify({
      id: `eb-${id}`,
      source: 'shop.orders',
      'detail-type': 'order.created',
      time: clock.now().toISOString(),
      detail: {
        tenantId: tenant,
        id,
        data: { orderId: id, customerId: 'cus_1', total: { amount: 100, currency: 'EUR' }, lines: [{ sku: 'SKU-1', quantity: 1 }] },
      },
    });
  const queuedJobs = async () => {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deliveryQueue, MaxNumberOfMessages: 10 }));
    return Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!)));
  };
  const queued = async () => (await queuedJobs()).map((job) => job.event.id).sort();
  const slowLaneJobs = async () => {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: slowLaneQueue, MaxNumberOfMessages: 10 }));
    return Messages.map((message) => DeliveryJob.parse(JSON.parse(message.Body!)));
  };
  const rejected = async () => {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: rejectedQueue, MaxNumberOfMessages: 10 }));
    return Messages.map((message) => (JSON.parse(message.Body!) as { event: unknown }).event);
  };
  return { tenantId, webhook, webhooks, route, orderCreated, queued, queuedJobs, slowLaneJobs, rejected, errors };
};

it('queues the delivery jobs of a whole batch of events in one SendMessageBatch', async () => {
  const { route, orderCreated, queued } = await setup();
  const ids = Array.from({ length: 10 }, (_, index) => `evt_${index}`);
  sqsCommands.length = 0;

  expect(await route(ids.map((id) => orderCreated(id)))).toEqual({ batchItemFailures: [] });

  expect(sqsCommands).toEqual([{ name: 'SendMessageBatchCommand', entries: 10 }]);
  expect(await queued()).toEqual([...ids].sort());
});

it('fails only the event whose routing failed; the rest are queued, invalid ones rejected', async () => {
  const failingTenant = 'tenantbroken';
  const { route, orderCreated, queued, rejected, errors } = await setup({ failingTenant });

  const result = await route([orderCreated('evt_ok_1'), orderCreated('evt_broken', failingTenant), 'not json', orderCreated('evt_ok_2')]);

  expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
  expect(errors).toEqual([['record failed; it stays on the queue', { messageId: 'm1', error: expect.any(Error) }]]);
  expect(await queued()).toEqual(['evt_ok_1', 'evt_ok_2']);
  expect(await rejected()).toEqual(['not json']);
});

it('fails every event with jobs when queueing them fails, and none that was rejected', async () => {
  const { route, orderCreated } = await setup({ deliveryQueue: sqsServer.queueUrl('no-such-queue') });

  const result = await route([orderCreated('evt_a'), '{"detail-type":"order.created"}', orderCreated('evt_b')]);

  expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m0', 'm2']);
});

describe('an event id published again', () => {
  it('addresses the deliveries of its first publication, with its time, however much later it comes', async () => {
    const { route, orderCreated, queuedJobs, webhook } = await setup();
    const firstAt = new Date(now).toISOString();
    await route([orderCreated('evt_republished')]);
    const [first] = await queuedJobs();

    for (const later of [2_000, 3_600_000, 29 * 86_400_000]) {
      now += later;
      await route([orderCreated('evt_republished')]);
      expect(await queuedJobs()).toEqual([{ ...first, event: { ...first!.event, timestamp: firstAt } }]);
    }
    expect(first).toMatchObject({ webhookId: webhook.id, event: { id: 'evt_republished', timestamp: firstAt } });
  });

  it('is a new publication once deliveries of the first are past their 30-day retention', async () => {
    const { route, orderCreated, queuedJobs } = await setup();
    await route([orderCreated('evt_old')]);
    const [first] = await queuedJobs();

    now += 31 * 86_400_000;
    await route([orderCreated('evt_old')]);
    const [again] = await queuedJobs();

    expect(again!.deliveryId).not.toBe(first!.deliveryId);
    expect(again!.event.timestamp).toBe(new Date(now).toISOString());
  });

  it('is one publication when two copies are routed at the same time', async () => {
    const { route, orderCreated, queuedJobs } = await setup();
    const [a, b] = await Promise.all([route([orderCreated('evt_racing')]), (async () => {
      now += 1_000;
      return route([orderCreated('evt_racing')]);
    })()]);
    expect([a, b]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);

    const jobs = [...(await queuedJobs()), ...(await queuedJobs())];
    expect(jobs).toHaveLength(2);
    expect(new Set(jobs.map((job) => job.deliveryId)).size).toBe(1);
  });
});

describe('a webhook in the slow lane', () => {
  it('gets its jobs queued on the slow lane at once, a republished id’s too; the others stay on the shared lane', async () => {
    const { tenantId, webhook, webhooks, route, orderCreated, queuedJobs, slowLaneJobs } = await setup();
    const healthy = makeWebhook(tenantId, 'https://example.com/healthy', { now: clock.now() });
    await webhooks.create(healthy);
    await webhooks.holdInSlowLane(tenantId, webhook.id, new Date(now + 60_000).toISOString());

    await route([orderCreated('evt_slow')]);
    now += 2_000;
    await route([orderCreated('evt_slow')]);

    const slow = await slowLaneJobs();
    expect(slow).toHaveLength(2);
    expect(slow.map((job) => [job.webhookId, job.lane, job.deliveryId])).toEqual([
      [webhook.id, 'slow', slow[0]!.deliveryId],
      [webhook.id, 'slow', slow[0]!.deliveryId],
    ]);
    expect((await queuedJobs()).map((job) => [job.webhookId, job.lane])).toEqual([
      [healthy.id, undefined],
      [healthy.id, undefined],
    ]);
  });
});

it('makes only the table actions the CDK construct grants the router', () => {
  expect([...routerTableActions].sort()).toEqual([...EVENT_ROUTER_TABLE_ACTIONS].sort());
});

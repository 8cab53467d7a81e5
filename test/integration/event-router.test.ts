import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
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
import { eventually } from '../support/eventually.js';

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
  const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const router = new EventRouter({
    webhooks: {
      // A store failing for one tenant only: the edge this test cannot make fail for real.
      findSubscribers: async (tenant, type) => {
        if (tenant === options.failingTenant) throw new Error('ProvisionedThroughputExceededException');
        return new DynamoWebhookRepository(routerDb, store.tableName, clock).findSubscribers(tenant, type);
      },
    },
    jobs: new SqsDeliveryJobQueue(sqs, deliveryQueue, slowLaneQueue, clock),
    rejected: new SqsRejectedEventSink(sqs, rejectedQueue),
    publications: new DynamoPublishedEventLedger(routerDb, store.tableName, clock),
    clock,
    slowLane: true,
    random: () => 0.5,
    logger: {
      debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
      info: (message, fields) => logs.push({ level: 'info', message, fields }),
      warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    },
    metrics: new EmfDeliveryMetrics('event-router'),
  });
  const errors: unknown[] = [];
  const route = (bodies: string[]) => {
    const event = {
      Records: bodies.map((body, index) => ({ messageId: `m${index}`, receiptHandle: `r${index}`, body })),
    } as SQSEvent;
    return routeSqsBatch(event, router, { error: (...extra: unknown[]) => errors.push(extra) });
  };
  /** An order.created envelope as EventBridge hands it on; `id` is the producer's id, unless `detail` replaces it. */
  const orderCreatedEvent = (id: string, tenant = tenantId, detail: Record<string, unknown> = {}) => ({
    id: `eb-${id}`,
    source: 'shop.orders',
    'detail-type': 'order.created',
    time: clock.now().toISOString(),
    detail: {
      tenantId: tenant,
      id,
      data: { orderId: id, customerId: 'cus_1', total: { amount: 100, currency: 'EUR' }, lines: [{ sku: 'SKU-1', quantity: 1 }] },
      ...detail,
    },
  });
  const orderCreated = (id: string, tenant = tenantId) => JSON.stringify(orderCreatedEvent(id, tenant));
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
  return { tenantId, webhook, webhooks, router, route, orderCreated, orderCreatedEvent, queued, queuedJobs, slowLaneJobs, slowLaneQueue, rejected, errors, logs };
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

it('fails every event with jobs when queueing them fails, with the queue’s error, and none that was rejected or had no jobs', async () => {
  const { tenantId, router, route, orderCreated, orderCreatedEvent } = await setup({ deliveryQueue: sqsServer.queueUrl('no-such-queue') });

  const result = await route([orderCreated('evt_a'), '{"detail-type":"order.created"}', orderCreated('evt_b')]);
  expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m0', 'm2']);

  const unsubscribed = orderCreatedEvent('evt_unsubscribed', `${tenantId}none`);
  const [failed, routed] = await router.routeBatch([orderCreatedEvent('evt_c'), unsubscribed]);
  expect(failed).toEqual({ kind: 'failed', error: expect.objectContaining({ name: 'QueueDoesNotExist' }) });
  expect(routed).toEqual({ kind: 'routed', eventId: 'evt_unsubscribed', queued: 0 });
});

describe('what the router checks', () => {
  it('rejects an event that fails the envelope, the catalogue, the detail or its type’s schema, naming the field; routes the rest', async () => {
    const { tenantId, router, orderCreatedEvent, rejected, logs } = await setup();
    const valid = orderCreatedEvent('evt_valid');
    const { time: _time, ...withoutTime } = orderCreatedEvent('evt_no_time');
    const invalid = [
      withoutTime,
      { ...orderCreatedEvent('evt_unknown'), 'detail-type': 'order.unknown' },
      { ...orderCreatedEvent('evt_platform'), 'detail-type': 'webhook.disabled' },
      { ...orderCreatedEvent('evt_no_tenant'), detail: { data: {} } },
      orderCreatedEvent('evt_bad_data', tenantId, { data: { orderId: 'ord_1', customerId: 'cus_1', total: { amount: 'ten', currency: 'EUR' }, lines: [] } }),
    ];

    const results = await router.routeBatch([valid, ...invalid]);

    expect(results).toEqual([
      { kind: 'routed', eventId: 'evt_valid', queued: 1 },
      { kind: 'rejected', reasons: [expect.stringMatching(/^event\.time: /)] },
      { kind: 'rejected', reasons: ['detail-type: "order.unknown" is not a publishable event type of the catalogue'] },
      { kind: 'rejected', reasons: ['detail-type: "webhook.disabled" is not a publishable event type of the catalogue'] },
      { kind: 'rejected', reasons: [expect.stringMatching(/^detail\.tenantId: /)] },
      { kind: 'rejected', reasons: expect.arrayContaining([expect.stringMatching(/^detail\.data\.total\.amount: /)]) },
    ]);
    const kept = await rejected();
    expect(kept).toHaveLength(invalid.length);
    expect(kept).toEqual(expect.arrayContaining(invalid));
    expect(logs).toContainEqual({
      level: 'debug',
      message: 'event routed',
      fields: { tenantId, eventId: 'evt_valid', eventType: 'order.created', queued: 1 },
    });
    // At INFO, one line for the batch's routed events.
    expect(logs.filter((line) => line.level === 'info')).toEqual([{ level: 'info', message: 'events routed', fields: { events: 1, queued: 1 } }]);
    const rejections = logs.filter((line) => line.message === 'event rejected');
    expect(rejections).toHaveLength(invalid.length);
    expect(rejections[1]).toEqual({ level: 'warn', message: 'event rejected', fields: { reasons: [expect.stringContaining('order.unknown')] } });
  });

  it('matches the event’s attributes against each webhook’s filters', async () => {
    const { tenantId, webhook, webhooks, router, orderCreatedEvent, queuedJobs } = await setup();
    const europe = { ...makeWebhook(tenantId, 'https://example.com/europe', { now: clock.now() }), filters: { region: ['eu'] } };
    await webhooks.create(europe);

    const results = await router.routeBatch([
      orderCreatedEvent('evt_eu', tenantId, { attributes: { region: 'eu' } }),
      orderCreatedEvent('evt_us', tenantId, { attributes: { region: 'us' } }),
      orderCreatedEvent('evt_none'),
    ]);

    expect(results.map((result) => result.kind === 'routed' && result.queued)).toEqual([2, 1, 1]);
    const jobs = await queuedJobs();
    expect(jobs.filter((job) => job.webhookId === europe.id).map((job) => job.event.id)).toEqual(['evt_eu']);
    expect(jobs.filter((job) => job.webhookId === webhook.id)).toHaveLength(3);
  });
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

  it('is not recorded without a producer’s id (EventBridge’s is new each time) or without subscribers', async () => {
    const { tenantId, webhooks, router, orderCreatedEvent, queuedJobs, logs } = await setup();
    const { id: _producerId, ...anonymous } = orderCreatedEvent('evt_anonymous').detail;
    const envelope = () => ({ ...orderCreatedEvent('evt_anonymous'), id: 'eb-same', detail: anonymous });
    await router.routeBatch([envelope()]);
    now += 2_000;
    await router.routeBatch([envelope()]);
    const [first, second] = await queuedJobs();
    expect([first?.event.id, second?.event.id]).toEqual(['eb-same', 'eb-same']);
    expect(second!.event.timestamp).not.toBe(first!.event.timestamp);

    const unsubscribed = `${tenantId}later`;
    logs.length = 0;
    await router.routeBatch([orderCreatedEvent('evt_early', unsubscribed), orderCreatedEvent('evt_subscribed')]);
    // The batch's line counts the event no webhook subscribes to.
    expect(logs.filter((line) => line.level === 'info')).toEqual([
      { level: 'info', message: 'events routed', fields: { events: 2, queued: 1, unmatched: 1 } },
    ]);
    expect((await queuedJobs()).map((queued) => queued.event.id)).toEqual(['evt_subscribed']);
    now += 2_000;
    await webhooks.create(makeWebhook(unsubscribed, 'https://example.com/later', { now: clock.now() }));
    await router.routeBatch([orderCreatedEvent('evt_early', unsubscribed)]);
    const [job] = await queuedJobs();
    expect(job!.event.timestamp).toBe(clock.now().toISOString()); // its own time: the first publication went unrecorded
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

describe('a webhook whose circuit is open', () => {
  it('gets its jobs queued on the slow lane held until the probe time, spread over the cool-off; once the probe is due, at once', async () => {
    const { tenantId, webhook, webhooks, router, orderCreatedEvent, slowLaneJobs, slowLaneQueue, logs } = await setup();
    const due = makeWebhook(tenantId, 'https://example.com/due', { now: clock.now() });
    await webhooks.create(due);
    const probeAt = now + 1_000;
    await webhooks.openCircuit(tenantId, webhook.id, { openedAt: clock.now().toISOString(), probeAt: new Date(probeAt).toISOString(), coolOffSeconds: 2 });
    await webhooks.openCircuit(tenantId, due.id, { openedAt: clock.now().toISOString(), probeAt: clock.now().toISOString(), coolOffSeconds: 2 });

    expect(await router.routeBatch([orderCreatedEvent('evt_held')])).toEqual([{ kind: 'routed', eventId: 'evt_held', queued: 2 }]);

    // The probe is due for `due`: its job is there at once, not held.
    const [atOnce] = await slowLaneJobs();
    expect(atOnce).toMatchObject({ webhookId: due.id, lane: 'slow' });
    expect(atOnce!.notBefore).toBeUndefined();
    // The other is delayed: until the probe time plus half the cool-off (this router's spread), 2 s from now.
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: slowLaneQueue, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }),
    );
    expect(Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
    const [held] = await eventually(async () => {
      const jobs = await slowLaneJobs();
      return jobs.length > 0 ? jobs : undefined;
    }, 20_000);
    expect(held).toMatchObject({ webhookId: webhook.id, lane: 'slow', notBefore: probeAt + 1_000 });
    expect(logs).toContainEqual(expect.objectContaining({ message: 'event routed', fields: expect.objectContaining({ eventId: 'evt_held', queued: 2, held: 1 }) }));
    expect(logs).toContainEqual({ level: 'info', message: 'events routed', fields: { events: 1, queued: 2, held: 1 } });
  });
});

it('makes only the table actions the CDK construct grants the router', () => {
  expect([...routerTableActions].sort()).toEqual([...EVENT_ROUTER_TABLE_ACTIONS].sort());
});

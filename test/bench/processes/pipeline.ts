import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/document-client.js';
import { DynamoWebhookRepository } from '../../../functions/adapters/dynamodb/webhook.repository.js';
import { systemClock } from '../../../functions/handlers/wiring.js';
import { serveParent } from '../lib/child.js';
import { type Counts, RequestCounter, total } from '../lib/counting.js';
import { countLogOutput, EVENT_TYPE, exampleData, forEachConcurrently, sqsRecord } from '../lib/fixtures.js';
import { makeWebhook } from '../../support/records.js';
import { assembleRouter, assembleWorker, drainQueue, type QueueUrls } from '../lib/pipeline.js';
import { startEventSourceMapping } from '../../../local/event-source-mapping.js';
import { parseStageConfig } from '../../../lib/config/stage-config.js';
import { epochMs } from '../lib/stats.js';
import { latencySummary, median, round } from '../lib/stats.js';
import { BENCH_CREDENTIALS, BENCH_REGION } from '../lib/storage.js';

/**
 * The pipeline assembled from the real adapters and handlers' wiring, on SDK clients whose requests a middleware
 * counts: AWS requests per delivery (benchmark 4) and fan-out scaling (benchmark 5). The storage (dynalite and
 * the embedded SQS) runs in another process; its endpoints come in the environment.
 */
const logs = countLogOutput();
const tableName = process.env.TABLE_NAME!;
const queueUrls: QueueUrls = {
  events: process.env.EVENTS_QUEUE_URL!,
  deliveries: process.env.DELIVERY_QUEUE_URL!,
  slowLaneDeliveries: process.env.SLOW_LANE_QUEUE_URL!,
  deliveryDeadLetters: process.env.DELIVERY_DLQ_URL!,
  rejectedEvents: process.env.REJECTED_EVENTS_QUEUE_URL!,
};
const counter = new RequestCounter();
const dynamo = (label: string) =>
  counter.attach(
    createDocumentClient({ region: BENCH_REGION, endpoint: process.env.DYNAMODB_ENDPOINT!, credentials: BENCH_CREDENTIALS }),
    'dynamodb',
    label,
  );
const sqs = (label: string) =>
  counter.attach(
    new SQSClient({
      region: BENCH_REGION,
      endpoint: process.env.SQS_ENDPOINT!,
      useQueueUrlAsEndpoint: false,
      credentials: BENCH_CREDENTIALS,
    }),
    'sqs',
    label,
  );
const arnOf = (queueUrl: string) => `arn:aws:sqs:${BENCH_REGION}:000000000000:${queueUrl.split('/').at(-1)}`;

/** The event as EventBridge's SQS target delivers it to the events queue. */
const envelope = (tenantId: string, eventId: string) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': EVENT_TYPE,
  source: 'bench.shop',
  account: '000000000000',
  time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region: BENCH_REGION,
  resources: [],
  detail: { tenantId, id: eventId, data: exampleData() },
});

const seedDb = createDocumentClient({ region: BENCH_REGION, endpoint: process.env.DYNAMODB_ENDPOINT!, credentials: BENCH_CREDENTIALS });
const seedWebhooks = async (tenantId: string, count: number, urlOf: (index: number) => string) => {
  const repository = new DynamoWebhookRepository(seedDb, tableName, systemClock);
  const webhooks = Array.from({ length: count }, (_, index) => makeWebhook(tenantId, urlOf(index)));
  await forEachConcurrently(webhooks, 16, (webhook) => repository.create(webhook));
  return webhooks;
};

const perUnit = (counts: Counts, divisor: number) =>
  Object.fromEntries(Object.entries(counts).map(([key, stats]) => [key, round(stats.calls / divisor, 3)]));

let runs = 0;
/** The event source mappings benchmark 8's variant on this pipeline runs, while it runs. */
let mappings: { stop(): Promise<void> }[] = [];
let laneTarget: SQSClient | undefined;

serveParent({
  /**
   * Benchmark 8 on this pipeline: one webhook per tenant at `urls`, and the router and both worker lanes behind
   * event source mappings with the default stage's concurrency caps (router 5, delivery 20, slow lane 5, batches of
   * 10), polling until `lanesStop`. As on Lambda, each concurrent invocation has a handler of its own (a container:
   * its own worker, whose in-process state sees only its own batch). Returns the webhook ids.
   */
  lanesStart: async ({ urls }: { urls: Record<string, string> }) => {
    const ids: Record<string, string> = {};
    for (const [tenantId, url] of Object.entries(urls)) ids[tenantId] = (await seedWebhooks(tenantId, 1, () => url))[0]!.id;
    const stage = parseStageConfig(undefined);
    const containers = (queueUrl: string, assemble: typeof assembleRouter, concurrency: number) =>
      Array.from({ length: concurrency }, () =>
        startEventSourceMapping({
          sqs: sqs('esm'),
          queueUrl,
          queueArn: arnOf(queueUrl),
          region: BENCH_REGION,
          handler: assemble({ db: dynamo('lanes'), sqs: sqs('lanes'), tableName, queueUrls }),
          batchSize: 10,
          concurrency: 1,
          log: (line) => process.stderr.write(`${line}\n`),
        }),
      );
    mappings = [
      ...containers(queueUrls.events, assembleRouter, stage.router.maxConcurrency),
      ...containers(queueUrls.deliveries, assembleWorker, stage.delivery.maxConcurrency),
      ...containers(queueUrls.slowLaneDeliveries, assembleWorker, stage.delivery.slowLane.maxConcurrency),
    ];
    return ids;
  },
  /** Puts `count` events of the tenant on the events queue as EventBridge's target does; returns their ids and when. */
  lanesPublish: async ({ tenantId, count }: { tenantId: string; count: number }) => {
    const target = (laneTarget ??= sqs('eventbridge-target'));
    const at = epochMs();
    const ids = Array.from({ length: count }, () => `${tenantId}-${randomUUID()}`);
    await Promise.all(
      ids.map((id) => target.send(new SendMessageCommand({ QueueUrl: queueUrls.events, MessageBody: JSON.stringify(envelope(tenantId, id)) }))),
    );
    return ids.map((id) => [id, at]);
  },
  /** The webhook's slowLaneUntil, if any. */
  lanesWebhook: async ({ tenantId, id }: { tenantId: string; id: string }) =>
    (await new DynamoWebhookRepository(seedDb, tableName, systemClock).get(tenantId, id))?.slowLaneUntil ?? null,
  lanesStop: async () => {
    await Promise.all(mappings.map((mapping) => mapping.stop()));
    mappings = [];
    return null;
  },

  /**
   * Benchmark 4: `events` events, each for a tenant with `webhooks` webhooks, through the whole pipeline:
   * EventBridge's SQS target (one SendMessage per event, as EventBridge sends them), the router behind its event
   * source mapping, the worker behind its own, POSTing to the sink. Counts every request per delivery.
   */
  requests: async ({ events, webhooks: webhookCount, sinkUrl }: { events: number; webhooks: number; sinkUrl: string }) => {
    runs += 1;
    const tenantId = `req-${webhookCount}-${process.pid}-${runs}`;
    await seedWebhooks(tenantId, webhookCount, (index) => `${sinkUrl}/hook/requests/${runs}/${index}`);
    const target = sqs('eventbridge-target');
    const esmEvents = sqs('esm-events');
    const esmDeliveries = sqs('esm-deliveries');
    const router = assembleRouter({ db: dynamo('router'), sqs: sqs('router'), tableName, queueUrls });
    const worker = assembleWorker({ db: dynamo('worker'), sqs: sqs('worker'), tableName, queueUrls });

    counter.reset();
    for (let index = 0; index < events; index += 1) {
      await target.send(
        new SendMessageCommand({ QueueUrl: queueUrls.events, MessageBody: JSON.stringify(envelope(tenantId, `evt_req_${runs}_${index}`)) }),
      );
    }
    const logs0 = logs.snapshot();
    const routed = await drainQueue({ sqs: esmEvents, queueUrl: queueUrls.events, queueArn: arnOf(queueUrls.events), handler: router });
    const logs1 = logs.snapshot();
    const delivered = await drainQueue({
      sqs: esmDeliveries,
      queueUrl: queueUrls.deliveries,
      queueArn: arnOf(queueUrls.deliveries),
      handler: worker,
    });
    const logs2 = logs.snapshot();
    const counts = counter.snapshot();
    const deliveries = delivered.records - delivered.failed;
    if (deliveries === 0) throw new Error('no delivery was made');
    // Each drain ends with one empty receive (the queue is empty): idle polling, reported apart, not per delivery.
    const emptyReceives = 2;
    for (const key of ['esm-events sqs.ReceiveMessage', 'esm-deliveries sqs.ReceiveMessage']) {
      counts[key]!.calls -= 1;
      counts[key]!.billedRequests -= 1;
    }
    const sqsAll = total(counts, (key) => key.includes(' sqs.'));
    const dynamoAll = total(counts, (key) => key.includes(' dynamodb.'));
    const routerDb = total(counts, (key) => key.startsWith('router dynamodb.'));
    const workerDb = total(counts, (key) => key.startsWith('worker dynamodb.'));
    return {
      events,
      webhooksPerEvent: webhookCount,
      deliveries,
      failedRecords: routed.failed + delivered.failed,
      routerInvocations: routed.invocations,
      workerInvocations: delivered.invocations,
      emptyReceivesExcluded: emptyReceives,
      perDelivery: {
        sqsRequests: round(sqsAll.calls / deliveries, 3),
        sqsBilledRequests: round(sqsAll.billedRequests / deliveries, 3),
        sqsRequestsDeliverySide: round(
          total(counts, (key) => key.startsWith('esm-deliveries') || key.startsWith('worker sqs')).calls / deliveries,
          3,
        ),
        sqsRequestsEventsSide: round(
          total(counts, (key) => key.startsWith('esm-events') || key.startsWith('eventbridge-target')).calls / deliveries,
          3,
        ),
        sqsRequestsRouterSends: round(total(counts, (key) => key.startsWith('router sqs')).calls / deliveries, 3),
        dynamoDbCalls: round(dynamoAll.calls / deliveries, 3),
        readUnits: round(dynamoAll.readUnits / deliveries, 3),
        writeUnits: round(dynamoAll.writeUnits / deliveries, 3),
        readUnitsWorker: round(workerDb.readUnits / deliveries, 3),
        writeUnitsWorker: round(workerDb.writeUnits / deliveries, 3),
        readUnitsRouter: round(routerDb.readUnits / deliveries, 3),
        writeUnitsRouter: round(routerDb.writeUnits / deliveries, 3),
        eventBridgeEntries: round(events / deliveries, 3),
        lambdaInvocations: round((routed.invocations + delivered.invocations) / deliveries, 3),
        logBytesRouter: round((logs1.bytes - logs0.bytes) / deliveries, 1),
        logBytesWorker: round((logs2.bytes - logs1.bytes) / deliveries, 1),
        logLinesWorker: round((logs2.lines - logs1.lines) / deliveries, 2),
        byRequest: perUnit(counts, deliveries),
      },
      routerInvocationMs: latencySummary(routed.invocationMs),
      workerInvocationMs: latencySummary(delivered.invocationMs),
      counts,
    };
  },

  /**
   * Benchmark 5: the router's work for one event against tenants with 1, 10, 100, 1,000 webhooks, before and
   * after `others` webhooks are added to other tenants (100 per tenant). One event per invocation, counted alone.
   */
  fanout: async ({ sizes, others, eventsPerSize }: { sizes: number[]; others: number; eventsPerSize: number }) => {
    runs += 1;
    const seedStarted = performance.now();
    const setupSqs = new SQSClient({
      region: BENCH_REGION,
      endpoint: process.env.SQS_ENDPOINT!,
      useQueueUrlAsEndpoint: false,
      credentials: BENCH_CREDENTIALS,
    });
    // A queue of its own: these jobs are never consumed (their webhooks point nowhere).
    const { QueueUrl } = await setupSqs.send(new CreateQueueCommand({ QueueName: `fanout-deliveries-${runs}` }));
    const router = assembleRouter({ db: dynamo('router'), sqs: sqs('router'), tableName, queueUrls: { ...queueUrls, deliveries: QueueUrl! } });
    const tenants = new Map<number, string>();
    for (const size of sizes) {
      const tenantId = `fan-${size}-${process.pid}-${runs}`;
      await seedWebhooks(tenantId, size, (index) => `https://127.0.0.1:9/fan/${size}/${index}`);
      tenants.set(size, tenantId);
    }
    const seedTenantsMs = performance.now() - seedStarted;
    let sequence = 0;

    const measure = async () => {
      const rows = [];
      for (const size of sizes) {
        const samples: { ms: number; counts: Counts }[] = [];
        // One unmeasured event warms the path for this tenant.
        for (let index = 0; index <= eventsPerSize; index += 1) {
          const record = sqsRecord(envelope(tenants.get(size)!, `evt_fan_${runs}_${(sequence += 1)}`), arnOf(queueUrls.events));
          counter.reset();
          const started = performance.now();
          const response = await router({ Records: [record] });
          const ms = performance.now() - started;
          if (response.batchItemFailures.length > 0) throw new Error(`fan-out to ${size} webhooks failed`);
          if (index > 0) samples.push({ ms, counts: counter.snapshot() });
        }
        const perEvent = (pick: (counts: Counts) => number) => median(samples.map((sample) => pick(sample.counts)));
        const calls = (command: string) => perEvent((counts) => counts[`router dynamodb.${command}`]?.calls ?? 0);
        const msPerEvent = median(samples.map((sample) => sample.ms));
        rows.push({
          webhooks: size,
          queries: calls('Query'),
          batchGets: calls('BatchGetItem'),
          puts: calls('PutItem'),
          dynamoDbCalls: perEvent((counts) => total(counts, (key) => key.includes(' dynamodb.')).calls),
          readUnits: round(perEvent((counts) => total(counts, (key) => key.includes(' dynamodb.')).readUnits), 1),
          writeUnits: round(perEvent((counts) => total(counts, (key) => key.includes(' dynamodb.')).writeUnits), 1),
          sqsSends: perEvent((counts) => total(counts, (key) => key.includes(' sqs.')).calls),
          msPerEvent: round(msPerEvent, 2),
          msPerWebhook: round(msPerEvent / size, 3),
          samples: samples.length,
        });
      }
      return rows;
    };

    const before = await measure();
    const othersStarted = performance.now();
    const perTenant = Math.min(100, others);
    for (let tenant = 0; tenant * perTenant < others; tenant += 1) {
      await seedWebhooks(`other-${tenant}-${process.pid}-${runs}`, Math.min(perTenant, others - tenant * perTenant), (index) =>
        `https://127.0.0.1:9/other/${tenant}/${index}`,
      );
    }
    const seedOthersMs = performance.now() - othersStarted;
    const after = await measure();
    setupSqs.destroy();
    return { sizes, others, eventsPerSize, before, after, seedTenantsMs: round(seedTenantsMs, 0), seedOthersMs: round(seedOthersMs, 0) };
  },
});

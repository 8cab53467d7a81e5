import { KMSClient } from '@aws-sdk/client-kms';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/document-client.js';
import { itemKeys } from '../../../functions/adapters/dynamodb/table-design.js';
import { DynamoWebhookRepository } from '../../../functions/adapters/dynamodb/webhook.repository.js';
import { createHttpSender } from '../../../functions/adapters/http/http-sender.js';
import { EnvelopeVault } from '../../../functions/adapters/kms/envelope-vault.js';
import { KmsDataKeys } from '../../../functions/adapters/kms/kms-data-keys.js';
import { EmfDeliveryMetrics } from '../../../functions/adapters/metrics/emf-delivery-metrics.js';
import { DeliveryJob } from '../../../functions/contracts/delivery.schema.js';
import { attemptClaimSeconds, DEFAULT_CIRCUIT_BREAKER_POLICY, DeliveryWorker } from '../../../functions/domain/delivery/delivery-worker.service.js';
import type { DeliveryKey, DeliveryRecord, DeliveryRepository } from '../../../functions/domain/delivery/delivery.ports.js';
import { DEFAULT_RETRY_POLICY } from '../../../functions/domain/delivery/retry-policy.js';
import { USER_AGENT } from '../../../functions/domain/delivery/signing.js';
import { sealCredentials } from '../../../functions/domain/credentials.js';
import { generateSecret, type WebhookRecord } from '../../../functions/domain/webhook.js';
import { createLogger } from '../../../functions/handlers/logger.js';
import { processSqsBatch } from '../../../functions/handlers/sqs-batch.js';
import { systemClock } from '../../../functions/handlers/wiring.js';
import { serveParent } from '../lib/child.js';
import { batchesOf, countLogOutput, makeEvent, sqsRecord } from '../lib/fixtures.js';
import { createTestVault } from '../../support/credentials-vault.js';
import { makeDelivery, makeWebhook } from '../../support/records.js';
import { cpuMs, latencySummary, round } from '../lib/stats.js';
import { BENCH_CREDENTIALS, BENCH_REGION, functionEnvironment, startStorage } from '../lib/storage.js';

/**
 * The delivery side of the throughput benchmark: feeds SQS-shaped batches of 10 to a delivery handler, one
 * invocation at a time as one Lambda instance runs them, and reports wall time, this process's CPU time and the
 * log bytes written.
 *
 * - `handler`: the delivery-worker Lambda bundle itself (esbuild output), its environment pointing at dynalite and
 *   the embedded SQS: in this process (BENCH_STORAGE=inprocess) or in another (BENCH_STORAGE=external).
 * - `memory`: the same DeliveryWorker, sender, logger and metrics, assembled from source like the handler, but
 *   with in-memory repositories: the worker's cost without any storage.
 */
const logs = countLogOutput();
if (process.env.BENCH_STORAGE === 'inprocess') Object.assign(process.env, functionEnvironment(await startStorage()));

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;
let handler: Handler;
let webhooks: WebhookRecord[] = [];
let prepared: SQSEvent[] = [];
let runs = 0;

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:deliveries';

const setupHandler = async (bundle: string, sinkUrl: string, webhookCount: number) => {
  const db = createDocumentClient({ region: BENCH_REGION, endpoint: process.env.DYNAMODB_ENDPOINT!, credentials: BENCH_CREDENTIALS });
  const repository = new DynamoWebhookRepository(db, process.env.TABLE_NAME!, systemClock);
  // Sealed as the write API seals them, under the storage's KMS key: each attempt opens them as on AWS.
  const kms = new KMSClient({ region: BENCH_REGION, endpoint: process.env.KMS_ENDPOINT!, credentials: BENCH_CREDENTIALS });
  const vault = new EnvelopeVault(new KmsDataKeys(kms, process.env.CREDENTIALS_KEY_ID!), systemClock);
  webhooks = await Promise.all(
    Array.from({ length: webhookCount }, async (_, index) => {
      const webhook = makeWebhook(`bench-${process.pid}`, `${sinkUrl}/hook/${index}`);
      return { ...webhook, credentials: await sealCredentials(vault, webhook, { secret: generateSecret() }) };
    }),
  );
  for (const webhook of webhooks) await repository.create(webhook);
  handler = ((await import(bundle)) as { handler: Handler }).handler;
};

const setupMemory = (sinkUrl: string, webhookCount: number) => {
  webhooks = Array.from({ length: webhookCount }, (_, index) => makeWebhook(`bench-${process.pid}`, `${sinkUrl}/hook/${index}`));
  const byId = new Map(webhooks.map((webhook) => [webhook.id, webhook]));
  const records = new Map<string, DeliveryRecord>();
  const keyOf = (key: DeliveryKey) => `${key.tenantId}/${key.webhookId}/${key.deliveryId}`;
  const deliveries: DeliveryRepository = {
    createIfAbsent: async (delivery) => {
      const key = keyOf({ tenantId: delivery.tenantId, webhookId: delivery.webhookId, deliveryId: delivery.id });
      const existing = records.get(key);
      if (existing) return { created: false, delivery: existing };
      records.set(key, delivery);
      return { created: true, delivery };
    },
    get: async (key) => records.get(keyOf(key)),
    // One worker per process here, so no other holder of a claim can exist.
    claimAttempt: async (key, event, attempt) => {
      const now = new Date().toISOString();
      const record = records.get(keyOf(key)) ?? {
        id: key.deliveryId,
        tenantId: key.tenantId,
        webhookId: key.webhookId,
        event,
        status: 'pending',
        attempts: [],
        createdAt: now,
        updatedAt: now,
      };
      records.set(keyOf(key), record);
      return record.attempts.length >= attempt ? { kind: 'made' } : { kind: 'claimed', delivery: record };
    },
    list: async () => ({ items: [] }),
    releaseClaim: async () => undefined,
    recordAttempt: async (key, attempt, progress) => {
      const record = records.get(keyOf(key));
      if (!record) throw new Error('no such delivery');
      records.set(keyOf(key), { ...record, ...progress, attempts: [...record.attempts, attempt], updatedAt: new Date().toISOString() });
    },
    updateProgress: async (key, progress) => {
      const record = records.get(keyOf(key));
      if (record) records.set(keyOf(key), { ...record, ...progress });
    },
    markPending: async () => undefined,
  };
  const logger = createLogger('delivery-worker');
  const metrics = new EmfDeliveryMetrics('delivery-worker');
  const worker = new DeliveryWorker({
    webhooks: {
      get: async (_tenantId, id) => byId.get(id),
      disable: async () => false,
      recordFailure: async () => undefined,
      clearFailures: async () => undefined,
      openCircuit: async () => false,
      reopenCircuit: async () => false,
      takeProbe: async () => false,
      advanceSendSlot: async () => undefined,
      restartSendSlots: async () => false,
      holdInSlowLane: async () => false,
      leaveSlowLane: async () => undefined,
      markStalled: async () => false,
    },
    deliveries,
    jobs: { enqueue: async () => undefined },
    vault: createTestVault(),
    deadLetters: { deadLetter: async () => undefined },
    sender: createHttpSender({
      connectTimeoutMs: 5000,
      requestTimeoutMs: 15_000,
      allowPrivateDestinations: true,
      allowHttp: true,
      userAgent: USER_AGENT,
    }),
    clock: systemClock,
    retryPolicy: DEFAULT_RETRY_POLICY,
    attemptClaimSeconds: attemptClaimSeconds(20_000),
    health: { disableAfterSeconds: 5 * 86_400, minFailures: 10 },
    circuitBreaker: DEFAULT_CIRCUIT_BREAKER_POLICY,
    fanOut: { deliver: async () => undefined },
    logger,
    metrics,
  });
  handler = async (event) => {
    try {
      return await processSqsBatch(event, (record) => worker.process(DeliveryJob.parse(JSON.parse(record.body))), { logger });
    } finally {
      metrics.flush();
    }
  };
};

serveParent({
  setup: async (params: { mode: 'handler' | 'memory'; bundle: string; sinkUrl: string; webhooks: number }) => {
    if (params.mode === 'handler') await setupHandler(params.bundle, params.sinkUrl, params.webhooks);
    else setupMemory(params.sinkUrl, params.webhooks);
    return { webhooks: webhooks.length };
  },
  /** Builds the SQS records of `count` first-attempt jobs, in batches of 10 (not timed); the worker records the deliveries. */
  prepare: async ({ count }: { count: number }) => {
    runs += 1;
    const deliveries = Array.from({ length: count }, (_, index) =>
      makeDelivery(webhooks[index % webhooks.length]!, makeEvent(`evt_bench_${process.pid}_${runs}_${index}`)),
    );
    prepared = batchesOf(
      deliveries.map((delivery) => sqsRecord(delivery.job, QUEUE_ARN)),
      10,
    );
    return { batches: prepared.length };
  },
  /**
   * What one DynamoDB call costs the caller: `calls` sequential strongly consistent GetItems of a webhook through
   * the AWS SDK's document client (the repositories' client), CPU and wall time per call.
   */
  sdkCallCost: async ({ calls }: { calls: number }) => {
    const db = createDocumentClient({ region: BENCH_REGION, endpoint: process.env.DYNAMODB_ENDPOINT!, credentials: BENCH_CREDENTIALS });
    const get = () =>
      db.send(
        new GetCommand({ TableName: process.env.TABLE_NAME!, Key: itemKeys.webhook(webhooks[0]!.tenantId, webhooks[0]!.id), ConsistentRead: true }),
      );
    for (let index = 0; index < 50; index += 1) await get();
    const cpuBefore = cpuMs();
    const started = performance.now();
    for (let index = 0; index < calls; index += 1) await get();
    const result = { calls, cpuMsPerCall: round((cpuMs() - cpuBefore) / calls, 3), wallMsPerCall: round((performance.now() - started) / calls, 3) };
    db.destroy();
    return result;
  },
  /** Invokes the handler with every prepared batch, one invocation at a time. */
  run: async () => {
    const batches = prepared;
    prepared = [];
    const batchMs: number[] = [];
    let failures = 0;
    let deliveries = 0;
    const logsBefore = logs.snapshot();
    const cpuBefore = cpuMs();
    const started = performance.now();
    for (const batch of batches) {
      const batchStarted = performance.now();
      const response = await handler(batch);
      batchMs.push(performance.now() - batchStarted);
      failures += response.batchItemFailures.length;
      deliveries += batch.Records.length - response.batchItemFailures.length;
    }
    const wallMs = performance.now() - started;
    const cpu = cpuMs() - cpuBefore;
    const logsAfter = logs.snapshot();
    return {
      deliveries,
      failures,
      wallMs: round(wallMs, 3),
      cpuMs: round(cpu, 3),
      batchMs: latencySummary(batchMs),
      logBytes: logsAfter.bytes - logsBefore.bytes,
      logLines: logsAfter.lines - logsBefore.lines,
    };
  },
});

import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import {
  DEFAULT_SLOW_LANE_POLICY,
  MAX_PARK_SECONDS,
  MAX_QUEUE_DELAY_SECONDS,
} from '../../functions/domain/delivery/delivery-worker.service.js';
import { DEFAULT_RETRY_DELAYS_SECONDS, DEFAULT_RETRY_POLICY } from '../../functions/domain/delivery/retry-policy.js';
import { DELIVERY_RETENTION } from '../constructs/delivery-queue.js';
import { VISIBILITY_TIMEOUT_FACTOR } from '../constructs/webhook-function.js';

/** The retention periods CloudWatch Logs accepts (9999 = never expire). */
const retentionPeriods = Object.values(RetentionDays).filter((value): value is number => typeof value === 'number');

const LogRetentionDays = z
  .number()
  .int()
  .refine((days) => retentionPeriods.includes(days), {
    message: `must be one of the CloudWatch Logs retention periods: ${retentionPeriods.join(', ')}`,
  });

export { VISIBILITY_TIMEOUT_FACTOR };

/** SQS's longest visibility timeout. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;
/** How long a message stays on the delivery queue before SQS drops it (4 days). */
export const DELIVERY_MESSAGE_RETENTION_SECONDS = DELIVERY_RETENTION.toSeconds();
/** Receives a delivery needs for its attempt itself, after any parking: the attempt and two redeliveries. */
export const ATTEMPT_RECEIVES = 3;
/** Seconds the worker needs around one HTTP attempt: the table reads and writes and the re-enqueue. */
export const WORKER_OVERHEAD_SECONDS = 10;

/** The longest a delivery waits for a retry: the schedule's longest delay with the worker's jitter on top. */
export const longestRetryWaitSeconds = (retryScheduleSeconds: readonly number[]): number =>
  Math.max(0, ...retryScheduleSeconds) * (1 + DEFAULT_RETRY_POLICY.jitter);

/**
 * Receives the worker spends parking the longest retry wait: the message is sent with SQS's longest delay
 * (15 min) and a due time, and each receive before the due time hides it for up to MAX_PARK_SECONDS again. With the
 * default schedule (24 h + 20 % jitter) that is 3 receives.
 */
export const parkingReceives = (retryScheduleSeconds: readonly number[]): number =>
  Math.ceil(Math.max(0, longestRetryWaitSeconds(retryScheduleSeconds) - MAX_QUEUE_DELAY_SECONDS) / MAX_PARK_SECONDS);

/**
 * The age past which a message on the delivery queue is stuck: a retry legitimately waits there for up to the
 * schedule's longest delay (with jitter), sent with a delay and then parked by visibility timeouts, and
 * ApproximateAgeOfOldestMessage is the age of the oldest message not deleted, parked ones included; beyond that
 * wait, the allowed lag (`maxOldestMessageAgeSeconds`).
 */
export const deliveryQueueMaxAgeSeconds = (retryScheduleSeconds: readonly number[], maxOldestMessageAgeSeconds: number): number =>
  Math.ceil(longestRetryWaitSeconds(retryScheduleSeconds)) + maxOldestMessageAgeSeconds;

const FunctionTimeoutSeconds = z.number().int().min(1).max(900);
const MemorySize = z.number().int().min(128).max(10_240);
/** Records per invocation; above 10 SQS event sources need a batching window, which delays deliveries. */
const BatchSize = z.number().int().min(1).max(10);
/** Concurrent invocations one SQS event source may drive (the event source's own limits). */
const MaxConcurrency = z.number().int().min(2).max(1000);
const VisibilityTimeoutSeconds = z.number().int().min(0).max(MAX_VISIBILITY_TIMEOUT_SECONDS);

/** An EventBridge `source` producers publish with; `aws.` sources are AWS's own and cannot be put. */
const EventSource = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9._/-]+$/, 'must be letters, digits, ".", "_", "-" or "/", e.g. "com.example.shop"')
  .refine((source) => !source.startsWith('aws.'), { message: 'sources starting with "aws." are reserved for AWS' });

/**
 * The settings of one deployment stage. Everything has a safe default, so an empty object is a valid stage; the
 * values come from CDK context (`cdk.json` or `-c webhooks='{...}'`) and are checked here, at synth, before any
 * construct is built.
 */
export const StageConfig = z
  .object({
    /** Names the stage in stack names (`Webhooks-<name>-...`). */
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{0,15}$/, 'must be 1-16 letters or digits, starting with a letter')
      .default('dev'),
    api: z
      .object({
        /** API Gateway stage name; the route paths already carry the `/v1` version. */
        stageName: z
          .string()
          .regex(/^[A-Za-z0-9_]{1,64}$/, 'must be 1-64 letters, digits or underscores')
          .default('api'),
        /** Steady-state requests per second for the whole stage. */
        throttlingRateLimit: z.number().positive().max(10_000).default(50),
        /** Burst bucket size for the whole stage. */
        throttlingBurstLimit: z.number().int().positive().max(5_000).default(100),
      })
      .prefault({}),
    /** Retention of every function log group and of the API access log group. */
    logRetentionDays: LogRetentionDays.default(RetentionDays.ONE_MONTH),
    /** Accept `http://` webhook URLs. Local emulators only; never on AWS. */
    allowHttpUrls: z.boolean().default(false),
    /** Accept webhook URLs resolving to loopback/private addresses (SSRF guard off). Local emulators only. */
    allowPrivateDestinations: z.boolean().default(false),
    /**
     * Work-arounds for deploying into an AWS emulator (test/aws/deployed/stage.json); leave them unset for AWS. Each
     * one names the emulator gap it covers; the README lists them.
     */
    emulator: z
      .object({
        /**
         * Whether the success-rate alarm may use metric math. `false` is for an emulator whose CloudFormation refuses
         * alarms with `Metrics` (MiniStack 1.5.33: "Properties.Metrics (metric math) is not supported"): the
         * `DeliverySuccessRate-Low` alarm is replaced by `DeliveriesDeadLettered`, a single-metric alarm on any
         * delivery dead-lettered, so that the rest of the monitoring stack deploys there.
         * @default true
         */
        metricMathAlarms: z.boolean().default(true),
        /**
         * Also grant the SQS batch actions by their own names (sqs:SendMessageBatch, DeleteMessageBatch,
         * ChangeMessageVisibilityBatch) wherever their single action is granted. AWS authorizes a batch call by its
         * single action and knows no such IAM actions; an emulator evaluating IAM by the API's name (MiniStack 1.5.33
         * with AUTH=true) refuses the batch calls without them.
         * @default false
         */
        sqsBatchActionGrants: z.boolean().default(false),
        /**
         * Whether the functions' grants on the credentials key hold only for data keys made for webhook credentials
         * (the condition `kms:EncryptionContext:purpose`). `false` is for an emulator whose IAM evaluation resolves no
         * `kms:EncryptionContext:` key (MiniStack 1.5.33 with AUTH=true), where the condition denies every call.
         * @default true
         */
        kmsEncryptionContextConditions: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Endpoint overrides for a local CloudFormation emulator; unset on AWS. */
    endpoints: z
      .object({
        dynamodb: z.url().optional(),
        sqs: z.url().optional(),
        kms: z.url().optional(),
      })
      .prefault({}),
    events: z
      .object({
        /**
         * The EventBridge sources whose events the platform delivers: the rule on the bus matches only these (and
         * the catalogue's event types). This is the setting a deployer changes, to the sources their own services
         * publish with.
         * @default ['com.example.shop']
         */
        allowedSources: z
          .array(EventSource)
          .min(1, 'must list at least one source: a rule without one would take events from any producer')
          .refine((sources) => new Set(sources).size === sources.length, { message: 'must not repeat a source' })
          .default(['com.example.shop']),
        /**
         * How often EventBridge retries putting a matched event on the events queue before it dead-letters it.
         * @default 185 - EventBridge's maximum
         */
        targetRetryAttempts: z.number().int().min(0).max(185).default(185),
        /**
         * How long EventBridge keeps retrying one event before it dead-letters it.
         * @default 86400 - 24 hours, EventBridge's maximum
         */
        targetMaxEventAgeSeconds: z.number().int().min(60).max(86_400).default(86_400),
      })
      .prefault({}),
    eventsQueue: z
      .object({
        /**
         * How long a received event stays hidden from the router's other pollers.
         * @default 180 - 6x the router's default timeout
         */
        visibilityTimeoutSeconds: VisibilityTimeoutSeconds.default(180),
        /**
         * Receives before an event the router keeps failing on moves to the events dead-letter queue.
         * @default 5
         */
        maxReceiveCount: z.number().int().min(5).max(1000).default(5),
      })
      .prefault({}),
    router: z
      .object({
        /** @default 10 */
        batchSize: BatchSize.default(10),
        /** @default 5 */
        maxConcurrency: MaxConcurrency.default(5),
        /** @default 30 */
        timeoutSeconds: FunctionTimeoutSeconds.default(30),
        /** @default 256 */
        memorySize: MemorySize.default(256),
      })
      .prefault({}),
    delivery: z
      .object({
        /**
         * Seconds before each retry, after the immediate first attempt; the worker adds +-20 % jitter.
         * @default DEFAULT_RETRY_DELAYS_SECONDS - 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 20 h, 24 h
         */
        retryScheduleSeconds: z
          .array(z.number().min(0))
          .min(1, 'must have at least one delay')
          .max(50)
          .default([...DEFAULT_RETRY_DELAYS_SECONDS]),
        /** @default 10 */
        batchSize: BatchSize.default(10),
        /** @default 20 */
        maxConcurrency: MaxConcurrency.default(20),
        /**
         * The worker's timeout; the records of a batch are attempted in parallel, so it covers one request.
         * @default 30
         */
        timeoutSeconds: FunctionTimeoutSeconds.default(30),
        /** @default 256 */
        memorySize: MemorySize.default(256),
        /**
         * The whole request to a receiver, connection included.
         * @default 15000
         */
        requestTimeoutMs: z.number().int().min(1000).max(15_000).default(15_000),
        /** @default 5000 */
        connectTimeoutMs: z.number().int().min(100).max(5000).default(5000),
        /**
         * The slow lane (see DeliveryWorker): a request of the shared lane unanswered after `deadlineMs` moves to
         * it, and its endpoint stays there `holdSeconds` after its last slow answer, polled by at most
         * `maxConcurrency` invocations of its own.
         */
        slowLane: z
          .object({
            /** @default 2000 */
            deadlineMs: z.number().int().min(100).max(15_000).default(DEFAULT_SLOW_LANE_POLICY.deadlineMs),
            /** @default 3600 */
            holdSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_SLOW_LANE_POLICY.holdSeconds),
            /** @default 5 */
            maxConcurrency: MaxConcurrency.default(5),
          })
          .prefault({}),
      })
      .prefault({}),
    deliveryQueue: z
      .object({
        /**
         * How long a received delivery stays hidden from the worker's other pollers.
         * @default 180 - 6x the worker's default timeout
         */
        visibilityTimeoutSeconds: VisibilityTimeoutSeconds.default(180),
        /**
         * Receives before a delivery moves to the delivery dead-letter queue. Higher than usual because the worker
         * parks a retry that is not due yet by hiding its message again, and every such receive counts: the default
         * schedule's longest wait takes 3 receives of parking before the attempt's own.
         * @default 10
         */
        maxReceiveCount: z.number().int().min(5).max(1000).default(10),
      })
      .prefault({}),
    monitoring: z
      .object({
        /**
         * Where alarm notifications are e-mailed: an e-mail subscription on the alarm topic, which the address must
         * confirm. Unset, the topic has no subscriber; subscribe a pager or chat integration to it instead.
         * @default - no subscription
         */
        alarmEmail: z.email().optional(),
        /**
         * Alarm when the oldest message on the events queue is older than this. The delivery queue's alarm allows
         * the longest retry wait on top (see `deliveryQueueMaxAgeSeconds`), since retries wait on that queue.
         * @default 900 - 15 minutes
         */
        maxOldestMessageAgeSeconds: z.number().int().min(60).max(86_400).default(900),
        /**
         * Alarm when fewer than this percentage of delivery attempts succeed, for three 5-minute periods in a row.
         * @default 95
         */
        minSuccessRatePercent: z.number().gt(0).max(100).default(95),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, context) => {
    const problem = (path: (string | number)[], message: string) => context.addIssue({ code: 'custom', path, message });

    if (config.api.throttlingBurstLimit < config.api.throttlingRateLimit) {
      problem(['api', 'throttlingBurstLimit'], 'must be at least api.throttlingRateLimit');
    }
    const visibility = [
      ['eventsQueue', config.eventsQueue.visibilityTimeoutSeconds, 'router', config.router.timeoutSeconds],
      ['deliveryQueue', config.deliveryQueue.visibilityTimeoutSeconds, 'delivery', config.delivery.timeoutSeconds],
    ] as const;
    for (const [queue, visibilityTimeout, consumer, timeout] of visibility) {
      if (visibilityTimeout < VISIBILITY_TIMEOUT_FACTOR * timeout) {
        problem(
          [queue, 'visibilityTimeoutSeconds'],
          `is ${visibilityTimeout} but must be at least ${VISIBILITY_TIMEOUT_FACTOR}x ${consumer}.timeoutSeconds ` +
            `(${VISIBILITY_TIMEOUT_FACTOR} x ${timeout} = ${VISIBILITY_TIMEOUT_FACTOR * timeout}), or messages of a batch ` +
            'still being processed reappear on the queue and are processed twice',
        );
      }
    }
    const { delivery, deliveryQueue } = config;
    const requestSeconds = Math.ceil(delivery.requestTimeoutMs / 1000);
    if (delivery.timeoutSeconds < requestSeconds + WORKER_OVERHEAD_SECONDS) {
      problem(
        ['delivery', 'timeoutSeconds'],
        `is ${delivery.timeoutSeconds} but must be at least delivery.requestTimeoutMs in seconds + ` +
          `${WORKER_OVERHEAD_SECONDS} (${requestSeconds + WORKER_OVERHEAD_SECONDS}), or the worker times out during an attempt`,
      );
    }
    const parking = parkingReceives(delivery.retryScheduleSeconds);
    if (deliveryQueue.maxReceiveCount < parking + ATTEMPT_RECEIVES) {
      problem(
        ['deliveryQueue', 'maxReceiveCount'],
        `is ${deliveryQueue.maxReceiveCount} but must be at least ${parking + ATTEMPT_RECEIVES}: ` +
          `the longest retry wait takes ${parking} receives of parking (up to 12 h each), and the attempt needs ` +
          `${ATTEMPT_RECEIVES} of its own before the delivery is dead-lettered`,
      );
    }
    const longestWait = longestRetryWaitSeconds(delivery.retryScheduleSeconds);
    if (longestWait + MAX_VISIBILITY_TIMEOUT_SECONDS > DELIVERY_MESSAGE_RETENTION_SECONDS) {
      problem(
        ['delivery', 'retryScheduleSeconds'],
        `the longest delay with jitter (${Math.round(longestWait)} s) must leave 12 h of the delivery queue's ` +
          `${DELIVERY_MESSAGE_RETENTION_SECONDS} s retention for the attempt, so the longest delay may be at most ` +
          `${Math.floor((DELIVERY_MESSAGE_RETENTION_SECONDS - MAX_VISIBILITY_TIMEOUT_SECONDS) / (1 + DEFAULT_RETRY_POLICY.jitter))} s`,
      );
    }
    const deliveryQueueMaxAge = deliveryQueueMaxAgeSeconds(delivery.retryScheduleSeconds, config.monitoring.maxOldestMessageAgeSeconds);
    if (deliveryQueueMaxAge >= DELIVERY_MESSAGE_RETENTION_SECONDS) {
      problem(
        ['monitoring', 'maxOldestMessageAgeSeconds'],
        `with the longest retry wait (${Math.ceil(longestWait)} s) the delivery queue's age alarm would fire at ` +
          `${deliveryQueueMaxAge} s, after SQS has dropped the message (retention ${DELIVERY_MESSAGE_RETENTION_SECONDS} s)`,
      );
    }
  });

export type StageConfig = z.output<typeof StageConfig>;
export type StageConfigInput = z.input<typeof StageConfig>;

/** The CDK context key the stage settings are read from. */
export const STAGE_CONTEXT_KEY = 'webhooks';

/**
 * Parses stage settings, failing synth with every problem listed. Accepts the object from `cdk.json` or the JSON
 * string `-c webhooks='{"name":"prod"}'` passes on the command line.
 */
export const parseStageConfig = (raw: unknown): StageConfig => {
  let value = raw ?? {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new Error(`Invalid stage config: context "${STAGE_CONTEXT_KEY}" is not JSON (${(error as Error).message})`);
    }
  }
  const parsed = StageConfig.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`Invalid stage config (context "${STAGE_CONTEXT_KEY}"):\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
};

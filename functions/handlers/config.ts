import * as z from 'zod';

import {
  type CircuitBreakerPolicy,
  DEFAULT_CIRCUIT_BREAKER_POLICY,
  DEFAULT_SLOW_LANE_POLICY,
  type SlowLanePolicy,
} from '../domain/delivery/delivery-worker.service.js';
import { DEFAULT_RETRY_DELAYS_SECONDS, parseRetrySchedule } from '../domain/delivery/retry-policy.js';

const booleanFlag = z.enum(['true', 'false']).transform((value) => value === 'true');

/**
 * The environment of every API function, parsed once at cold start. Infrastructure names have no defaults:
 * a missing one fails the cold start instead of talking to the wrong resource.
 */
const ApiEnvironment = z.object({
  TABLE_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1),
  /** Where deliveries are queued; only the functions that queue deliveries get it. */
  DELIVERY_QUEUE_URL: z.url().optional(),
  /** Endpoint overrides for emulators (local mode, DynamoDB Local, moto). */
  DYNAMODB_ENDPOINT: z.url().optional(),
  SQS_ENDPOINT: z.url().optional(),
  KMS_ENDPOINT: z.url().optional(),
  /**
   * The KMS key whose data keys seal webhook credentials (signing secrets, header values); only the functions that
   * need them in plaintext get it (the write API, the delivery worker).
   */
  CREDENTIALS_KEY_ID: z.string().min(1).optional(),
  /** Accept http:// webhook URLs; only local mode sets it. */
  ALLOW_HTTP_URLS: booleanFlag.default(false),
  /** Accept webhook URLs resolving to loopback and private addresses (SSRF guard off); only local mode sets it. */
  ALLOW_PRIVATE_DESTINATIONS: booleanFlag.default(false),
  /** How long a rotated-out signing secret keeps signing deliveries. */
  SECRET_ROTATION_OVERLAP_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(86_400),
});
export type ApiEnvironment = z.output<typeof ApiEnvironment>;

/** The environment of the event router and the delivery worker. */
const PipelineEnvironment = ApiEnvironment.extend({
  DELIVERY_QUEUE_URL: z.url(),
  /** The slow lane's queue (worker): with it, the shared lane's requests get FAST_LANE_DEADLINE_MS (see DeliveryWorker). */
  SLOW_LANE_QUEUE_URL: z.url().optional(),
  /** How long a request of the shared lane waits for an answer before its job moves to the slow lane... */
  FAST_LANE_DEADLINE_MS: z.coerce.number().int().positive().default(DEFAULT_SLOW_LANE_POLICY.deadlineMs),
  /** ...where its endpoint then stays this long after its last slow answer. */
  SLOW_LANE_HOLD_SECONDS: z.coerce.number().int().positive().default(DEFAULT_SLOW_LANE_POLICY.holdSeconds),
  /** Where exhausted deliveries go (worker). */
  DELIVERY_DLQ_URL: z.url().optional(),
  /** Where events failing validation go (router). */
  REJECTED_EVENTS_QUEUE_URL: z.url().optional(),
  /** Seconds before each retry after the immediate first attempt: "5,300,1800". */
  RETRY_SCHEDULE: z
    .string()
    .default(DEFAULT_RETRY_DELAYS_SECONDS.join(','))
    .transform((value, context) => {
      try {
        return parseRetrySchedule(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** Auto-disable a webhook whose every delivery failed for this long (default 5 days)... */
  AUTO_DISABLE_AFTER_SECONDS: z.coerce.number().int().positive().default(5 * 86_400),
  /** ...with at least this many failed attempts in that run. */
  AUTO_DISABLE_MIN_FAILURES: z.coerce.number().int().positive().default(10),
  /** Open an endpoint's circuit after this many failed attempts in a row (see DeliveryWorker)... */
  CIRCUIT_FAILURE_THRESHOLD: z.coerce.number().int().positive().default(DEFAULT_CIRCUIT_BREAKER_POLICY.failureThreshold),
  /** ...let a probe through after this many seconds, doubled after each failed probe... */
  CIRCUIT_COOL_OFF_SECONDS: z.coerce.number().int().positive().default(DEFAULT_CIRCUIT_BREAKER_POLICY.coolOffSeconds),
  /** ...up to this many. */
  CIRCUIT_MAX_COOL_OFF_SECONDS: z.coerce.number().int().positive().default(DEFAULT_CIRCUIT_BREAKER_POLICY.maxCoolOffSeconds),
  CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().max(5000).default(5000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(15_000),
});
export type PipelineEnvironment = z.output<typeof PipelineEnvironment>;

export const circuitBreakerPolicy = (env: PipelineEnvironment): CircuitBreakerPolicy => ({
  failureThreshold: env.CIRCUIT_FAILURE_THRESHOLD,
  coolOffSeconds: env.CIRCUIT_COOL_OFF_SECONDS,
  maxCoolOffSeconds: env.CIRCUIT_MAX_COOL_OFF_SECONDS,
});

/** The slow lane's settings, when the worker has a slow lane's queue. */
export const slowLanePolicy = (env: PipelineEnvironment): SlowLanePolicy | undefined =>
  env.SLOW_LANE_QUEUE_URL === undefined
    ? undefined
    : { deadlineMs: env.FAST_LANE_DEADLINE_MS, holdSeconds: env.SLOW_LANE_HOLD_SECONDS };

export const parseApiEnvironment = (env: NodeJS.ProcessEnv = process.env): ApiEnvironment => parse(ApiEnvironment, env);

export const parsePipelineEnvironment = (env: NodeJS.ProcessEnv = process.env): PipelineEnvironment =>
  parse(PipelineEnvironment, env);

const parse = <T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.output<T> => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid function environment: ${problems}`);
  }
  return parsed.data;
};

import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';

/** The retention periods CloudWatch Logs accepts (9999 = never expire). */
const retentionPeriods = Object.values(RetentionDays).filter((value): value is number => typeof value === 'number');

const LogRetentionDays = z
  .number()
  .int()
  .refine((days) => retentionPeriods.includes(days), {
    message: `must be one of the CloudWatch Logs retention periods: ${retentionPeriods.join(', ')}`,
  });

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
    /** Endpoint overrides for a local CloudFormation emulator; unset on AWS. */
    endpoints: z
      .object({
        dynamodb: z.url().optional(),
        sqs: z.url().optional(),
      })
      .prefault({}),
    deliveryQueue: z
      .object({
        /** Must exceed the timeout of the function that will consume the queue (6x is the AWS recommendation). */
        visibilityTimeoutSeconds: z.number().int().min(0).max(43_200).default(180),
      })
      .prefault({}),
  })
  .strict()
  .refine((config) => config.api.throttlingBurstLimit >= config.api.throttlingRateLimit, {
    message: 'api.throttlingBurstLimit must be at least api.throttlingRateLimit',
    path: ['api', 'throttlingBurstLimit'],
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

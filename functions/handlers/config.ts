import { z } from 'zod';

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
  /** Accept http:// webhook URLs; only local mode sets it. */
  ALLOW_HTTP_URLS: booleanFlag.default(false),
});
export type ApiEnvironment = z.output<typeof ApiEnvironment>;

export const parseApiEnvironment = (env: NodeJS.ProcessEnv = process.env): ApiEnvironment => {
  const parsed = ApiEnvironment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid function environment: ${problems}`);
  }
  return parsed.data;
};

import { round } from '../lib/stats.js';

/**
 * Benchmark 7: what a million deliveries cost on AWS, from the request counts of benchmark 4 and the invocation
 * durations of benchmarks 1 and 4, at list prices. PRICES ARE ASSUMPTIONS TO VERIFY: us-east-1 list prices,
 * written down in 2025 from the public pricing pages and reviewed on 2026-12-03 without access to them (this
 * machine reaches only package registries): DynamoDB's on-demand units, halved in November 2024, agree with stored
 * third-party pages of 2025; the rest is unverified.
 */
export const PRICES = {
  asOf:
    'us-east-1 list prices, reviewed 2026-12-03 without access to the AWS pricing pages: DynamoDB on-demand as cut in November 2024 (corroborated by third-party pages of 2025); the rest as written down in 2025, to verify',
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  /** Standard queue, beyond the free tier; each 64 KB chunk of a payload is one request. */
  sqsRequest: 0.4 / 1e6,
  /** Custom events put on a bus, per 64 KB chunk. */
  eventBridgeEvent: 1.0 / 1e6,
  /** On-demand, after the November 2024 price reduction. */
  dynamoDbReadRequestUnit: 0.125 / 1e6,
  dynamoDbWriteRequestUnit: 0.625 / 1e6,
  /** Standard log class ingestion (Lambda logs are vended logs, first tier). */
  cloudWatchLogsPerGb: 0.5,
  /** Traces recorded; the default sampling rule records 1 request per second plus 5 % of the rest. */
  xRayTrace: 5.0 / 1e6,
  xRaySampledFraction: 0.05,
  /** For comparison: EventBridge API destinations, per invocation (the event itself is billed on top). */
  apiDestinationInvocation: 0.2 / 1e6,
  /** For comparison: Svix overage per message, an assumption ($100 per million) to verify on svix.com/pricing. */
  svixPerMessage: 100 / 1e6,
} as const;

/** Memory of the pipeline functions: lib/config/stage-config.ts defaults (router and worker, 256 MB). */
export const FUNCTION_MEMORY_MB = { router: 256, worker: 256 } as const;
/**
 * Bytes Lambda itself writes per invocation (START, END and REPORT lines, the REPORT line with X-Ray fields):
 * an estimate of the text format's lengths, not measured here.
 */
export const LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION = 350;

export interface CostInputs {
  readonly webhooksPerEvent: number;
  readonly sqsBilledRequests: number;
  readonly eventBridgeEntries: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly routerInvocations: number;
  readonly workerInvocations: number;
  /** Duration of one worker invocation (a batch of 10 deliveries). */
  readonly workerInvocationMs: number;
  /** Duration of one router invocation (a batch of 10 events). */
  readonly routerInvocationMs: number;
  readonly logBytesWorker: number;
  readonly logBytesRouter: number;
}

export interface CostLine {
  readonly item: string;
  readonly basis: string;
  readonly usdPerMillion: number;
}

const GB = 1024 ** 3;

/** Log bytes CloudWatch ingests per delivery: the functions' own lines and Lambda's per-invocation lines. */
export const logBytesPerDelivery = (inputs: CostInputs): number =>
  inputs.logBytesWorker + inputs.logBytesRouter + (inputs.routerInvocations + inputs.workerInvocations) * LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION;

/** Cost of one million deliveries, line by line. Inputs are per delivery except the invocation durations. */
export const costPerMillion = (inputs: CostInputs): { lines: CostLine[]; total: number } => {
  const million = 1e6;
  const billedSeconds = (ms: number) => Math.ceil(ms) / 1000;
  const workerGbSeconds = inputs.workerInvocations * billedSeconds(inputs.workerInvocationMs) * (FUNCTION_MEMORY_MB.worker / 1024);
  const routerGbSeconds = inputs.routerInvocations * billedSeconds(inputs.routerInvocationMs) * (FUNCTION_MEMORY_MB.router / 1024);
  const invocations = inputs.routerInvocations + inputs.workerInvocations;
  const logBytes = logBytesPerDelivery(inputs);
  const lines: CostLine[] = [
    {
      item: 'Lambda requests',
      basis: `${round(invocations, 3)} invocations/delivery × $0.20/M`,
      usdPerMillion: invocations * PRICES.lambdaRequest * million,
    },
    {
      item: 'Lambda duration, worker',
      basis: `${round(inputs.workerInvocations, 3)} × ${Math.ceil(inputs.workerInvocationMs)} ms × ${FUNCTION_MEMORY_MB.worker} MB arm64`,
      usdPerMillion: workerGbSeconds * PRICES.lambdaArmGbSecond * million,
    },
    {
      item: 'Lambda duration, router',
      basis: `${round(inputs.routerInvocations, 3)} × ${Math.ceil(inputs.routerInvocationMs)} ms × ${FUNCTION_MEMORY_MB.router} MB arm64`,
      usdPerMillion: routerGbSeconds * PRICES.lambdaArmGbSecond * million,
    },
    {
      item: 'SQS requests',
      basis: `${round(inputs.sqsBilledRequests, 3)} billed requests/delivery × $0.40/M`,
      usdPerMillion: inputs.sqsBilledRequests * PRICES.sqsRequest * million,
    },
    {
      item: 'EventBridge events',
      basis: `${round(inputs.eventBridgeEntries, 3)} entries/delivery × $1.00/M`,
      usdPerMillion: inputs.eventBridgeEntries * PRICES.eventBridgeEvent * million,
    },
    {
      item: 'DynamoDB reads',
      basis: `${round(inputs.readUnits, 3)} RRU/delivery × $0.125/M`,
      usdPerMillion: inputs.readUnits * PRICES.dynamoDbReadRequestUnit * million,
    },
    {
      item: 'DynamoDB writes',
      basis: `${round(inputs.writeUnits, 3)} WRU/delivery × $0.625/M`,
      usdPerMillion: inputs.writeUnits * PRICES.dynamoDbWriteRequestUnit * million,
    },
    {
      item: 'CloudWatch Logs ingestion',
      basis: `${round(logBytes, 0)} B/delivery (worker ${round(inputs.logBytesWorker, 0)}, router ${round(inputs.logBytesRouter, 0)}, Lambda ~${LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION}/invocation) × $0.50/GB`,
      usdPerMillion: (logBytes * million * PRICES.cloudWatchLogsPerGb) / GB,
    },
    {
      item: 'X-Ray traces',
      basis: `${round(invocations, 3)} invocations × ${PRICES.xRaySampledFraction * 100} % sampled × $5.00/M`,
      usdPerMillion: invocations * PRICES.xRaySampledFraction * PRICES.xRayTrace * million,
    },
  ].map((line) => ({ ...line, usdPerMillion: round(line.usdPerMillion, 4) }));
  return { lines, total: round(lines.reduce((sum, line) => sum + line.usdPerMillion, 0), 3) };
};

/**
 * The worker's Lambda duration when receivers are slow: a batch lasts as long as its slowest request, so the
 * billed time per delivery grows with the receiver's response time. Modelled, not measured.
 */
export const workerDurationSensitivity = (measuredInvocationMs: number, receiverMs: readonly number[], deliveriesPerInvocation = 10) =>
  receiverMs.map((ms) => {
    const invocationMs = measuredInvocationMs + ms;
    const invocationsPerMillion = 1e6 / deliveriesPerInvocation;
    const usdPerMillion =
      (Math.ceil(invocationMs) / 1000) * (FUNCTION_MEMORY_MB.worker / 1024) * PRICES.lambdaArmGbSecond * invocationsPerMillion;
    return { receiverMs: ms, invocationMs: round(invocationMs, 1), usdPerMillion: round(usdPerMillion, 3) };
  });

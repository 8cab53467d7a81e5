import { type BenchChild, startChild } from '../lib/child.js';
import { LAMBDA_LOG_ENVIRONMENT } from '../lib/fixtures.js';
import type { Services } from '../lib/services.js';
import { median, round } from '../lib/stats.js';

interface RunResult {
  deliveries: number;
  failures: number;
  wallMs: number;
  cpuMs: number;
  batchMs: { p50: number; p90: number; p99: number };
  logBytes: number;
  logLines: number;
}

export const THROUGHPUT_VARIANTS = {
  bare: 'bare undici keep-alive POST loop, same HMACs (baseline)',
  handlerInProcessStorage: 'delivery-worker bundle, dynalite + SQS in the same process (full path on one core)',
  handlerSeparateStorage: 'delivery-worker bundle, dynalite + SQS in another process',
  workerNoStorage: 'DeliveryWorker + real sender/logger/metrics, in-memory repositories',
} as const;
export type Variant = keyof typeof THROUGHPUT_VARIANTS;

export interface VariantSummary {
  readonly variant: Variant;
  readonly description: string;
  readonly repetitions: number;
  readonly deliveriesPerRepetition: number;
  /** Median over repetitions. */
  readonly deliveriesPerSecond: number;
  /** Deliveries per CPU-second of the measured process: throughput per core. */
  readonly deliveriesPerCpuSecond: number;
  readonly cpuMsPerDelivery: number;
  readonly cpuUtilisation: number;
  /** One invocation (batch of 10): median of the repetitions' p50 and p99. */
  readonly batchMsP50: number;
  readonly batchMsP99: number;
  readonly logBytesPerDelivery: number;
  readonly logLinesPerDelivery: number;
  /** CPU the storage process spent per delivery (separate-storage variant). */
  readonly storageCpuMsPerDelivery?: number;
  readonly sinkCpuMsPerDelivery: number;
  readonly ratioPerCpuToBare: number;
  readonly ratioWallToBare: number;
  readonly failures: number;
}

/**
 * Benchmark 1: deliveries per second and per CPU-second through the real delivery handler, against the bare
 * POST loop, to the same sink process. Every variant runs `repetitions` times, interleaved (the order rotates
 * each round), after one unmeasured warm-up run; medians are reported.
 */
export interface ThroughputResult {
  readonly variants: VariantSummary[];
  /** Client-side cost of one DynamoDB GetItem through the SDK (separate-storage process), for comparison. */
  readonly sdkGetItem: { calls: number; cpuMsPerCall: number; wallMsPerCall: number };
}

export const runThroughput = async (
  services: Services,
  options: { bundle: string; count: number; warmup: number; repetitions: number; webhooks: number },
): Promise<ThroughputResult> => {
  const children = new Map<Variant, BenchChild>();
  try {
    children.set('bare', await startChild('bare-sender'));
    children.set('handlerInProcessStorage', await startChild('delivery-worker', { ...LAMBDA_LOG_ENVIRONMENT, BENCH_STORAGE: 'inprocess' }));
    children.set(
      'handlerSeparateStorage',
      await startChild('delivery-worker', { ...services.environment, ...LAMBDA_LOG_ENVIRONMENT, BENCH_STORAGE: 'external' }),
    );
    children.set('workerNoStorage', await startChild('delivery-worker', { ...LAMBDA_LOG_ENVIRONMENT, BENCH_STORAGE: 'none' }));
    for (const [variant, child] of children) {
      await child.call('setup', {
        mode: variant === 'workerNoStorage' ? 'memory' : 'handler',
        bundle: options.bundle,
        sinkUrl: services.sinkUrl,
        webhooks: options.webhooks,
      });
    }

    const runOnce = async (variant: Variant, count: number) => {
      const child = children.get(variant)!;
      await child.call('prepare', { count });
      const sinkBefore = await services.sink.call<number>('count');
      const sinkCpuBefore = await services.sink.call<number>('cpu');
      const storageCpuBefore = await services.storage.call<number>('cpu');
      const result = await child.call<RunResult>('run');
      const storageCpu = (await services.storage.call<number>('cpu')) - storageCpuBefore;
      const sinkCpu = (await services.sink.call<number>('cpu')) - sinkCpuBefore;
      const received = (await services.sink.call<number>('count')) - sinkBefore;
      if (result.deliveries === 0) throw new Error(`${variant}: no deliveries`);
      if (received < result.deliveries) throw new Error(`${variant}: ${result.deliveries} deliveries reported, ${received} received`);
      return { ...result, storageCpu, sinkCpu };
    };

    const variants = [...children.keys()];
    for (const variant of variants) await runOnce(variant, options.warmup);
    const runs = new Map<Variant, Awaited<ReturnType<typeof runOnce>>[]>(variants.map((variant) => [variant, []]));
    for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
      const order = variants.map((_, index) => variants[(index + repetition) % variants.length]!);
      for (const variant of order) runs.get(variant)!.push(await runOnce(variant, options.count));
    }

    const summarize = (variant: Variant) => {
      const results = runs.get(variant)!;
      const per = (pick: (result: (typeof results)[number]) => number) => median(results.map(pick));
      return {
        variant,
        description: THROUGHPUT_VARIANTS[variant],
        repetitions: results.length,
        deliveriesPerRepetition: options.count,
        deliveriesPerSecond: round(per((result) => result.deliveries / (result.wallMs / 1000)), 0),
        deliveriesPerCpuSecond: round(per((result) => result.deliveries / (result.cpuMs / 1000)), 0),
        cpuMsPerDelivery: round(per((result) => result.cpuMs / result.deliveries), 3),
        cpuUtilisation: round(per((result) => result.cpuMs / result.wallMs), 2),
        batchMsP50: round(per((result) => result.batchMs.p50), 2),
        batchMsP99: round(per((result) => result.batchMs.p99), 2),
        logBytesPerDelivery: round(per((result) => result.logBytes / result.deliveries), 1),
        logLinesPerDelivery: round(per((result) => result.logLines / result.deliveries), 2),
        ...(variant === 'handlerSeparateStorage' && {
          storageCpuMsPerDelivery: round(per((result) => result.storageCpu / result.deliveries), 3),
        }),
        sinkCpuMsPerDelivery: round(per((result) => result.sinkCpu / result.deliveries), 3),
        failures: results.reduce((sum, result) => sum + result.failures, 0),
      };
    };
    const bare = summarize('bare');
    const sdkGetItem = await children
      .get('handlerSeparateStorage')!
      .call<ThroughputResult['sdkGetItem']>('sdkCallCost', { calls: Math.max(20, Math.min(1000, options.count)) });
    return {
      variants: variants.map((variant) => {
        const summary = summarize(variant);
        return {
          ...summary,
          ratioPerCpuToBare: round(summary.deliveriesPerCpuSecond / bare.deliveriesPerCpuSecond, 3),
          ratioWallToBare: round(summary.deliveriesPerSecond / bare.deliveriesPerSecond, 3),
        };
      }),
      sdkGetItem,
    };
  } finally {
    await Promise.all([...children.values()].map((child) => child.stop()));
  }
};

/**
 * `npm run bench` (full pass, minutes: writes BENCHMARKS.json and the results section of BENCHMARKS.md) and
 * `npm run bench:smoke` (seconds, tiny counts: checks that every benchmark runs and yields numbers; writes its
 * results to the temp folder only). No timing is asserted: the run fails only when a benchmark crashes or yields
 * no numbers. Options: --smoke, --only=throughput,coldStart,api,requests,fanOut,e2e,isolation,crash,rateLimit,
 * --out=<folder>.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { runApi } from './benchmarks/api.js';
import { runColdStart } from './benchmarks/cold-start.js';
import { costPerMillion, FUNCTION_MEMORY_MB, PRICES, workerDurationSensitivity } from './benchmarks/cost.js';
import { runEndToEnd } from './benchmarks/e2e.js';
import { runCrashLedger } from './benchmarks/crash.js';
import { runFanOut } from './benchmarks/fan-out.js';
import { runIsolation } from './benchmarks/isolation.js';
import { runRateLimit } from './benchmarks/rate-limit.js';
import { runRequests } from './benchmarks/requests.js';
import { runThroughput } from './benchmarks/throughput.js';
import { type Bundle, buildBundles, buildComponentBundles, repoRoot } from './lib/bundles.js';
import { liveChildren } from './lib/child.js';
import { type BenchResults, type CostResult, evaluateTargets, type Machine, mergeIntoDocument, renderResults } from './lib/report.js';
import { type Services, startServices } from './lib/services.js';
import { round } from './lib/stats.js';

const PROFILES = {
  full: {
    throughput: { count: 2000, warmup: 300, repetitions: 5, webhooks: 10 },
    coldStart: { samples: 25, componentSamples: 15 },
    api: { iterations: 1000, warmup: 100 },
    requests: { events: 200, fanOuts: [1, 10] },
    fanOut: { sizes: [1, 10, 100, 1000], others: 10_000, eventsPerSize: 5 },
    e2e: { rates: [10, 100, 1000], seconds: 30, baselineSeconds: 5, drainSeconds: 30 },
    isolation: { victimRate: 10, floodRate: 30, seconds: 30, drainSeconds: 60 },
    crash: { events: 1000, crashes: 3, drainSeconds: 240 },
    rateLimit: { rateLimitPerSecond: 5, burst: 200, drainSeconds: 90 },
  },
  smoke: {
    throughput: { count: 40, warmup: 10, repetitions: 1, webhooks: 2 },
    coldStart: { samples: 2, componentSamples: 1 },
    api: { iterations: 10, warmup: 2 },
    requests: { events: 10, fanOuts: [1, 2] },
    fanOut: { sizes: [1, 10], others: 20, eventsPerSize: 1 },
    e2e: { rates: [10], seconds: 1, baselineSeconds: 0.5, drainSeconds: 20 },
    isolation: { victimRate: 5, floodRate: 15, seconds: 2, drainSeconds: 20 },
    crash: { events: 60, crashes: 1, drainSeconds: 200 },
    rateLimit: { rateLimitPerSecond: 5, burst: 15, drainSeconds: 30 },
  },
} as const;

const STEPS = ['coldStart', 'throughput', 'api', 'requests', 'fanOut', 'e2e', 'isolation', 'crash', 'rateLimit'] as const;
type Step = (typeof STEPS)[number];

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',') as Step[] | undefined;
const outArg = args.find((arg) => arg.startsWith('--out='))?.slice('--out='.length);
const unknownStep = only?.find((step) => !STEPS.includes(step));
if (unknownStep) {
  process.stderr.write(`unknown benchmark "${unknownStep}"; choose from ${STEPS.join(', ')}\n`);
  process.exit(2);
}
const profile = smoke ? PROFILES.smoke : PROFILES.full;
const selected = (step: Step) => !only || only.includes(step);
// Only a complete full pass replaces the committed results.
const outDir = outArg ?? (smoke || only ? join(os.tmpdir(), `webhooks-bench-${smoke ? 'smoke' : 'partial'}`) : repoRoot);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const command = (text: string) => {
  try {
    return execSync(text, { encoding: 'utf8' }).trim();
  } catch {
    return 'n/a';
  }
};

const describeMachine = (): Machine => {
  const memory = command('free -h')
    .split('\n')
    .find((line) => line.startsWith('Mem:'))
    ?.split(/\s+/);
  return {
    cpuModel: os.cpus()[0]?.model ?? 'n/a',
    nproc: command('nproc'),
    memory: memory ? `${memory[1]} / ${memory[6]}` : 'n/a',
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
};

/** Every value must be a finite number: a benchmark that produced no numbers has failed. */
const requireNumbers = (what: string, values: readonly unknown[]) => {
  if (values.length === 0) throw new Error(`${what}: no results`);
  const bad = values.findIndex((value) => typeof value !== 'number' || !Number.isFinite(value));
  if (bad !== -1) throw new Error(`${what}: value #${bad} is not a number (${String(values[bad])})`);
};

const startedAt = new Date();
const results: BenchResults = {
  mode: smoke ? 'smoke' : 'full',
  startedAt: startedAt.toISOString(),
  machine: describeMachine(),
  loadAverage: { before: os.loadavg().map((value) => round(value, 2)) },
  profile,
  stepSeconds: {},
  failures: [],
};

const step = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
  const started = performance.now();
  log(`${name}…`);
  try {
    const value = await run();
    results.stepSeconds[name] = round((performance.now() - started) / 1000, 1);
    log(`${name} done in ${results.stepSeconds[name]} s`);
    return value;
  } catch (error) {
    results.stepSeconds[name] = round((performance.now() - started) / 1000, 1);
    const message = `${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    results.failures.push(message);
    log(`FAILED ${message}`);
    return undefined;
  }
};

const interrupt = () => {
  for (const child of liveChildren) if (child.pid) process.kill(child.pid, 'SIGKILL');
  process.exit(130);
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);

log(`${results.mode} pass; load average ${results.loadAverage.before.join(', ')} on ${results.machine.nproc} cores`);
const bundleDir = mkdtempSync(join(os.tmpdir(), 'webhooks-bench-bundles-'));
let services: Services | undefined;
try {
  const bundles = await step('bundles', async () => {
    const built = await buildBundles(bundleDir);
    requireNumbers('bundles', Object.values(built).map((bundle: Bundle) => bundle.bytes));
    return built;
  });
  if (!bundles) throw new Error('the bundles could not be built');

  if (selected('coldStart')) {
    results.coldStart = await step('coldStart', async () => {
      const components = await buildComponentBundles(bundleDir);
      const cold = await runColdStart(bundles, components, profile.coldStart);
      requireNumbers('coldStart', [
        ...cold.functions.flatMap((row) => [row.bytes, row.gzipBytes, row.importMs.p50, row.importMsNoSourceMaps.p50]),
        ...cold.components.map((row) => row.importMsP50),
      ]);
      return cold;
    });
  }

  if (selected('throughput') || selected('api') || selected('requests') || selected('fanOut')) {
    services = await startServices();
  }
  if (selected('throughput')) {
    results.throughput = await step('throughput', async () => {
      const throughput = await runThroughput(services!, { bundle: bundles['delivery-worker']!.file, ...profile.throughput });
      requireNumbers('throughput', [
        ...throughput.variants.flatMap((row) => [row.deliveriesPerSecond, row.deliveriesPerCpuSecond, row.ratioPerCpuToBare, row.batchMsP50]),
        throughput.sdkGetItem.cpuMsPerCall,
      ]);
      return throughput;
    });
  }
  if (selected('api')) {
    results.api = await step('api', async () => {
      const rows = await runApi(services!, bundles, profile.api);
      requireNumbers('api', rows.flatMap((row) => [row.handler.p50, row.handler.p99, row.bare.p50, row.bare.p99]));
      return rows;
    });
  }
  if (selected('requests')) {
    results.requests = await step('requests', async () => {
      const rows = await runRequests(services!, profile.requests);
      requireNumbers('requests', rows.flatMap((row) => [row.perDelivery.sqsRequests, row.perDelivery.readUnits, row.perDelivery.writeUnits]));
      return rows;
    });
  }
  if (selected('fanOut')) {
    results.fanOut = await step('fanOut', async () => {
      const fanOut = await runFanOut(services!, profile.fanOut);
      requireNumbers('fanOut', [...fanOut.before, ...fanOut.after].flatMap((row) => [row.queries, row.dynamoDbCalls, row.msPerEvent]));
      return fanOut;
    });
  }
  await services?.stop();
  services = undefined;

  if (selected('e2e')) {
    results.e2e = await step('e2e', async () => {
      const rows = [];
      for (const platform of ['npmStart', 'inMemory'] as const) rows.push(...(await runEndToEnd({ platform, ...profile.e2e })));
      requireNumbers('e2e', rows.flatMap((row) => [row.publishRate, row.deliveredRateInWindow, row.baseline.latencyMs.p50]));
      if (rows.every((row) => row.delivered === 0)) throw new Error('e2e: nothing was delivered');
      return rows;
    });
  }

  if (selected('isolation')) {
    results.isolation = await step('isolation', async () => {
      const isolation = await runIsolation(profile.isolation);
      requireNumbers('isolation', [
        isolation.quiet.latencyMs.p95,
        isolation.flooded.latencyMs.p95,
        isolation.p95Ratio,
        isolation.controlP95Ratio,
        isolation.pipeline.quiet.latencyMs.p95,
        isolation.pipeline.flooded.latencyMs.p95,
        isolation.pipeline.p95Ratio,
        isolation.pipeline.controlP95Ratio,
      ]);
      return isolation;
    });
  }

  if (selected('crash')) {
    results.crash = await step('crash', async () => {
      const crash = await runCrashLedger(profile.crash);
      requireNumbers('crash', [crash.lost, crash.underTwoDeliveryIds, crash.repeatedDeliveries]);
      return crash;
    });
  }

  if (selected('rateLimit')) {
    results.rateLimit = await step('rateLimit', async () => {
      const rateLimit = await runRateLimit(profile.rateLimit);
      requireNumbers('rateLimit', [rateLimit.delivered, rateLimit.maxInAnySecond, rateLimit.spanSeconds]);
      return rateLimit;
    });
  }

  if (results.requests && results.requests.length > 0) {
    results.cost = await step('cost', async () => {
      const workerInvocationMs =
        results.throughput?.variants.find((row) => row.variant === 'handlerSeparateStorage')?.batchMsP50 ??
        results.requests![0]!.workerInvocationMs.p50;
      const byFanOut = results.requests!.map((row) => {
        const inputs = {
          webhooksPerEvent: row.webhooksPerEvent,
          sqsBilledRequests: row.perDelivery.sqsBilledRequests,
          eventBridgeEntries: row.perDelivery.eventBridgeEntries,
          readUnits: row.perDelivery.readUnits,
          writeUnits: row.perDelivery.writeUnits,
          routerInvocations: row.routerInvocations / row.deliveries,
          workerInvocations: row.workerInvocations / row.deliveries,
          workerInvocationMs,
          routerInvocationMs: row.routerInvocationMs.p50,
          logBytesWorker: row.perDelivery.logBytesWorker,
          logBytesRouter: row.perDelivery.logBytesRouter,
        };
        return { webhooksPerEvent: row.webhooksPerEvent, inputs, ...costPerMillion(inputs) };
      });
      const receiverMs = [0, 100, 500, 2000, 15_000];
      // Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB.
      const cpuShare = FUNCTION_MEMORY_MB.worker / 1769;
      const workerCpuMsPerDelivery =
        results.throughput?.variants.find((row) => row.variant === 'handlerSeparateStorage')?.cpuMsPerDelivery ?? Number.NaN;
      const cost: CostResult = {
        prices: { ...PRICES },
        byFanOut,
        workerDurationSensitivity: workerDurationSensitivity(workerInvocationMs, receiverMs),
        workerDurationSensitivityCpuScaled: workerDurationSensitivity((workerCpuMsPerDelivery * 10) / cpuShare, receiverMs),
        cpuScaling: `${workerCpuMsPerDelivery} CPU ms/delivery × 10 ÷ ${round(cpuShare, 3)} vCPU at ${FUNCTION_MEMORY_MB.worker} MB`,
        comparisons: [
          {
            item: 'EventBridge API destinations, invocations',
            usdPerMillion: PRICES.apiDestinationInvocation * 1e6,
            note: '$0.20 per million invocations; the PutEvents event ($1.00/M) comes on top, and there is no per-tenant signing, retry schedule or delivery log',
          },
          {
            item: 'EventBridge API destinations + the event put',
            usdPerMillion: (PRICES.apiDestinationInvocation + PRICES.eventBridgeEvent) * 1e6,
            note: 'one PutEvents entry per delivery',
          },
          {
            item: 'Svix, overage per message',
            usdPerMillion: PRICES.svixPerMessage * 1e6,
            note: 'ASSUMED $0.0001 per message beyond the plan; verify on svix.com/pricing',
          },
        ],
      };
      requireNumbers('cost', byFanOut.map((entry) => entry.total));
      return cost;
    });
  }
} catch (error) {
  results.failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
} finally {
  await services?.stop().catch(() => undefined);
  rmSync(bundleDir, { recursive: true, force: true });
}

const finishedAt = new Date();
results.finishedAt = finishedAt.toISOString();
results.durationSeconds = round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1);
results.loadAverage.after = os.loadavg().map((value) => round(value, 2));
results.targets = evaluateTargets(results);

mkdirSync(outDir, { recursive: true });
const jsonFile = join(outDir, 'BENCHMARKS.json');
const markdownFile = join(outDir, 'BENCHMARKS.md');
writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(markdownFile, mergeIntoDocument(existsSync(markdownFile) ? readFileSync(markdownFile, 'utf8') : undefined, renderResults(results)));

for (const target of results.targets) {
  const verdict = target.met === undefined ? 'n/a ' : target.met ? 'met ' : 'MISS';
  log(`${verdict} ${target.benchmark}: ${target.measured} (target ${target.target})`);
}
log(`results: ${jsonFile} and ${markdownFile}; ${results.durationSeconds} s`);
if (results.failures.length > 0) {
  log(`${results.failures.length} benchmark(s) failed`);
  process.exit(1);
}
process.exit(0);

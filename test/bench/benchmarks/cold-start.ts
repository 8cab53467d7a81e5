import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { BARE, type Bundle, COMPONENTS, HANDLER_NAMES } from '../lib/bundles.js';
import { percentile, round } from '../lib/stats.js';

const run = promisify(execFile);

/**
 * Imports one bundle in a fresh Node process and reports how long `import()` took (module loading, parsing,
 * evaluation: the module-scope work Lambda's init phase does), the process's RSS, and whether anything tried
 * to open a socket (nothing may: importing makes no call).
 */
const PROBE = `
import net from 'node:net';
let connects = 0;
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) { connects += 1; return connect.apply(this, args); };
const started = performance.now();
const module = await import(process.env.BENCH_BUNDLE_URL);
const importMs = performance.now() - started;
if (typeof module.handler !== 'function' && typeof module.handler !== 'object') { console.error('no handler export'); process.exit(3); }
process.stdout.write(JSON.stringify({ importMs, rssBytes: process.memoryUsage().rss, connects }));
process.exit(0);
`;

/**
 * What CDK sets for the functions, with dummy values: every name each handler parses at import, and endpoints
 * on 127.0.0.1 port 9 (discard; nothing listens), so even an accidental call could not leave the machine.
 */
const importEnvironment = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  TABLE_NAME: 'webhooks-bench',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  DELIVERY_QUEUE_URL: 'http://127.0.0.1:9/000000000000/deliveries',
  DELIVERY_DLQ_URL: 'http://127.0.0.1:9/000000000000/deliveries-dlq',
  REJECTED_EVENTS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/rejected-events',
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
  SQS_ENDPOINT: 'http://127.0.0.1:9',
  KMS_ENDPOINT: 'http://127.0.0.1:9',
  CREDENTIALS_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/bench',
});

interface ProbeResult {
  importMs: number;
  rssBytes: number;
  connects: number;
}

const probe = async (bundle: Bundle, sourceMaps: boolean): Promise<ProbeResult> => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE], {
    env: {
      ...importEnvironment(),
      BENCH_BUNDLE_URL: pathToFileURL(bundle.file).href,
      // Lambda runs every function with NODE_OPTIONS=--enable-source-maps (WebhookFunction's environment).
      NODE_OPTIONS: sourceMaps ? '--enable-source-maps' : '',
    },
    timeout: 30_000,
  });
  return JSON.parse(stdout) as ProbeResult;
};

interface ImportStats {
  p50: number;
  p90: number;
  min: number;
}

const summary = (results: ProbeResult[]): ImportStats => {
  const times = results.map((result) => result.importMs);
  return { p50: round(percentile(times, 50), 2), p90: round(percentile(times, 90), 2), min: round(Math.min(...times), 2) };
};

/**
 * `samples` fresh-process imports of each bundle per mode, interleaved round-robin so load drift hits all alike,
 * after one unmeasured round (OS file cache).
 */
const measureImports = async (bundles: readonly Bundle[], samples: number, modes: readonly boolean[]) => {
  const results = new Map<string, Map<boolean, ProbeResult[]>>(
    bundles.map((bundle) => [bundle.name, new Map(modes.map((mode) => [mode, []]))]),
  );
  for (const bundle of bundles) await probe(bundle, modes[0]!);
  for (let index = 0; index < samples; index += 1) {
    for (const bundle of bundles) {
      for (const mode of modes) results.get(bundle.name)!.get(mode)!.push(await probe(bundle, mode));
    }
  }
  return results;
};

export interface ColdStartRow {
  readonly name: string;
  readonly kind: 'delivery' | 'api' | 'pipeline' | 'baseline';
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
  /** Import time with --enable-source-maps, as configured on Lambda. */
  readonly importMs: ImportStats;
  /** Import time without source maps. */
  readonly importMsNoSourceMaps: ImportStats;
  readonly overBareMs: number;
  readonly ratioToBare: number;
  readonly rssMb: number;
  readonly socketsOpenedAtImport: number;
  readonly samples: number;
}

export interface ComponentRow {
  readonly component: string;
  readonly description: string;
  readonly bytes: number;
  readonly importMsP50: number;
  readonly overBareMs: number;
}

const kindOf = (name: string): ColdStartRow['kind'] => {
  if (name === BARE) return 'baseline';
  if (name === 'delivery-worker') return 'delivery';
  if (name === 'event-router') return 'pipeline';
  return 'api';
};

/** Benchmark 2: size, gzip size and fresh-process import time of each function bundle, next to a bare handler's. */
export const runColdStart = async (
  bundles: Record<string, Bundle>,
  components: Record<string, Bundle>,
  options: { samples: number; componentSamples: number },
): Promise<{ functions: ColdStartRow[]; components: ComponentRow[] }> => {
  const names = [...HANDLER_NAMES, BARE];
  const measured = await measureImports(
    names.map((name) => bundles[name]!),
    options.samples,
    [true, false],
  );
  const bare = summary(measured.get(BARE)!.get(true)!);
  const functions = names.map((name): ColdStartRow => {
    const on = measured.get(name)!.get(true)!;
    const off = measured.get(name)!.get(false)!;
    const bundle = bundles[name]!;
    const importMs = summary(on);
    return {
      name,
      kind: kindOf(name),
      bytes: bundle.bytes,
      gzipBytes: bundle.gzipBytes,
      sourceMapBytes: bundle.sourceMapBytes,
      importMs,
      importMsNoSourceMaps: summary(off),
      overBareMs: round(importMs.p50 - bare.p50, 2),
      ratioToBare: round(importMs.p50 / bare.p50, 1),
      rssMb: round(percentile(on.map((result) => result.rssBytes), 50) / 1024 / 1024, 1),
      socketsOpenedAtImport: Math.max(...on.map((result) => result.connects), ...off.map((result) => result.connects)),
      samples: on.length,
    };
  });

  const componentNames = Object.keys(COMPONENTS) as (keyof typeof COMPONENTS)[];
  const componentMeasured = await measureImports(
    [...componentNames.map((name) => components[name]!), bundles[BARE]!],
    options.componentSamples,
    [true],
  );
  const componentBare = summary(componentMeasured.get(BARE)!.get(true)!).p50;
  const componentRows = componentNames.map((name): ComponentRow => {
    const bundle = components[name]!;
    const p50 = summary(componentMeasured.get(bundle.name)!.get(true)!).p50;
    return { component: name, description: COMPONENTS[name], bytes: bundle.bytes, importMsP50: p50, overBareMs: round(p50 - componentBare, 2) };
  });
  return { functions, components: componentRows };
};

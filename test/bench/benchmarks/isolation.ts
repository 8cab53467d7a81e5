import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { type BenchChild, startChild } from '../lib/child.js';
import { EVENT_TYPE, exampleData } from '../lib/fixtures.js';
import { startPlatform } from '../lib/platform-process.js';
import { startServices } from '../lib/services.js';
import { epochMs, percentile, round, sleep } from '../lib/stats.js';
import { paced } from './e2e.js';

const SOURCE = 'bench.shop';
const VICTIM_KEY = 'bench-victim-key';
const FLOOD_KEY = 'bench-flood-key';
/** As the issue measured it in local mode: a zombie endpoint costs a worker this long per attempt. */
const REQUEST_TIMEOUT_MS = 3000;
const ONSET_SECONDS = 5;

/**
 * quiet: the victim alone. flooded: beside the flood to an endpoint that never answers. control: beside the same
 * flood to a healthy endpoint, which shows what the flood's own events cost the victim on the machine's shared CPU.
 */
export type PhaseKind = 'quiet' | 'flooded' | 'control';

export interface IsolationPhase {
  readonly kind: PhaseKind;
  readonly victimPublished: number;
  readonly victimDelivered: number;
  readonly floodPublished: number;
  /** POSTs the flood's endpoint received: attempts, probes included. */
  readonly floodAttempts: number;
  /** Victim deliveries received more than once (a request the shared lane abandoned at its deadline, made again). */
  readonly victimRepeats: number;
  /** Whether the victim's endpoint was in the slow lane at the end (slowLaneUntil in the future). */
  readonly victimInSlowLane: boolean;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  /**
   * The same for the victim's events published from ONSET_SECONDS into the window on: past the flood's onset, when
   * its first requests were still in flight in the shared lane (see BENCHMARKS.md).
   */
  readonly afterOnsetMs: { readonly p95: number; readonly p99: number };
}

export interface IsolationComparison {
  readonly quiet: IsolationPhase;
  readonly flooded: IsolationPhase;
  readonly control: IsolationPhase;
  /** flooded ÷ quiet: the target. */
  readonly p95Ratio: number;
  readonly p99Ratio: number;
  /** control ÷ quiet: what a flood of the same rate to a healthy endpoint costs the victim. */
  readonly controlP95Ratio: number;
  readonly controlP99Ratio: number;
}

export interface IsolationResult extends IsolationComparison {
  readonly victimRate: number;
  readonly floodRate: number;
  readonly seconds: number;
  readonly requestTimeoutMs: number;
  /** The same two phases on the pipeline assembled from the real adapters, with the default stage's concurrency caps. */
  readonly pipeline: IsolationComparison;
}

type Options = { victimRate: number; floodRate: number; seconds: number; drainSeconds: number };

/**
 * Where a phase publishes: the tenants' webhooks exist, the victim's to the sink, the flood's to the sink's hanging
 * path or, in the control phase, to a healthy one.
 */
interface Target {
  readonly sink: BenchChild;
  /** Publishes `count` events of the tenant; resolves to their ids, each with when it was published. */
  publish(tenantId: 'victim' | 'flood', count: number): Promise<[string, number][]>;
  victimSlowLaneUntil(): Promise<string | undefined>;
  stop(): Promise<void>;
}

/**
 * Benchmark 8: isolation. Tenant `victim` publishes at `victimRate` to a healthy receiver; publish → receive
 * latency, alone and while tenant `flood` publishes at `floodRate` to an endpoint that reads each request and never
 * answers; and, as a control, while the flood goes to a healthy endpoint. Twice: through `npm start`'s entry point
 * (request timeout 3 s, as the issue measured), and on the pipeline assembled from the real adapters and handlers'
 * wiring behind event source mappings with the default stage's concurrency caps (request timeout 15 s, the
 * stage's). Each phase on fresh storage.
 */
export const runIsolation = async (options: Options): Promise<IsolationResult> => ({
  ...options,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  ...(await compare(options, openLocalMode)),
  pipeline: await compare(options, openPipeline),
});

const compare = async (options: Options, open: (floodPath: string) => Promise<Target>): Promise<IsolationComparison> => {
  const quiet = await runPhase(options, 'quiet', await open(HANGING_PATH));
  const flooded = await runPhase(options, 'flooded', await open(HANGING_PATH));
  const control = await runPhase(options, 'control', await open(HEALTHY_FLOOD_PATH));
  const ratio = (phase: IsolationPhase, percentile: 'p95' | 'p99') => round(phase.latencyMs[percentile] / quiet.latencyMs[percentile], 2);
  return {
    quiet,
    flooded,
    control,
    p95Ratio: ratio(flooded, 'p95'),
    p99Ratio: ratio(flooded, 'p99'),
    controlP95Ratio: ratio(control, 'p95'),
    controlP99Ratio: ratio(control, 'p99'),
  };
};

/** The sink's path that reads each request and never answers, and the one that answers at once (the control). */
const HANGING_PATH = '/hang/flood';
const HEALTHY_FLOOD_PATH = '/hook/flood';

/** `npm start`'s entry point on a fresh data folder; the webhooks made through its API, events through PutEvents. */
const openLocalMode = async (floodPath: string): Promise<Target> => {
  const sink = await startChild('sink');
  const platform = await startPlatform({
    DEV_API_KEY: 'unused',
    DEV_TENANTS: `victim:${VICTIM_KEY},flood:${FLOOD_KEY}`,
    EVENT_SOURCES: SOURCE,
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
  const events = new EventBridgeClient({ region: 'us-east-1', endpoint: platform.url, credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  const sinkUrl = await sink.call<string>('url');
  const webhookIds = new Map<string, string>();
  for (const [key, path] of [
    [VICTIM_KEY, '/hook/victim'],
    [FLOOD_KEY, floodPath],
  ] as const) {
    const created = await fetch(`${platform.url}/v1/webhooks`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${sinkUrl}${path}`, events: [EVENT_TYPE] }),
    });
    if (created.status !== 201) throw new Error(`could not create a webhook: ${created.status} ${await created.text()}`);
    webhookIds.set(key, ((await created.json()) as { id: string }).id);
  }
  let sequence = 0;
  return {
    sink,
    publish: async (tenantId, count) => {
      const at = epochMs();
      const ids = Array.from({ length: count }, () => `${tenantId}-${(sequence += 1)}`);
      const entries: PutEventsRequestEntry[] = ids.map((id) => ({
        Source: SOURCE,
        DetailType: EVENT_TYPE,
        Detail: JSON.stringify({ tenantId, id, data: exampleData() }),
      }));
      await events.send(new PutEventsCommand({ Entries: entries }));
      return ids.map((id) => [id, at]);
    },
    victimSlowLaneUntil: async () => {
      const victim = await fetch(`${platform.url}/v1/webhooks/${webhookIds.get(VICTIM_KEY)}`, { headers: { 'x-api-key': VICTIM_KEY } });
      return ((await victim.json()) as { health: { slowLaneUntil?: string } }).health.slowLaneUntil;
    },
    stop: async () => {
      events.destroy();
      await platform.stop();
      await sink.stop();
    },
  };
};

/** The assembled pipeline (processes/pipeline.ts) on fresh storage; events put on the events queue as EventBridge does. */
const openPipeline = async (floodPath: string): Promise<Target> => {
  const services = await startServices();
  const pipeline = await startChild('pipeline', services.environment);
  const ids = await pipeline.call<Record<string, string>>('lanesStart', {
    urls: { victim: `${services.sinkUrl}/hook/victim`, flood: `${services.sinkUrl}${floodPath}` },
  });
  return {
    sink: services.sink,
    publish: (tenantId, count) => pipeline.call<[string, number][]>('lanesPublish', { tenantId, count }),
    victimSlowLaneUntil: async () => (await pipeline.call<string | null>('lanesWebhook', { tenantId: 'victim', id: ids.victim })) ?? undefined,
    stop: async () => {
      await pipeline.call('lanesStop');
      await pipeline.stop();
      await services.stop();
    },
  };
};

const runPhase = async (options: Options, kind: PhaseKind, target: Target): Promise<IsolationPhase> => {
  const flood = kind !== 'quiet';
  const { sink } = target;
  try {
    const publishedAt = new Map<string, number>();
    const publisher = (tenantId: 'victim' | 'flood', record: boolean) => async (count: number) => {
      const published = await target.publish(tenantId, count);
      if (record) for (const [id, at] of published) publishedAt.set(id, at);
    };
    const arrived = new Map<string, number>();
    let repeats = 0;
    const collect = async () => {
      for (const [id, at] of await sink.call<[string, number][]>('arrivals')) {
        if (!arrived.has(id)) arrived.set(id, at);
        else if (publishedAt.has(id)) repeats += 1;
      }
    };

    // Warm-up, then the measured window: the victim alone, or with the flood beside it.
    await sink.call('record', true);
    await publisher('victim', false)(10);
    await sleep(2000);
    await collect();
    arrived.clear();
    const attemptsBefore = await sink.call<number>('count');
    const windowStart = epochMs();
    const [victim, flooded] = await Promise.all([
      paced(options.victimRate, options.seconds, publisher('victim', true)),
      flood ? paced(options.floodRate, options.seconds, publisher('flood', false)) : Promise.resolve({ issued: 0, elapsed: 0 }),
    ]);
    const deadline = performance.now() + options.drainSeconds * 1000;
    for (;;) {
      await collect();
      if ([...publishedAt.keys()].every((id) => arrived.has(id)) || performance.now() > deadline) break;
      await sleep(100);
    }
    const receivedTotal = (await sink.call<number>('count')) - attemptsBefore;
    const slowLaneUntil = await target.victimSlowLaneUntil();
    const latencyOf = (from: number) =>
      [...publishedAt].flatMap(([id, sentAt]) => {
        const at = arrived.get(id);
        return at === undefined || sentAt < from ? [] : [at - sentAt];
      });
    const latencies = latencyOf(0);
    const afterOnset = latencyOf(windowStart + ONSET_SECONDS * 1000);
    return {
      kind,
      victimPublished: victim.issued,
      victimDelivered: latencies.length,
      floodPublished: flooded.issued,
      floodAttempts: receivedTotal - latencies.length - repeats,
      victimRepeats: repeats,
      victimInSlowLane: slowLaneUntil !== undefined && Date.parse(slowLaneUntil) > Date.now(),
      latencyMs: {
        p50: round(percentile(latencies, 50), 1),
        p95: round(percentile(latencies, 95), 1),
        p99: round(percentile(latencies, 99), 1),
        max: round(latencies.length ? Math.max(...latencies) : Number.NaN, 1),
      },
      afterOnsetMs: { p95: round(percentile(afterOnset, 95), 1), p99: round(percentile(afterOnset, 99), 1) },
    };
  } finally {
    await target.stop();
  }
};

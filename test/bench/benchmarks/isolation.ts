import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { startChild } from '../lib/child.js';
import { EVENT_TYPE, exampleData } from '../lib/fixtures.js';
import { startPlatform } from '../lib/platform-process.js';
import { epochMs, percentile, round, sleep } from '../lib/stats.js';
import { paced } from './e2e.js';

const SOURCE = 'bench.shop';
const VICTIM_KEY = 'bench-victim-key';
const FLOOD_KEY = 'bench-flood-key';
/** As the issue measured it: a zombie endpoint costs a worker this long per attempt. */
const REQUEST_TIMEOUT_MS = 3000;
const ONSET_SECONDS = 5;

export interface IsolationPhase {
  readonly flooded: boolean;
  readonly victimPublished: number;
  readonly victimDelivered: number;
  readonly floodPublished: number;
  /** POSTs the hanging endpoint received: attempts, probes included. */
  readonly floodAttempts: number;
  /** Victim deliveries received more than once (a request the shared lane abandoned at its deadline, made again). */
  readonly victimRepeats: number;
  /** Whether the victim's endpoint was in the slow lane at the end (health.slowLaneUntil in the future). */
  readonly victimInSlowLane: boolean;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  /**
   * The same for the victim's events published from ONSET_SECONDS into the window on: past the flood's onset, when
   * its first requests were still in flight in the shared lane (see BENCHMARKS.md).
   */
  readonly afterOnsetMs: { readonly p95: number; readonly p99: number };
}

export interface IsolationResult {
  readonly victimRate: number;
  readonly floodRate: number;
  readonly seconds: number;
  readonly requestTimeoutMs: number;
  readonly quiet: IsolationPhase;
  readonly flooded: IsolationPhase;
  readonly p95Ratio: number;
  readonly p99Ratio: number;
}

/**
 * Benchmark 8: isolation. Tenant `victim` publishes at `victimRate` to a healthy receiver through `npm start`'s
 * entry point; publish → receive latency, alone and while tenant `flood` publishes at `floodRate` to an endpoint
 * that reads each request and never answers. Each phase runs on a fresh platform and data folder.
 */
export const runIsolation = async (options: { victimRate: number; floodRate: number; seconds: number; drainSeconds: number }) => {
  const quiet = await runPhase(options, false);
  const flooded = await runPhase(options, true);
  return {
    ...options,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    quiet,
    flooded,
    p95Ratio: round(flooded.latencyMs.p95 / quiet.latencyMs.p95, 2),
    p99Ratio: round(flooded.latencyMs.p99 / quiet.latencyMs.p99, 2),
  };
};

const runPhase = async (
  options: { victimRate: number; floodRate: number; seconds: number; drainSeconds: number },
  flood: boolean,
): Promise<IsolationPhase> => {
  const sink = await startChild('sink');
  const platform = await startPlatform({
    DEV_API_KEY: 'unused',
    DEV_TENANTS: `victim:${VICTIM_KEY},flood:${FLOOD_KEY}`,
    EVENT_SOURCES: SOURCE,
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
  const events = new EventBridgeClient({ region: 'us-east-1', endpoint: platform.url, credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  try {
    const sinkUrl = await sink.call<string>('url');
    const webhookIds = new Map<string, string>();
    for (const [key, path] of [
      [VICTIM_KEY, '/hook/victim'],
      [FLOOD_KEY, '/hang/flood'],
    ] as const) {
      const created = await fetch(`${platform.url}/v1/webhooks`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${sinkUrl}${path}`, events: [EVENT_TYPE] }),
      });
      if (created.status !== 201) throw new Error(`could not create a webhook: ${created.status} ${await created.text()}`);
      webhookIds.set(key, ((await created.json()) as { id: string }).id);
    }
    const publishedAt = new Map<string, number>();
    let sequence = 0;
    const publisher = (tenantId: string, record: boolean) => async (count: number) => {
      const entries: PutEventsRequestEntry[] = [];
      const at = epochMs();
      for (let index = 0; index < count; index += 1) {
        const id = `${tenantId}-${(sequence += 1)}`;
        if (record) publishedAt.set(id, at);
        entries.push({ Source: SOURCE, DetailType: EVENT_TYPE, Detail: JSON.stringify({ tenantId, id, data: exampleData() }) });
      }
      await events.send(new PutEventsCommand({ Entries: entries }));
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
    const victim_ = await fetch(`${platform.url}/v1/webhooks/${webhookIds.get(VICTIM_KEY)}`, { headers: { 'x-api-key': VICTIM_KEY } });
    const { health } = (await victim_.json()) as { health: { slowLaneUntil?: string } };
    const latencies = [...publishedAt].flatMap(([id, sentAt]) => {
      const at = arrived.get(id);
      return at === undefined ? [] : [at - sentAt];
    });
    const afterOnset = [...publishedAt].flatMap(([id, sentAt]) => {
      const at = arrived.get(id);
      return at === undefined || sentAt < windowStart + ONSET_SECONDS * 1000 ? [] : [at - sentAt];
    });
    return {
      flooded: flood,
      victimPublished: victim.issued,
      victimDelivered: latencies.length,
      floodPublished: flooded.issued,
      floodAttempts: receivedTotal - latencies.length - repeats,
      victimRepeats: repeats,
      victimInSlowLane: health.slowLaneUntil !== undefined && Date.parse(health.slowLaneUntil) > Date.now(),
      latencyMs: {
        p50: round(percentile(latencies, 50), 1),
        p95: round(percentile(latencies, 95), 1),
        p99: round(percentile(latencies, 99), 1),
        max: round(latencies.length ? Math.max(...latencies) : Number.NaN, 1),
      },
      afterOnsetMs: { p95: round(percentile(afterOnset, 95), 1), p99: round(percentile(afterOnset, 99), 1) },
    };
  } finally {
    events.destroy();
    await platform.stop();
    await sink.stop();
  }
};

import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { Agent } from 'undici';
import { startChild } from '../lib/child.js';
import { EVENT_TYPE, exampleData } from '../lib/fixtures.js';
import { startPlatform } from '../lib/platform-process.js';
import { epochMs, latencySummary, type LatencySummary, round, sleep } from '../lib/stats.js';

const KEY = 'bench-e2e-key';
const SOURCE = 'bench.shop';
const MAX_IN_FLIGHT = 64;

export const E2E_PLATFORMS = {
  npmStart: { script: 'local/server.ts', description: '`npm start` entry (local/server.ts), data persisted in a temporary DATA_DIR' },
  inMemory: {
    script: 'test/bench/processes/platform-memory.ts',
    description: 'startLocalPlatform without a data folder (same handlers and embedded services, nothing written to disk)',
  },
} as const;
export type E2ePlatform = keyof typeof E2E_PLATFORMS;

export interface E2eRow {
  readonly platform: E2ePlatform;
  readonly targetRate: number;
  readonly seconds: number;
  readonly published: number;
  readonly publishRate: number;
  readonly publishFailures: number;
  readonly delivered: number;
  /** Deliveries that arrived during the publishing window, per second. */
  readonly deliveredRateInWindow: number;
  /** Published but not yet received when publishing stopped. */
  readonly backlogAtWindowEnd: number;
  /** How long after publishing stopped the last delivery arrived (or the drain gave up). */
  readonly drainMs: number;
  readonly latencyMs: LatencySummary;
  readonly sustained: boolean;
  readonly baseline: { readonly seconds: number; readonly sent: number; readonly latencyMs: LatencySummary };
  readonly platformCpuSeconds?: number;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
export const processCpuSeconds = (pid: number): number | undefined => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
};

/**
 * Paces `send(count)` at `rate` per second for `seconds`, in 10 ms ticks (up to 10 per call), with at most
 * MAX_IN_FLIGHT calls outstanding: when the target falls behind, the achieved rate shows it.
 */
export const paced = async (rate: number, seconds: number, send: (count: number) => Promise<void>) => {
  const started = performance.now();
  const end = started + seconds * 1000;
  const total = Math.round(rate * seconds);
  let issued = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  while (performance.now() < end && issued < total) {
    const due = Math.min(total, Math.ceil(((performance.now() - started) / 1000) * rate)) - issued;
    for (let left = due; left > 0 && inFlight < MAX_IN_FLIGHT; ) {
      const count = Math.min(10, left);
      left -= count;
      issued += count;
      inFlight += 1;
      const call = send(count).finally(() => {
        inFlight -= 1;
        pending.delete(call);
      });
      pending.add(call);
    }
    await sleep(10);
  }
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(pending);
  return { issued, elapsed };
};

/**
 * Benchmark 6: publish → received through `npm start`'s entry point (a child process: PutEvents, routing, the
 * events queue, the router, the delivery queue, the worker), to a receiver in another process, at a sustained
 * rate; next to a bare POST from the publisher to the same receiver at the same rate (the loopback floor).
 */
export const runEndToEnd = async (options: {
  platform: E2ePlatform;
  rates: readonly number[];
  seconds: number;
  baselineSeconds: number;
  drainSeconds: number;
}): Promise<E2eRow[]> => {
  const rows: E2eRow[] = [];
  // A fresh platform, receiver and data folder per rate: a backlog left by one rate must not slow the next.
  for (const rate of options.rates) rows.push(await runRate(options, rate));
  return rows;
};

const runRate = async (
  options: { platform: E2ePlatform; seconds: number; baselineSeconds: number; drainSeconds: number },
  rate: number,
): Promise<E2eRow> => {
  const sink = await startChild('sink');
  const platform = await startPlatform({ DEV_API_KEY: KEY, EVENT_SOURCES: SOURCE }, E2E_PLATFORMS[options.platform].script);
  const events = new EventBridgeClient({
    region: 'us-east-1',
    endpoint: platform.url,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const agent = new Agent();
  try {
    const sinkUrl = await sink.call<string>('url');
    const created = await fetch(`${platform.url}/v1/webhooks`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${sinkUrl}/hook/e2e`, events: [EVENT_TYPE] }),
    });
    if (created.status !== 201) throw new Error(`could not create the webhook: ${created.status} ${await created.text()}`);

    let sequence = 0;
    const publishedAt = new Map<string, number>();
    let publishFailures = 0;
    const publish = async (count: number) => {
      const entries: PutEventsRequestEntry[] = [];
      const at = epochMs();
      for (let index = 0; index < count; index += 1) {
        const id = `e2e-${(sequence += 1)}`;
        publishedAt.set(id, at);
        entries.push({ Source: SOURCE, DetailType: EVENT_TYPE, Detail: JSON.stringify({ tenantId: 'dev', id, data: exampleData() }) });
      }
      try {
        const result = await events.send(new PutEventsCommand({ Entries: entries }));
        publishFailures += result.FailedEntryCount ?? 0;
      } catch {
        publishFailures += count;
      }
    };
    const arrived = new Map<string, number>();
    const collect = async () => {
      for (const [id, at] of await sink.call<[string, number][]>('arrivals')) if (!arrived.has(id)) arrived.set(id, at);
    };
    const waitFor = async (ids: () => string[], timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        await collect();
        if (ids().every((id) => arrived.has(id)) || performance.now() > deadline) return;
        await sleep(100);
      }
    };

    // Warm-up: the first deliveries open connections and warm the platform's code paths.
    await sink.call('record', true);
    publishedAt.clear();
    await publish(10);
    await waitFor(() => [...publishedAt.keys()], 30_000);

    publishedAt.clear();
    arrived.clear();
    publishFailures = 0;
    await sink.call('arrivals');
    const cpuBefore = processCpuSeconds(platform.pid);
    const windowStart = epochMs();
    const { issued, elapsed } = await paced(rate, options.seconds, publish);
    const windowEnd = epochMs();
    await collect();
    const backlogAtWindowEnd = [...publishedAt.keys()].filter((id) => !arrived.has(id)).length;
    await waitFor(() => [...publishedAt.keys()], options.drainSeconds * 1000);
    const cpuAfter = processCpuSeconds(platform.pid);
    const latencies: number[] = [];
    let lastArrival = windowEnd;
    let inWindow = 0;
    for (const [id, sentAt] of publishedAt) {
      const at = arrived.get(id);
      if (at === undefined) continue;
      latencies.push(at - sentAt);
      lastArrival = Math.max(lastArrival, at);
      if (at <= windowEnd) inWindow += 1;
    }
    const published = issued - publishFailures;
    // Pacing stops once every event of the window is issued, a tick before the window's nominal end.
    const publishRate = published / Math.max(elapsed, options.seconds);

    // The floor: the publisher POSTs straight to the receiver, same pacing, same receiver process.
    const baselineSent = new Map<string, number>();
    let baselineSequence = 0;
    const origin = new URL(sinkUrl).origin;
    const post = async (count: number) => {
      await Promise.all(
        Array.from({ length: count }, async () => {
          const id = `base-${rate}-${(baselineSequence += 1)}`;
          baselineSent.set(id, epochMs());
          const response = await agent.request({
            origin,
            path: '/hook/baseline',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'webhook-id': id },
            body: JSON.stringify({ id, type: EVENT_TYPE, timestamp: new Date().toISOString(), data: exampleData() }),
          });
          await response.body.text();
        }),
      );
    };
    await paced(rate, options.baselineSeconds, post);
    await waitFor(() => [...baselineSent.keys()], 10_000);
    const baselineLatencies = [...baselineSent].flatMap(([id, sentAt]) => {
      const at = arrived.get(id);
      return at === undefined ? [] : [at - sentAt];
    });

    return {
      platform: options.platform,
      targetRate: rate,
      seconds: options.seconds,
      published,
      publishRate: round(publishRate, 1),
      publishFailures,
      delivered: latencies.length,
      deliveredRateInWindow: round(inWindow / ((windowEnd - windowStart) / 1000), 1),
      backlogAtWindowEnd,
      drainMs: round(lastArrival - windowEnd, 0),
      latencyMs: latencySummary(latencies),
      sustained:
        publishRate >= 0.95 * rate &&
        latencies.length === published &&
        backlogAtWindowEnd <= Math.max(rate, published * 0.01),
      baseline: { seconds: options.baselineSeconds, sent: baselineSent.size, latencyMs: latencySummary(baselineLatencies) },
      ...(cpuBefore !== undefined && cpuAfter !== undefined && { platformCpuSeconds: round(cpuAfter - cpuBefore, 1) }),
    };
  } finally {
    events.destroy();
    await agent.close();
    await platform.stop();
    await sink.stop();
  }
};

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { startChild } from '../lib/child.js';
import { EVENT_TYPE, exampleData } from '../lib/fixtures.js';
import { startPlatform } from '../lib/platform-process.js';
import { round, sleep } from '../lib/stats.js';

const KEY = 'bench-crash-key';
const SOURCE = 'bench.shop';
const PATHS = ['/hook/crash-a', '/hook/crash-b', '/hook/crash-c'] as const;
/** Local mode's delivery queue hides a received job this long: a crash mid-attempt brings it back after it. */
const LOCAL_VISIBILITY_TIMEOUT_SECONDS = 120;

export interface CrashResult {
  readonly events: number;
  readonly webhooks: number;
  readonly crashes: number;
  /** PutEvents calls the producer repeated, same ids, because the platform was down or died mid-call. */
  readonly republishedCalls: number;
  readonly pairs: number;
  /** (event, webhook) pairs never received. */
  readonly lost: number;
  /** Pairs received under two delivery ids or more. */
  readonly underTwoDeliveryIds: number;
  /** Pairs whose one delivery was received more than once: a crash between the receiver's 2xx and the record. */
  readonly repeatedDeliveries: number;
  readonly extraPosts: number;
  readonly drainSeconds: number;
}

/**
 * Benchmark 9: the crash-restart ledger. `npm start`'s entry point with three webhooks; a producer publishes
 * `events` ids (ten per call) and repeats any call that failed, as a producer does; the platform is killed (-9)
 * `crashes` times while it publishes and restarted on the same data folder each time. Afterwards every
 * (event, webhook) pair must arrive: none lost, none under two delivery ids; repeats of one delivery are counted.
 */
export const runCrashLedger = async (options: { events: number; crashes: number; drainSeconds: number }): Promise<CrashResult> => {
  const sink = await startChild('sink');
  let platform = await startPlatform({ DEV_API_KEY: KEY, EVENT_SOURCES: SOURCE });
  const dataDir = platform.dataDir;
  const clientFor = (url: string) =>
    new EventBridgeClient({ region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'b', secretAccessKey: 'b' }, maxAttempts: 1 });
  let events = clientFor(platform.url);
  const ledger: [string, string, string][] = [];
  try {
    const sinkUrl = await sink.call<string>('url');
    for (const path of PATHS) {
      const created = await fetch(`${platform.url}/v1/webhooks`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${sinkUrl}${path}`, events: [EVENT_TYPE] }),
      });
      if (created.status !== 201) throw new Error(`could not create a webhook: ${created.status} ${await created.text()}`);
    }
    await sink.call('record', true);

    const ids = Array.from({ length: options.events }, (_, index) => `crash-${index}`);
    // Crash points spread over the publishing, at call boundaries (ten ids per call).
    const crashAfter = new Set(
      Array.from({ length: options.crashes }, (_, index) => Math.floor(((index + 1) * ids.length) / (options.crashes + 1) / 10) * 10),
    );
    let republishedCalls = 0;
    let lastCrashAt = performance.now();
    for (let first = 0; first < ids.length; first += 10) {
      const entries = ids.slice(first, first + 10).map((id) => ({
        Source: SOURCE,
        DetailType: EVENT_TYPE,
        Detail: JSON.stringify({ tenantId: 'dev', id, data: exampleData() }),
      }));
      const send = () => events.send(new PutEventsCommand({ Entries: entries })).catch(() => undefined);
      const call = send();
      if (crashAfter.has(first)) {
        // Killed with this call in flight: it may or may not have been accepted, so the producer repeats it.
        await sleep(Math.random() * 20);
        await platform.crash();
        lastCrashAt = performance.now();
        platform = await startPlatform({ DEV_API_KEY: KEY, EVENT_SOURCES: SOURCE }, 'local/server.ts', dataDir);
        events.destroy();
        events = clientFor(platform.url);
      }
      for (let attempt = 0; ; attempt += 1) {
        const result = await (attempt === 0 ? call : send());
        if (result && result.FailedEntryCount === 0) break;
        republishedCalls += 1;
        await sleep(200);
      }
    }

    // Drained once every pair arrived and the last crash is a visibility timeout old: a job that crash caught
    // mid-attempt comes back only then (and is repeated if its receiver had answered).
    const started = performance.now();
    const wanted = ids.length * PATHS.length;
    const deadline = started + options.drainSeconds * 1000;
    const repeatsDueBy = lastCrashAt + (LOCAL_VISIBILITY_TIMEOUT_SECONDS + 10) * 1000;
    const received = () => new Set(ledger.map(([path, eventId]) => `${path} ${eventId}`)).size;
    for (;;) {
      ledger.push(...(await sink.call<[string, string, string][]>('ledger')));
      if ((received() >= wanted && performance.now() >= repeatsDueBy) || performance.now() > deadline) break;
      await sleep(500);
    }
    const drainSeconds = round((performance.now() - started) / 1000, 1);

    const byPair = new Map<string, string[]>();
    for (const [path, eventId, deliveryId] of ledger) {
      const pair = `${path} ${eventId}`;
      byPair.set(pair, [...(byPair.get(pair) ?? []), deliveryId]);
    }
    const pairs = [...byPair.values()];
    return {
      events: ids.length,
      webhooks: PATHS.length,
      crashes: options.crashes,
      republishedCalls,
      pairs: wanted,
      lost: wanted - byPair.size,
      underTwoDeliveryIds: pairs.filter((deliveryIds) => new Set(deliveryIds).size > 1).length,
      repeatedDeliveries: pairs.filter((deliveryIds) => deliveryIds.length > new Set(deliveryIds).size).length,
      extraPosts: ledger.length - byPair.size,
      drainSeconds,
    };
  } finally {
    events.destroy();
    await platform.stop();
    await sink.stop();
  }
};

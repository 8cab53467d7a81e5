import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { startChild } from '../lib/child.js';
import { EVENT_TYPE, exampleData } from '../lib/fixtures.js';
import { startPlatform } from '../lib/platform-process.js';
import { round, sleep } from '../lib/stats.js';

const KEY = 'bench-rate-key';
const SOURCE = 'bench.shop';

export interface RateLimitResult {
  readonly rateLimitPerSecond: number;
  readonly burst: number;
  readonly delivered: number;
  /** The most deliveries that arrived within any 1 s (sliding window), at the receiver. */
  readonly maxInAnySecond: number;
  /** From the first arrival to the last. */
  readonly spanSeconds: number;
  /** The span a perfect limiter needs: (burst - 1) / rate. */
  readonly idealSpanSeconds: number;
}

/**
 * Benchmark 10: a webhook limited to `rateLimitPerSecond` receives a burst of `burst` events published at once
 * through `npm start`'s entry point. Measured at the receiver: every event delivered, and the most arrivals in any
 * sliding one-second window.
 */
export const runRateLimit = async (options: {
  rateLimitPerSecond: number;
  burst: number;
  drainSeconds: number;
}): Promise<RateLimitResult> => {
  const sink = await startChild('sink');
  const platform = await startPlatform({ DEV_API_KEY: KEY, EVENT_SOURCES: SOURCE });
  const events = new EventBridgeClient({ region: 'us-east-1', endpoint: platform.url, credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  try {
    const sinkUrl = await sink.call<string>('url');
    const created = await fetch(`${platform.url}/v1/webhooks`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${sinkUrl}/hook/limited`, events: [EVENT_TYPE], rateLimitPerSecond: options.rateLimitPerSecond }),
    });
    if (created.status !== 201) throw new Error(`could not create the webhook: ${created.status} ${await created.text()}`);
    await sink.call('record', true);

    const ids = Array.from({ length: options.burst }, (_, index) => `rate-${index}`);
    await Promise.all(
      Array.from({ length: Math.ceil(ids.length / 10) }, (_, call) =>
        events.send(
          new PutEventsCommand({
            Entries: ids.slice(call * 10, call * 10 + 10).map((id) => ({
              Source: SOURCE,
              DetailType: EVENT_TYPE,
              Detail: JSON.stringify({ tenantId: 'dev', id, data: exampleData() }),
            })),
          }),
        ),
      ),
    );
    const arrived = new Map<string, number>();
    const deadline = performance.now() + options.drainSeconds * 1000;
    while (arrived.size < ids.length && performance.now() < deadline) {
      for (const [id, at] of await sink.call<[string, number][]>('arrivals')) if (!arrived.has(id)) arrived.set(id, at);
      await sleep(200);
    }
    const times = [...arrived.values()].sort((a, b) => a - b);
    let maxInAnySecond = 0;
    for (let first = 0, last = 0; last < times.length; last += 1) {
      while (times[last]! - times[first]! >= 1000) first += 1;
      maxInAnySecond = Math.max(maxInAnySecond, last - first + 1);
    }
    return {
      rateLimitPerSecond: options.rateLimitPerSecond,
      burst: options.burst,
      delivered: arrived.size,
      maxInAnySecond,
      spanSeconds: round(times.length > 1 ? (times.at(-1)! - times[0]!) / 1000 : 0, 2),
      idealSpanSeconds: round((options.burst - 1) / options.rateLimitPerSecond, 2),
    };
  } finally {
    events.destroy();
    await platform.stop();
    await sink.stop();
  }
};

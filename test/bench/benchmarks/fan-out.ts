import { startChild } from '../lib/child.js';
import type { Services } from '../lib/services.js';

export interface FanOutRow {
  webhooks: number;
  queries: number;
  batchGets: number;
  puts: number;
  dynamoDbCalls: number;
  readUnits: number;
  writeUnits: number;
  sqsSends: number;
  msPerEvent: number;
  msPerWebhook: number;
  samples: number;
}

export interface FanOutResult {
  sizes: number[];
  others: number;
  eventsPerSize: number;
  before: FanOutRow[];
  after: FanOutRow[];
  seedTenantsMs: number;
  seedOthersMs: number;
}

/** Benchmark 5: router requests and time per event as the tenant grows, before and after other tenants grow. */
export const runFanOut = async (
  services: Services,
  options: { sizes: readonly number[]; others: number; eventsPerSize: number },
): Promise<FanOutResult> => {
  const child = await startChild('pipeline', services.environment);
  try {
    return await child.call<FanOutResult>('fanout', options);
  } finally {
    await child.stop();
  }
};

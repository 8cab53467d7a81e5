import type { Bundle } from '../lib/bundles.js';
import { startChild } from '../lib/child.js';
import type { Services } from '../lib/services.js';
import type { LatencySummary } from '../lib/stats.js';

export interface ApiRow {
  readonly operation: string;
  readonly storeCall: string;
  readonly handler: LatencySummary;
  readonly bare: LatencySummary;
  readonly overheadP50Ms: number;
  /** null when the bare call is too fast for a meaningful ratio. */
  readonly ratioP50: number | null;
}

/** Benchmark 3: each API handler in-process against dynalite (another process), next to its bare store call. */
export const runApi = async (
  services: Services,
  bundles: Record<string, Bundle>,
  options: { iterations: number; warmup: number },
): Promise<ApiRow[]> => {
  const child = await startChild('api', services.environment);
  try {
    await child.call('setup', {
      bundles: {
        read: bundles['webhooks-read']!.file,
        write: bundles['webhooks-write']!.file,
        catalogue: bundles.catalogue!.file,
        authorizer: bundles.authorizer!.file,
        bare: bundles.bare!.file,
      },
    });
    const results = await child.call<Record<string, Omit<ApiRow, 'operation'>>>('run', options);
    return Object.entries(results).map(([operation, row]) => ({ operation, ...row }));
  } finally {
    await child.stop();
  }
};

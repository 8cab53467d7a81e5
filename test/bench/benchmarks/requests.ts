import { startChild } from '../lib/child.js';
import { LAMBDA_LOG_ENVIRONMENT } from '../lib/fixtures.js';
import type { Counts } from '../lib/counting.js';
import type { Services } from '../lib/services.js';
import type { LatencySummary } from '../lib/stats.js';

export interface RequestsRow {
  readonly events: number;
  readonly webhooksPerEvent: number;
  readonly deliveries: number;
  readonly sinkReceived: number;
  readonly failedRecords: number;
  readonly routerInvocations: number;
  readonly workerInvocations: number;
  readonly emptyReceivesExcluded: number;
  readonly perDelivery: {
    readonly sqsRequests: number;
    readonly sqsBilledRequests: number;
    readonly sqsRequestsDeliverySide: number;
    readonly sqsRequestsEventsSide: number;
    readonly sqsRequestsRouterSends: number;
    readonly dynamoDbCalls: number;
    readonly readUnits: number;
    readonly writeUnits: number;
    readonly readUnitsWorker: number;
    readonly writeUnitsWorker: number;
    readonly readUnitsRouter: number;
    readonly writeUnitsRouter: number;
    readonly eventBridgeEntries: number;
    readonly lambdaInvocations: number;
    readonly logBytesRouter: number;
    readonly logBytesWorker: number;
    readonly logLinesWorker: number;
    readonly byRequest: Record<string, number>;
  };
  readonly routerInvocationMs: LatencySummary;
  readonly workerInvocationMs: LatencySummary;
  readonly counts: Counts;
}

/** Benchmark 4: AWS requests per delivery, counted by an SDK middleware, at 1 and 10 webhooks per event. */
export const runRequests = async (services: Services, options: { events: number; fanOuts: readonly number[] }): Promise<RequestsRow[]> => {
  const child = await startChild('pipeline', { ...services.environment, ...LAMBDA_LOG_ENVIRONMENT });
  try {
    const results: RequestsRow[] = [];
    for (const webhooks of options.fanOuts) {
      const sinkBefore = await services.sink.call<number>('count');
      const result = await child.call<Omit<RequestsRow, 'sinkReceived'>>('requests', {
        events: options.events,
        webhooks,
        sinkUrl: services.sinkUrl,
      });
      const received = (await services.sink.call<number>('count')) - sinkBefore;
      if (received !== result.deliveries || received !== options.events * webhooks) {
        throw new Error(`expected ${options.events * webhooks} deliveries, the worker made ${result.deliveries}, the sink got ${received}`);
      }
      results.push({ ...result, sinkReceived: received });
    }
    return results;
  } finally {
    await child.stop();
  }
};

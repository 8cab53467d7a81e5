import { type BenchChild, startChild } from './child.js';
import { functionEnvironment, type StorageEndpoints } from './storage.js';

/** The shared out-of-process services: dynalite + embedded SQS, and the HTTP sink. */
export interface Services {
  readonly storage: BenchChild;
  readonly endpoints: StorageEndpoints;
  readonly sink: BenchChild;
  readonly sinkUrl: string;
  /** The pipeline functions' environment pointed at the storage process, plus the events queue URL. */
  readonly environment: Record<string, string>;
  stop(): Promise<void>;
}

export const startServices = async (): Promise<Services> => {
  const storage = await startChild('storage');
  const sink = await startChild('sink');
  const endpoints = await storage.call<StorageEndpoints>('endpoints');
  const sinkUrl = await sink.call<string>('url');
  return {
    storage,
    endpoints,
    sink,
    sinkUrl,
    environment: { ...functionEnvironment(endpoints), EVENTS_QUEUE_URL: endpoints.queueUrls.events },
    stop: async () => {
      await Promise.all([storage.stop(), sink.stop()]);
    },
  };
};

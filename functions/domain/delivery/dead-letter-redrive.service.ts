import type { DeliveryJob } from '../../contracts/delivery.schema.js';
import type { DeliveryJobQueue, DeliveryRepository } from './delivery.ports.js';

/** A message on the delivery DLQ: a delivery that failed every attempt, or a job the worker could not process. */
export interface DeadLetterEntry {
  readonly messageId: string;
  readonly kind: 'delivery_exhausted' | 'unprocessed_job';
  readonly job: DeliveryJob;
  readonly deadLetteredAt: string;
  readonly lastError?: string;
  readonly attempts?: number;
}

/** Reads the DLQ without losing anything: entries are hidden while held, then released or deleted. */
export interface DeadLetterSource {
  /** Every entry currently on the queue, each hidden until released or deleted. */
  holdAll(): Promise<DeadLetterEntry[]>;
  release(entries: readonly DeadLetterEntry[]): Promise<void>;
  remove(entries: readonly DeadLetterEntry[]): Promise<void>;
}

export interface DeadLetterFilter {
  readonly webhookId?: string;
  /** Only entries dead-lettered at or after this time. */
  readonly since?: Date;
}

const matches = (entry: DeadLetterEntry, filter: DeadLetterFilter) =>
  (filter.webhookId === undefined || entry.job.webhookId === filter.webhookId) &&
  (filter.since === undefined || Date.parse(entry.deadLetteredAt) >= filter.since.getTime());

/**
 * Operator recovery: lists dead-lettered deliveries and redrives them through the normal path, the same job
 * with the same `webhook-id`, numbered after the attempts already made, with the retry schedule started anew.
 */
export class DeadLetterRedrive {
  constructor(
    private readonly deps: {
      readonly source: DeadLetterSource;
      readonly jobs: DeliveryJobQueue;
      readonly deliveries: Pick<DeliveryRepository, 'get' | 'markPending'>;
    },
  ) {}

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterEntry[]> {
    const held = await this.deps.source.holdAll();
    await this.deps.source.release(held);
    return held.filter((entry) => matches(entry, filter));
  }

  async redrive(
    filter: DeadLetterFilter = {},
    onProgress: (done: number, total: number) => void = () => undefined,
  ): Promise<{ redriven: number; kept: number }> {
    const held = await this.deps.source.holdAll();
    const selected = held.filter((entry) => matches(entry, filter));
    await this.deps.source.release(held.filter((entry) => !matches(entry, filter)));
    let done = 0;
    for (const entry of selected) {
      const key = { tenantId: entry.job.tenantId, webhookId: entry.job.webhookId, deliveryId: entry.job.deliveryId };
      const attemptsMade = (await this.deps.deliveries.get(key))?.attempts.length ?? entry.job.attempt;
      // Onto the shared lane: the worker passes it on to the slow lane if its endpoint is still there.
      const { notBefore: _dueTime, manual: _manual, lane: _lane, sendAt: _slot, ...job } = entry.job;
      await this.deps.jobs.enqueue([{ ...job, attempt: attemptsMade + 1, scheduleOffset: attemptsMade }]);
      await this.deps.deliveries.markPending(key, attemptsMade + 1);
      await this.deps.source.remove([entry]);
      done += 1;
      onProgress(done, selected.length);
    }
    return { redriven: done, kept: held.length - done };
  }
}

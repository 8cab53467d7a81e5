import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueChange, QueueState, StoredMessage } from './queue-engine.js';

/** A journal this much larger than the last snapshot (and at least MIN_COMPACT_BYTES) is folded into a new one. */
const COMPACT_RATIO = 2;
const MIN_COMPACT_BYTES = 4 * 1024 * 1024;

interface Snapshot {
  /** Which journal extends this snapshot: the journal's first line names the same generation. */
  readonly generation: number;
  readonly queues: readonly QueueState[];
}

/**
 * The embedded SQS's state on disk: a snapshot (`queues.json`) and a journal of the changes made since
 * (`queues.journal`, one JSON line per QueueChange). A flush appends the changes of a few milliseconds in one
 * write, so the cost of persisting follows what changed, not how much the queues hold; once the journal outgrows
 * the snapshot, both are folded into a new snapshot. Loading replays the journal on the snapshot.
 *
 * Crash safety (kill -9; the page cache is not flushed to the device, as before): the snapshot is replaced
 * atomically (temporary file + rename); the journal names the snapshot generation it extends, so a crash between
 * a new snapshot and the journal's reset leaves an old journal that is not replayed; a crash during an append can
 * leave only its last line torn, and that line is skipped (its requests were never answered).
 */
export class QueueStore {
  private readonly snapshotFile: string;
  private readonly journalFile: string;
  private generation = 0;
  private journal?: number;
  private journalBytes = 0;
  private snapshotBytes = 0;

  constructor(
    dataDir: string,
    private readonly minCompactBytes = MIN_COMPACT_BYTES,
  ) {
    this.snapshotFile = join(dataDir, 'queues.json');
    this.journalFile = join(dataDir, 'queues.journal');
  }

  /** The state saved: the snapshot with the journal replayed on it. Writes nothing. */
  read(): QueueState[] {
    const snapshot = this.readSnapshot();
    this.generation = snapshot.generation;
    const queues = new Map(snapshot.queues.map((queue) => [queue.name, queue]));
    for (const change of this.readJournal()) apply(queues, change);
    return [...queues.values()];
  }

  /**
   * The state saved, folded at once into a new snapshot, so each run appends to an empty journal of its own (never
   * to an old or torn one).
   */
  load(): QueueState[] {
    const state = this.read();
    this.compact(state);
    return state;
  }

  /** Appends the changes in one write; folds everything into a new snapshot when the journal has grown enough. */
  append(changes: readonly QueueChange[], current: () => readonly QueueState[]): void {
    if (changes.length === 0) return;
    const text = changes.map((change) => `${JSON.stringify(change)}\n`).join('');
    this.journalBytes += writeSync(this.openJournal(), text);
    if (this.journalBytes > Math.max(this.minCompactBytes, COMPACT_RATIO * this.snapshotBytes)) this.compact(current());
  }

  /** Writes the whole state as a new snapshot generation and starts its journal empty. */
  compact(queues: readonly QueueState[]): void {
    this.generation += 1;
    const text = JSON.stringify({ generation: this.generation, queues } satisfies Snapshot);
    const temporary = `${this.snapshotFile}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, this.snapshotFile);
    this.snapshotBytes = Buffer.byteLength(text);
    const journal = this.openJournal();
    ftruncateSync(journal, 0);
    this.journalBytes = writeSync(journal, `${JSON.stringify({ generation: this.generation })}\n`);
  }

  close(): void {
    if (this.journal !== undefined) closeSync(this.journal);
    this.journal = undefined;
  }

  private openJournal(): number {
    this.journal ??= openSync(this.journalFile, 'a');
    return this.journal;
  }

  private readSnapshot(): Snapshot {
    if (!existsSync(this.snapshotFile)) return { generation: 0, queues: [] };
    const saved = JSON.parse(readFileSync(this.snapshotFile, 'utf8')) as Snapshot | QueueState[];
    // A data folder from before the journal holds the queues alone.
    return Array.isArray(saved) ? { generation: 0, queues: saved } : saved;
  }

  /** The journal's changes when it extends the snapshot loaded; none when it is absent or from an older snapshot. */
  private readJournal(): QueueChange[] {
    if (!existsSync(this.journalFile)) return [];
    const [header = '', ...lines] = readFileSync(this.journalFile, 'utf8').split('\n');
    if (parsed<{ generation?: number }>(header)?.generation !== this.generation) return [];
    const changes: QueueChange[] = [];
    lines.forEach((line, index) => {
      if (line === '') return;
      const change = parsed<QueueChange>(line);
      if (change) changes.push(change);
      // Only the last line can be torn, by a crash during its append (unanswered); any other is damage.
      else if (lines.slice(index + 1).some((later) => later !== '')) throw new Error(`${this.journalFile}: line ${index + 2} is not JSON`);
    });
    return changes;
  }
}

const parsed = <T>(line: string): T | undefined => {
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
};

const apply = (queues: Map<string, QueueState>, change: QueueChange): void => {
  if ('settings' in change) {
    const existing = queues.get(change.queue);
    if (existing) existing.settings = change.settings;
    else queues.set(change.queue, { name: change.queue, createdAt: change.createdAt, settings: change.settings, messages: [] });
    return;
  }
  const queue = queues.get(change.queue);
  if (!queue) throw new Error(`The SQS journal changes queue ${change.queue}, which it never created`);
  if ('purged' in change) queue.messages = [];
  else if ('removed' in change) queue.messages = queue.messages.filter((message) => message.messageId !== change.removed);
  else upsert(queue.messages, change.message);
};

const upsert = (messages: StoredMessage[], message: StoredMessage): void => {
  const index = messages.findIndex((candidate) => candidate.messageId === message.messageId);
  if (index === -1) messages.push(message);
  else messages[index] = message;
};

import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueEngine, type QueueState } from '../../local/embedded-sqs/queue-engine.js';
import { QueueStore } from '../../local/embedded-sqs/queue-store.js';

/** The embedded SQS's persistence: a snapshot and a journal of changes, on a real temporary folder. */
let dataDir: string;
let now = Date.UTC(2026, 0, 1);
const clock = () => now;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'queue-store-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** An engine on the store's loaded state whose every step is journalled, as EmbeddedSqs saves. */
const journalled = (store = new QueueStore(dataDir)) => {
  const engine = new QueueEngine(clock, store.load());
  const step = <T>(change: () => T): T => {
    const result = change();
    store.append(engine.takeChanges(), () => engine.snapshot());
    return result;
  };
  return { engine, store, step };
};

const asSaved = (queues: readonly QueueState[]) => JSON.parse(JSON.stringify(queues)) as QueueState[];

it('gives back the engine’s state from the journal: sends, receives, visibility, deletes, dead letters, purges, settings', () => {
  const { engine, store, step } = journalled();
  step(() => engine.createQueue('dlq'));
  step(() => engine.createQueue('jobs', { visibilityTimeout: 10, redrive: { deadLetterQueueName: 'dlq', maxReceiveCount: 1 } }));
  step(() => engine.createQueue('scratch'));
  const [kept, deleted] = ['kept', 'deleted', 'dead'].map((body) => step(() => engine.send('jobs', body)));
  step(() => engine.send('scratch', 'purged'));
  step(() => engine.send('jobs', 'delayed', { delaySeconds: 60, messageAttributes: { kind: { DataType: 'String', StringValue: 'x' } } }));
  const received = step(() => engine.receive('jobs', { max: 3 }));
  const handleOf = (id: string) => received.find((message) => message.MessageId === id)!.ReceiptHandle;
  step(() => engine.delete('jobs', handleOf(deleted!.messageId)));
  step(() => engine.changeVisibility('jobs', handleOf(kept!.messageId), 0));
  now += 11_000;
  step(() => engine.receive('jobs', { max: 10 })); // both left were received once already: they move to the dead letters
  step(() => engine.purge('scratch'));
  step(() => engine.createQueue('jobs', { visibilityTimeout: 20 }));
  store.close();

  const saved = new QueueStore(dataDir).read();

  expect(saved).toEqual(asSaved(engine.snapshot()));
  const queue = (name: string) => saved.find((candidate) => candidate.name === name)!;
  expect(queue('dlq').messages.map((message) => [message.body, message.receiveCount])).toEqual([
    ['kept', 1],
    ['dead', 1],
  ]);
  expect(queue('jobs').messages.map((message) => [message.body, message.messageAttributes])).toEqual([
    ['delayed', { kind: { DataType: 'String', StringValue: 'x' } }],
  ]);
  expect(queue('scratch').messages).toEqual([]);
  expect(queue('jobs').settings).toMatchObject({ visibilityTimeout: 20, redrive: { deadLetterQueueName: 'dlq', maxReceiveCount: 1 } });
});

it('costs an append per change, not a copy of the whole state', () => {
  const { engine, step } = journalled();
  step(() => engine.createQueue('jobs'));
  for (let index = 0; index < 200; index += 1) step(() => engine.send('jobs', `message ${index} ${'x'.repeat(500)}`));
  const snapshotBytes = statSync(join(dataDir, 'queues.json')).size;
  const journalBefore = statSync(join(dataDir, 'queues.journal')).size;

  step(() => engine.send('jobs', 'one more'));

  const appended = statSync(join(dataDir, 'queues.journal')).size - journalBefore;
  expect(appended).toBeLessThan(500);
  expect(statSync(join(dataDir, 'queues.json')).size).toBe(snapshotBytes);
});

it('folds a journal grown past the snapshot into a new snapshot, and starts each run on an empty journal', () => {
  const store = new QueueStore(dataDir, 10_000);
  const { engine, step } = journalled(store);
  step(() => engine.createQueue('jobs'));
  for (let index = 0; index < 100; index += 1) {
    step(() => engine.send('jobs', `message ${index} ${'x'.repeat(200)}`));
    if (index % 2 === 1) {
      const [oldest] = step(() => engine.receive('jobs'));
      step(() => engine.delete('jobs', oldest!.ReceiptHandle));
    }
  }

  // Folded on the way: the snapshot holds messages, and the journal stays within twice its size (one step over).
  const snapshot = readFileSync(join(dataDir, 'queues.json'), 'utf8');
  expect((JSON.parse(snapshot) as { queues: QueueState[] }).queues[0]!.messages.length).toBeGreaterThan(0);
  expect(statSync(join(dataDir, 'queues.journal')).size).toBeLessThan(Math.max(10_000, 2 * snapshot.length) + 1_000);
  expect(new QueueStore(dataDir).read()).toEqual(asSaved(engine.snapshot()));
  store.close();

  const restarted = new QueueStore(dataDir);
  expect(restarted.load()).toEqual(asSaved(engine.snapshot()));
  expect(readFileSync(join(dataDir, 'queues.journal'), 'utf8').trim().split('\n')).toHaveLength(1); // the header alone
  restarted.close();
});

it('skips a last line torn by a crash, whose request was never answered', () => {
  const { engine, store, step } = journalled();
  step(() => engine.createQueue('jobs'));
  step(() => engine.send('jobs', 'answered'));
  store.close();
  appendFileSync(join(dataDir, 'queues.journal'), '{"queue":"jobs","message":{"messageId":"torn","bo');

  const saved = new QueueStore(dataDir).read();

  expect(saved[0]!.messages.map((message) => message.body)).toEqual(['answered']);
});

it('refuses a journal damaged before its last line rather than lose what follows', () => {
  const { engine, store, step } = journalled();
  step(() => engine.createQueue('jobs'));
  store.close();
  appendFileSync(join(dataDir, 'queues.journal'), 'not json\n{"queue":"jobs","purged":true}\n');

  expect(() => new QueueStore(dataDir).read()).toThrow(/queues\.journal: line 3 is not JSON/);
});

it('does not replay a journal left from before the snapshot (a crash between the new snapshot and the journal’s reset)', () => {
  const { engine, store, step } = journalled();
  step(() => engine.createQueue('jobs'));
  step(() => engine.send('jobs', 'sent before the snapshot'));
  const staleJournal = readFileSync(join(dataDir, 'queues.journal'), 'utf8');
  const received = step(() => engine.receive('jobs'));
  step(() => engine.delete('jobs', received[0]!.ReceiptHandle));
  store.compact(engine.snapshot());
  store.close();
  writeFileSync(join(dataDir, 'queues.journal'), staleJournal); // as if the reset never happened

  expect(new QueueStore(dataDir).read()[0]!.messages).toEqual([]);
});

it('reads a data folder from before the journal: the queues alone in queues.json', () => {
  const legacy = new QueueEngine(clock);
  legacy.createQueue('jobs');
  legacy.send('jobs', 'from an older version');
  writeFileSync(join(dataDir, 'queues.json'), JSON.stringify(legacy.snapshot()));

  const store = new QueueStore(dataDir);
  expect(store.load()[0]!.messages.map((message) => message.body)).toEqual(['from an older version']);
  store.close();
  expect(new QueueStore(dataDir).read()).toEqual(asSaved(legacy.snapshot()));
});

import { createHash } from 'node:crypto';
import {
  MAX_DELAY_SECONDS,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  md5Hex,
  md5OfMessageAttributes,
  QueueEngine,
  QueueError,
  type QueueState,
  type ReceivedMessage,
} from '../../local/embedded-sqs/queue-engine.js';

/** A clock the test moves by hand, so visibility, delay and retention are checked without waiting. */
class FakeClock {
  private current = Date.UTC(2025, 0, 1);
  readonly now = () => this.current;
  advanceSeconds(seconds: number): void {
    this.current += seconds * 1000;
  }
  advanceMs(ms: number): void {
    this.current += ms;
  }
}

const QUEUE = 'work';
const DLQ = 'work-dlq';

const setUp = (settings: Parameters<QueueEngine['createQueue']>[1] = {}) => {
  const clock = new FakeClock();
  const engine = new QueueEngine(clock.now);
  engine.createQueue(QUEUE, settings);
  return { clock, engine };
};

const receiveOne = (engine: QueueEngine, options: { visibilityTimeout?: number } = {}): ReceivedMessage => {
  const [message, ...rest] = engine.receive(QUEUE, options);
  expect(rest).toHaveLength(0);
  if (!message) throw new Error('expected a message to be received');
  return message;
};

const queueErrorOf = (action: () => unknown): QueueError => {
  try {
    action();
  } catch (error) {
    if (error instanceof QueueError) return error;
    throw error;
  }
  throw new Error('expected a QueueError to be thrown');
};

describe('QueueEngine', () => {
  describe('queues', () => {
    it('creates a queue with SQS default settings', () => {
      const { engine } = setUp();

      const { settings } = engine.queue(QUEUE);

      expect(settings).toEqual({ visibilityTimeout: 30, delaySeconds: 0, retentionSeconds: 345_600 });
    });

    it('updates the settings of an existing queue without losing its messages', () => {
      const { engine } = setUp();
      engine.send(QUEUE, 'kept');

      const queue = engine.createQueue(QUEUE, { visibilityTimeout: 60 });

      expect(queue.settings.visibilityTimeout).toBe(60);
      expect(queue.messages.map((message) => message.body)).toEqual(['kept']);
    });

    it('throws QueueDoesNotExist for an unknown queue', () => {
      const { engine } = setUp();

      const error = queueErrorOf(() => engine.send('missing', 'body'));

      expect(error.type).toBe('QueueDoesNotExist');
    });

    it('rejects settings outside the SQS limits', () => {
      const { engine } = setUp();

      expect(queueErrorOf(() => engine.createQueue('q1', { visibilityTimeout: MAX_VISIBILITY_TIMEOUT_SECONDS + 1 })).type).toBe(
        'InvalidParameterValue',
      );
      expect(queueErrorOf(() => engine.createQueue('q2', { delaySeconds: MAX_DELAY_SECONDS + 1 })).type).toBe(
        'InvalidParameterValue',
      );
      expect(queueErrorOf(() => engine.createQueue('q3', { retentionSeconds: 59 })).type).toBe('InvalidParameterValue');
      expect(engine.queueNames()).toEqual([QUEUE]);
    });

    it('rejects a redrive policy whose dead-letter queue does not exist or whose maxReceiveCount is out of range', () => {
      const { engine } = setUp();
      engine.createQueue(DLQ);

      const missingTarget = queueErrorOf(() =>
        engine.createQueue('q1', { redrive: { deadLetterQueueName: 'nowhere', maxReceiveCount: 3 } }),
      );
      const zeroReceives = queueErrorOf(() => engine.createQueue('q2', { redrive: { deadLetterQueueName: DLQ, maxReceiveCount: 0 } }));

      expect(missingTarget.type).toBe('InvalidParameterValue');
      expect(zeroReceives.type).toBe('InvalidParameterValue');
    });

    it('restores queues and their messages from a snapshot', () => {
      const { clock, engine } = setUp();
      engine.send(QUEUE, 'survives');
      const snapshot = JSON.parse(JSON.stringify(engine.snapshot())) as QueueState[];

      const restored = new QueueEngine(clock.now, snapshot);

      expect(receiveOne(restored).Body).toBe('survives');
    });
  });

  describe('send', () => {
    it('returns the message id and the MD5 of the body', () => {
      const { engine } = setUp();

      const message = engine.send(QUEUE, 'héllo');

      expect(message.messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(message.md5OfBody).toBe('be50e8478cf24ff3595bc7307fb91b50'); // MD5 of the UTF-8 bytes, as SQS computes it
    });

    it('rejects an empty body', () => {
      const { engine } = setUp();

      expect(queueErrorOf(() => engine.send(QUEUE, '')).type).toBe('InvalidParameterValue');
    });
  });

  describe('md5OfMessageAttributes', () => {
    // Reference digests published by other SQS implementations, computed as SQS does.
    it('matches the SQS digest for string and number attributes, whatever their order', () => {
      expect(
        md5OfMessageAttributes({
          ordinal: { DataType: 'Number', StringValue: '1' },
          category: { DataType: 'String', StringValue: 'test' },
        }),
      ).toBe('d21ae90c49061e927f57df5f5d72be1f');
      expect(md5OfMessageAttributes({ SellerName: { DataType: 'String', StringValue: 'Example Store' } })).toBe(
        'cd28f3b68aeee4b2eac9c66f2f694b58',
      );
      expect(md5OfMessageAttributes({ timestamp: { DataType: 'Number', StringValue: '1493147359900' } })).toBe(
        '235c5c510d26fb653d073faed50ae77c',
      );
    });

    it('hashes binary attributes by their decoded bytes with the binary transport type', () => {
      const bytes = Buffer.from([0, 1, 254, 255]);
      const lengthPrefixed = (part: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, part.length]), part]);
      const expected = createHash('md5')
        .update(
          Buffer.concat([lengthPrefixed(Buffer.from('raw')), lengthPrefixed(Buffer.from('Binary')), Buffer.from([2]), lengthPrefixed(bytes)]),
        )
        .digest('hex');

      expect(md5OfMessageAttributes({ raw: { DataType: 'Binary', BinaryValue: bytes.toString('base64') } })).toBe(expected);
    });

    it('is undefined without attributes', () => {
      expect(md5OfMessageAttributes({})).toBeUndefined();
    });
  });

  describe('DelaySeconds', () => {
    it('hides a delayed message until its delay is over', () => {
      const { clock, engine } = setUp();
      engine.send(QUEUE, 'later', { delaySeconds: 10 });

      const early = engine.receive(QUEUE);
      clock.advanceMs(9_999);
      const stillEarly = engine.receive(QUEUE);
      clock.advanceMs(1);
      const due = engine.receive(QUEUE);

      expect(early).toEqual([]);
      expect(stillEarly).toEqual([]);
      expect(due.map((message) => message.Body)).toEqual(['later']);
    });

    it('applies the queue default delay when the message sets none', () => {
      const { clock, engine } = setUp({ delaySeconds: 5 });
      engine.send(QUEUE, 'queue-delayed');

      const early = engine.receive(QUEUE);
      clock.advanceSeconds(5);
      const due = engine.receive(QUEUE);

      expect(early).toEqual([]);
      expect(due).toHaveLength(1);
    });

    it('lets a per-message DelaySeconds of 0 override the queue default', () => {
      const { engine } = setUp({ delaySeconds: 60 });
      engine.send(QUEUE, 'now', { delaySeconds: 0 });

      expect(engine.receive(QUEUE)).toHaveLength(1);
    });

    it('accepts the maximum delay of 900 seconds and rejects anything longer, negative or fractional', () => {
      const { engine } = setUp();

      engine.send(QUEUE, 'max', { delaySeconds: MAX_DELAY_SECONDS });

      expect(MAX_DELAY_SECONDS).toBe(900);
      expect(queueErrorOf(() => engine.send(QUEUE, 'too late', { delaySeconds: 901 })).type).toBe('InvalidParameterValue');
      expect(queueErrorOf(() => engine.send(QUEUE, 'negative', { delaySeconds: -1 })).type).toBe('InvalidParameterValue');
      expect(queueErrorOf(() => engine.send(QUEUE, 'fraction', { delaySeconds: 1.5 })).type).toBe('InvalidParameterValue');
      expect(engine.queue(QUEUE).messages.map((message) => message.body)).toEqual(['max']);
    });
  });

  describe('visibility timeout', () => {
    it('hides a received message for the queue visibility timeout, then returns it with ApproximateReceiveCount incremented', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 30 });
      engine.send(QUEUE, 'job');

      const first = receiveOne(engine);
      clock.advanceMs(29_999);
      const duringTimeout = engine.receive(QUEUE);
      clock.advanceMs(1);
      const second = receiveOne(engine);

      expect(first.Attributes.ApproximateReceiveCount).toBe('1');
      expect(duringTimeout).toEqual([]);
      expect(second.MessageId).toBe(first.MessageId);
      expect(second.Attributes.ApproximateReceiveCount).toBe('2');
      expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    });

    it('uses the visibility timeout given on receive instead of the queue default', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 300 });
      engine.send(QUEUE, 'job');

      receiveOne(engine, { visibilityTimeout: 5 });
      clock.advanceSeconds(5);

      expect(receiveOne(engine).Attributes.ApproximateReceiveCount).toBe('2');
    });

    it('keeps ApproximateFirstReceiveTimestamp at the first receive and reports SentTimestamp', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 1 });
      const sentAt = clock.now();
      engine.send(QUEUE, 'job');
      clock.advanceSeconds(2);
      const firstReceivedAt = clock.now();

      receiveOne(engine);
      clock.advanceSeconds(2);
      const again = receiveOne(engine);

      expect(again.Attributes.SentTimestamp).toBe(String(sentAt));
      expect(again.Attributes.ApproximateFirstReceiveTimestamp).toBe(String(firstReceivedAt));
    });

    it('rejects a receive visibility timeout above 43200 seconds', () => {
      const { engine } = setUp();
      engine.send(QUEUE, 'job');

      const error = queueErrorOf(() => engine.receive(QUEUE, { visibilityTimeout: MAX_VISIBILITY_TIMEOUT_SECONDS + 1 }));

      expect(error.type).toBe('InvalidParameterValue');
      expect(engine.counts(QUEUE)).toMatchObject({ visible: 1, inFlight: 0 });
    });
  });

  describe('delete', () => {
    it('removes the message with the receipt handle of its latest receive', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 10 });
      engine.send(QUEUE, 'done');
      const message = receiveOne(engine);

      engine.delete(QUEUE, message.ReceiptHandle);
      clock.advanceSeconds(10);

      expect(engine.receive(QUEUE)).toEqual([]);
      expect(engine.queue(QUEUE).messages).toHaveLength(0);
    });

    it('keeps the message when the receipt handle is stale (from an earlier receive)', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 10 });
      engine.send(QUEUE, 'redelivered');
      const stale = receiveOne(engine);
      clock.advanceSeconds(10);
      const current = receiveOne(engine);

      engine.delete(QUEUE, stale.ReceiptHandle);

      expect(engine.queue(QUEUE).messages).toHaveLength(1);
      clock.advanceSeconds(10);
      expect(receiveOne(engine).MessageId).toBe(current.MessageId);
    });

    it('only deletes the message the handle belongs to', () => {
      const { engine } = setUp();
      engine.send(QUEUE, 'a');
      engine.send(QUEUE, 'b');
      const [first] = engine.receive(QUEUE, { max: 2 });

      engine.delete(QUEUE, first!.ReceiptHandle);

      expect(engine.queue(QUEUE).messages.map((message) => message.body)).toEqual(['b']);
    });

    it('succeeds when the message was already deleted, as SQS does', () => {
      const { engine } = setUp();
      engine.send(QUEUE, 'once');
      const message = receiveOne(engine);
      engine.delete(QUEUE, message.ReceiptHandle);

      expect(() => engine.delete(QUEUE, message.ReceiptHandle)).not.toThrow();
    });

    it('rejects a malformed receipt handle with ReceiptHandleIsInvalid', () => {
      const { engine } = setUp();

      expect(queueErrorOf(() => engine.delete(QUEUE, 'not-a-handle')).type).toBe('ReceiptHandleIsInvalid');
    });
  });

  describe('changeVisibility', () => {
    it('refuses to hide a message beyond 12 hours from its receive, as SQS does', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 30 });
      engine.send(QUEUE, 'parked');
      const message = receiveOne(engine);
      clock.advanceSeconds(10);

      const error = queueErrorOf(() => engine.changeVisibility(QUEUE, message.ReceiptHandle, 43_200));
      engine.changeVisibility(QUEUE, message.ReceiptHandle, 43_190);

      expect(error.type).toBe('InvalidParameterValue');
      expect(error.message).toContain('beyond the limit');
    });

    it('extends the invisibility of an in-flight message', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 10 });
      engine.send(QUEUE, 'slow');
      const message = receiveOne(engine);
      clock.advanceSeconds(5);

      engine.changeVisibility(QUEUE, message.ReceiptHandle, 60);
      clock.advanceSeconds(59);
      const beforeNewTimeout = engine.receive(QUEUE);
      clock.advanceSeconds(1);
      const afterNewTimeout = engine.receive(QUEUE);

      expect(beforeNewTimeout).toEqual([]);
      expect(afterNewTimeout).toHaveLength(1);
    });

    it('shortens the invisibility of an in-flight message; 0 makes it receivable at once', () => {
      const { engine } = setUp({ visibilityTimeout: 300 });
      engine.send(QUEUE, 'retry');
      const message = receiveOne(engine);

      engine.changeVisibility(QUEUE, message.ReceiptHandle, 0);

      expect(receiveOne(engine).Attributes.ApproximateReceiveCount).toBe('2');
    });

    it('throws MessageNotInflight for a message whose visibility timeout has run out', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 10 });
      engine.send(QUEUE, 'visible again');
      const message = receiveOne(engine);
      clock.advanceSeconds(10);

      const error = queueErrorOf(() => engine.changeVisibility(QUEUE, message.ReceiptHandle, 30));

      expect(error.type).toBe('MessageNotInflight');
    });

    it('throws MessageNotInflight for a deleted message', () => {
      const { engine } = setUp();
      engine.send(QUEUE, 'gone');
      const message = receiveOne(engine);
      engine.delete(QUEUE, message.ReceiptHandle);

      expect(queueErrorOf(() => engine.changeVisibility(QUEUE, message.ReceiptHandle, 30)).type).toBe('MessageNotInflight');
    });

    it('accepts 43200 seconds and rejects longer or negative timeouts without changing the message', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 10 });
      engine.send(QUEUE, 'job');
      const message = receiveOne(engine);

      const tooLong = queueErrorOf(() => engine.changeVisibility(QUEUE, message.ReceiptHandle, 43_201));
      const negative = queueErrorOf(() => engine.changeVisibility(QUEUE, message.ReceiptHandle, -1));
      clock.advanceSeconds(10);
      const visibleAtOriginalTimeout = engine.receive(QUEUE);
      engine.changeVisibility(QUEUE, visibleAtOriginalTimeout[0]!.ReceiptHandle, MAX_VISIBILITY_TIMEOUT_SECONDS);

      expect(MAX_VISIBILITY_TIMEOUT_SECONDS).toBe(43_200);
      expect(tooLong.type).toBe('InvalidParameterValue');
      expect(negative.type).toBe('InvalidParameterValue');
      expect(visibleAtOriginalTimeout).toHaveLength(1);
    });
  });

  describe('redrive to the dead-letter queue', () => {
    const setUpWithRedrive = (maxReceiveCount: number) => {
      const clock = new FakeClock();
      const engine = new QueueEngine(clock.now);
      engine.createQueue(DLQ);
      engine.createQueue(QUEUE, { visibilityTimeout: 30, redrive: { deadLetterQueueName: DLQ, maxReceiveCount } });
      return { clock, engine };
    };

    it('moves a message received maxReceiveCount times without delete to the DLQ on the next receive, and does not return it', () => {
      const { clock, engine } = setUpWithRedrive(3);
      const sent = engine.send(QUEUE, '{"job":1}', {
        messageAttributes: {
          kind: { DataType: 'String', StringValue: 'webhook' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]).toString('base64') },
        },
      });
      for (let receive = 1; receive <= 3; receive += 1) {
        expect(receiveOne(engine).Attributes.ApproximateReceiveCount).toBe(String(receive));
        clock.advanceSeconds(30);
      }

      const fourthReceive = engine.receive(QUEUE);

      expect(fourthReceive).toEqual([]);
      expect(engine.queue(QUEUE).messages).toHaveLength(0);
      const [dead] = engine.receive(DLQ);
      expect(dead).toMatchObject({
        MessageId: sent.messageId,
        Body: '{"job":1}',
        MD5OfBody: md5Hex('{"job":1}'),
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'webhook' },
          blob: { DataType: 'Binary', BinaryValue: 'AQID' },
        },
      });
    });

    it('does not move a message that is still within maxReceiveCount', () => {
      const { clock, engine } = setUpWithRedrive(2);
      engine.send(QUEUE, 'job');
      receiveOne(engine);
      clock.advanceSeconds(30);

      const second = engine.receive(QUEUE);

      expect(second).toHaveLength(1);
      expect(engine.queue(DLQ).messages).toHaveLength(0);
    });

    it('does not move a deleted message', () => {
      const { clock, engine } = setUpWithRedrive(1);
      engine.send(QUEUE, 'handled');
      engine.delete(QUEUE, receiveOne(engine).ReceiptHandle);
      clock.advanceSeconds(30);

      engine.receive(QUEUE);

      expect(engine.queue(DLQ).messages).toHaveLength(0);
    });

    it('still returns the other visible messages of the receive that redrives one', () => {
      const { clock, engine } = setUpWithRedrive(1);
      engine.send(QUEUE, 'poison');
      receiveOne(engine);
      clock.advanceSeconds(30);
      engine.send(QUEUE, 'fine');

      const received = engine.receive(QUEUE, { max: 10 });

      expect(received.map((message) => message.Body)).toEqual(['fine']);
      expect(engine.queue(DLQ).messages.map((message) => message.body)).toEqual(['poison']);
    });

    it('makes the moved message visible in the DLQ at once and keeps its original sent time', () => {
      const { clock, engine } = setUpWithRedrive(1);
      const sentAt = clock.now();
      engine.send(QUEUE, 'poison');
      receiveOne(engine);
      clock.advanceSeconds(30);

      engine.receive(QUEUE);
      const [dead] = engine.receive(DLQ);

      expect(dead?.Attributes.SentTimestamp).toBe(String(sentAt));
      expect(engine.counts(DLQ)).toMatchObject({ visible: 0, inFlight: 1 });
    });
  });

  describe('retention', () => {
    it('drops messages older than the retention period', () => {
      const { clock, engine } = setUp({ retentionSeconds: 60 });
      engine.send(QUEUE, 'old');
      clock.advanceSeconds(30);
      engine.send(QUEUE, 'young');
      clock.advanceSeconds(30);
      const atRetentionLimit = engine.counts(QUEUE).visible;
      clock.advanceMs(1);

      const received = engine.receive(QUEUE, { max: 10 });

      expect(atRetentionLimit).toBe(2);
      expect(received.map((message) => message.Body)).toEqual(['young']);
      expect(engine.queue(QUEUE).messages.map((message) => message.body)).toEqual(['young']);
    });

    it('expires in-flight messages too', () => {
      const { clock, engine } = setUp({ retentionSeconds: 60, visibilityTimeout: 600 });
      engine.send(QUEUE, 'in flight');
      receiveOne(engine);

      clock.advanceSeconds(61);

      expect(engine.counts(QUEUE)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });
  });

  describe('batch size', () => {
    it('returns one message by default and at most max messages', () => {
      const { engine } = setUp();
      for (let index = 0; index < 15; index += 1) engine.send(QUEUE, `m${index}`);

      const single = engine.receive(QUEUE);
      const batch = engine.receive(QUEUE, { max: 10 });
      const rest = engine.receive(QUEUE, { max: 10 });

      expect(single).toHaveLength(1);
      expect(batch).toHaveLength(10);
      expect(rest).toHaveLength(4);
      expect(new Set([...single, ...batch, ...rest].map((message) => message.Body)).size).toBe(15);
    });

    it('rejects a max outside 1..10', () => {
      const { engine } = setUp();
      engine.send(QUEUE, 'job');

      expect(queueErrorOf(() => engine.receive(QUEUE, { max: 11 })).type).toBe('InvalidParameterValue');
      expect(queueErrorOf(() => engine.receive(QUEUE, { max: 0 })).type).toBe('InvalidParameterValue');
      expect(engine.counts(QUEUE).visible).toBe(1);
    });
  });

  describe('counts', () => {
    it('counts visible, in-flight and delayed messages separately, with the oldest sent time', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 30 });
      const oldestSentAt = clock.now();
      engine.send(QUEUE, 'in flight');
      clock.advanceSeconds(1);
      engine.send(QUEUE, 'visible 1');
      engine.send(QUEUE, 'visible 2');
      engine.send(QUEUE, 'delayed', { delaySeconds: 60 });
      receiveOne(engine);

      const counts = engine.counts(QUEUE);

      expect(counts).toEqual({ visible: 2, inFlight: 1, delayed: 1, oldestSentAt });
    });

    it('moves a message from delayed to visible to in flight and back as time passes', () => {
      const { clock, engine } = setUp({ visibilityTimeout: 30 });
      engine.send(QUEUE, 'job', { delaySeconds: 10 });
      const delayed = engine.counts(QUEUE);
      clock.advanceSeconds(10);
      const visible = engine.counts(QUEUE);
      receiveOne(engine);
      const inFlight = engine.counts(QUEUE);
      clock.advanceSeconds(30);
      const visibleAgain = engine.counts(QUEUE);

      expect([delayed, visible, inFlight, visibleAgain].map(({ visible, inFlight, delayed }) => [visible, inFlight, delayed])).toEqual([
        [0, 0, 1],
        [1, 0, 0],
        [0, 1, 0],
        [1, 0, 0],
      ]);
    });

    it('reports an empty queue without an oldest sent time', () => {
      const { engine } = setUp();

      expect(engine.counts(QUEUE)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });
  });

  describe('purge', () => {
    it('removes every message', () => {
      const { engine } = setUp();
      engine.send(QUEUE, 'a');
      engine.send(QUEUE, 'b', { delaySeconds: 30 });

      engine.purge(QUEUE);

      expect(engine.counts(QUEUE)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });
  });

  describe('msUntilNextVisible', () => {
    it('reports the time until the earliest hidden message becomes visible, 0 when one is visible, undefined when empty', () => {
      const { clock, engine } = setUp();
      const empty = engine.msUntilNextVisible(QUEUE);
      engine.send(QUEUE, 'later', { delaySeconds: 10 });
      clock.advanceSeconds(4);
      const pending = engine.msUntilNextVisible(QUEUE);
      engine.send(QUEUE, 'now');

      expect(empty).toBeUndefined();
      expect(pending).toBe(6_000);
      expect(engine.msUntilNextVisible(QUEUE)).toBe(0);
    });
  });
});

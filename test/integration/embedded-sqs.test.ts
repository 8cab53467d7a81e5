import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  MessageNotInflight,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { md5Hex, md5OfMessageAttributes } from '../../local/embedded-sqs/queue-engine.js';
import { QueueStore } from '../../local/embedded-sqs/queue-store.js';
import { type EmbeddedTransport, sqsClientFor } from '../support/embedded-sqs-client.js';

const REGION = 'us-east-1';

/** The service error the SDK threw, so tests can assert on its name and class. */
const rejectionOf = async (promise: Promise<unknown>): Promise<SQSServiceException> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SQSServiceException) return error;
    throw error;
  }
  throw new Error('expected the SDK call to fail');
};

let queueCounter = 0;
const uniqueName = (prefix: string) => `${prefix}-${++queueCounter}`;

// Every behaviour twice: over the loopback port (other processes: the admin CLI) and in process (local mode's own clients).
describe.each<EmbeddedTransport>(['over HTTP', 'in process'])('EmbeddedSqs with the AWS SDK SQS client, %s', (transport) => {
  let sqs: EmbeddedSqs;
  let client: SQSClient;

  beforeAll(async () => {
    sqs = new EmbeddedSqs({ region: REGION });
    await sqs.start();
    client = sqsClientFor(sqs, transport);
  });

  afterAll(async () => {
    client.destroy();
    await sqs.stop();
  });

  const createQueue = async (attributes: Record<string, string> = {}, prefix = 'queue') => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: uniqueName(prefix), Attributes: attributes }));
    return QueueUrl!;
  };

  const queueArnOf = async (queueUrl: string) => {
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    return Attributes!.QueueArn!;
  };

  const receive = async (queueUrl: string, input: Omit<ReceiveMessageCommandInput, 'QueueUrl'> = {}): Promise<Message[]> => {
    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, ...input }));
    return Messages ?? [];
  };

  const numberOfMessages = async (queueUrl: string) => {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return {
      visible: Number(Attributes!.ApproximateNumberOfMessages),
      inFlight: Number(Attributes!.ApproximateNumberOfMessagesNotVisible),
      delayed: Number(Attributes!.ApproximateNumberOfMessagesDelayed),
    };
  };

  describe('queues', () => {
    it('creates a queue with VisibilityTimeout and a RedrivePolicy naming another queue, and reports them back', async () => {
      const deadLetterQueueUrl = await createQueue({}, 'dlq');
      const deadLetterTargetArn = await queueArnOf(deadLetterQueueUrl);
      const redrivePolicy = JSON.stringify({ deadLetterTargetArn, maxReceiveCount: 4 });

      const queueUrl = await createQueue({ VisibilityTimeout: '45', RedrivePolicy: redrivePolicy });
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));

      expect(deadLetterTargetArn).toMatch(/^arn:aws:sqs:us-east-1:000000000000:dlq-\d+$/);
      expect(Attributes).toMatchObject({ VisibilityTimeout: '45', QueueArn: expect.stringMatching(/^arn:aws:sqs:us-east-1:/) });
      expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn, maxReceiveCount: 4 });
    });

    it('returns only the queue attributes asked for', async () => {
      const queueUrl = await createQueue({ VisibilityTimeout: '12' });

      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }));

      expect(Attributes).toEqual({ VisibilityTimeout: '12' });
    });

    it('rejects a RedrivePolicy whose dead-letter queue does not exist', async () => {
      const redrivePolicy = JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:nowhere', maxReceiveCount: 3 });

      const error = await rejectionOf(client.send(new CreateQueueCommand({ QueueName: uniqueName('bad'), Attributes: { RedrivePolicy: redrivePolicy } })));

      expect(error.name).toBe('InvalidParameterValue');
      expect(error.$metadata.httpStatusCode).toBe(400);
    });

    it('removes the redrive policy when SetQueueAttributes sets an empty RedrivePolicy', async () => {
      const deadLetterQueueUrl = await createQueue({}, 'dlq');
      const redrivePolicy = JSON.stringify({ deadLetterTargetArn: await queueArnOf(deadLetterQueueUrl), maxReceiveCount: 1 });
      const queueUrl = await createQueue({ RedrivePolicy: redrivePolicy });

      await client.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { RedrivePolicy: '' } }));
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));

      expect(Attributes!.RedrivePolicy).toBeUndefined();
    });

    it('changes queue attributes with SetQueueAttributes', async () => {
      const queueUrl = await createQueue({ VisibilityTimeout: '30' });

      await client.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: '90' } }));
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }));

      expect(Attributes!.VisibilityTimeout).toBe('90');
    });

    it('resolves a queue name to the URL CreateQueue returned with GetQueueUrl', async () => {
      const name = uniqueName('named');
      const { QueueUrl: created } = await client.send(new CreateQueueCommand({ QueueName: name }));

      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: name }));

      expect(QueueUrl).toBe(created);
      expect(QueueUrl).toBe(`${sqs.endpoint}/000000000000/${name}`);
    });

    it('makes the SDK throw QueueDoesNotExist for an unknown queue', async () => {
      const byName = await rejectionOf(client.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })));
      const byUrl = await rejectionOf(client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('no-such-queue'), MessageBody: 'x' })));

      for (const error of [byName, byUrl]) {
        expect(error).toBeInstanceOf(QueueDoesNotExist);
        expect(error.name).toBe('QueueDoesNotExist');
        expect(error.$fault).toBe('client');
        expect(error.$metadata.httpStatusCode).toBe(400);
        expect(error.message).toContain('does not exist');
        // The awsQuery code real SQS sends in x-amzn-query-error, which the SDK exposes for query compatibility.
        expect((error as SQSServiceException & { Code?: string }).Code).toBe('AWS.SimpleQueueService.NonExistentQueue');
      }
    });
  });

  describe('messages', () => {
    it('sends a message with MessageAttributes and returns them, with system attributes, on receive; the SDK MD5 check passes', async () => {
      const queueUrl = await createQueue();
      const body = JSON.stringify({ event: 'order.created', note: 'ünïcode ✓' });

      const sent = await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageAttributes: {
            eventType: { DataType: 'String', StringValue: 'order.created' },
            attempt: { DataType: 'Number', StringValue: '1' },
            raw: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 254, 255]) },
          },
        }),
      );
      const [message, ...others] = await receive(queueUrl, {
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      });

      expect(sent.MD5OfMessageBody).toBe(md5Hex(body));
      expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
      expect(others).toHaveLength(0);
      expect(message!.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
      expect(message).toMatchObject({ MessageId: sent.MessageId, Body: body, MD5OfBody: md5Hex(body) });
      expect(message!.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d+$/) });
      expect(message!.MessageAttributes).toEqual({
        eventType: { DataType: 'String', StringValue: 'order.created' },
        attempt: { DataType: 'Number', StringValue: '1' },
        raw: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 254, 255]) },
      });
    });

    it('returns message and system attributes only when they are asked for, as SQS does', async () => {
      const queueUrl = await createQueue();
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: 'x',
          MessageAttributes: {
            eventType: { DataType: 'String', StringValue: 'a' },
            tenant: { DataType: 'String', StringValue: 't1' },
          },
        }),
      );

      const [unasked] = await receive(queueUrl, { VisibilityTimeout: 0 });
      const [named] = await receive(queueUrl, {
        VisibilityTimeout: 0,
        MessageAttributeNames: ['tenant'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      });
      const [legacyAttributeNames] = await receive(queueUrl, { VisibilityTimeout: 0, AttributeNames: ['All'] });

      expect(unasked!.MessageAttributes).toBeUndefined();
      expect(unasked!.Attributes).toBeUndefined();
      expect(unasked!.MD5OfMessageAttributes).toBeUndefined();
      expect(named!.MessageAttributes).toEqual({ tenant: { DataType: 'String', StringValue: 't1' } });
      expect(named!.MD5OfMessageAttributes).toBe(md5OfMessageAttributes({ tenant: { DataType: 'String', StringValue: 't1' } }));
      expect(named!.Attributes).toEqual({ ApproximateReceiveCount: '2' });
      expect(legacyAttributeNames!.Attributes).toMatchObject({ ApproximateReceiveCount: '3' });
    });

    it('hides a message sent with DelaySeconds until the delay is over', async () => {
      const queueUrl = await createQueue();

      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 1 }));
      const early = await receive(queueUrl);
      const countsWhileDelayed = await numberOfMessages(queueUrl);
      const [due] = await receive(queueUrl, { WaitTimeSeconds: 2 });

      expect(early).toEqual([]);
      expect(countsWhileDelayed).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
      expect(due!.Body).toBe('later');
    });

    it('rejects DelaySeconds above 900 with InvalidParameterValue', async () => {
      const queueUrl = await createQueue();

      const error = await rejectionOf(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', DelaySeconds: 901 })));

      expect(error.name).toBe('InvalidParameterValue');
      expect(await numberOfMessages(queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('sends a batch and receives up to MaxNumberOfMessages 10 at a time', async () => {
      const queueUrl = await createQueue();
      const first = Array.from({ length: 10 }, (_, index) => ({ Id: `a${index}`, MessageBody: `first-${index}` }));
      const second = Array.from({ length: 2 }, (_, index) => ({ Id: `b${index}`, MessageBody: `second-${index}` }));

      const sentFirst = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: first }));
      await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: second }));
      const batch = await receive(queueUrl, { MaxNumberOfMessages: 10 });
      const rest = await receive(queueUrl, { MaxNumberOfMessages: 10 });

      expect(sentFirst.Successful!.map((entry) => entry.Id)).toEqual(first.map((entry) => entry.Id));
      expect(sentFirst.Successful![0]!.MD5OfMessageBody).toBe(md5Hex('first-0'));
      expect(sentFirst.Failed ?? []).toEqual([]);
      expect(batch).toHaveLength(10);
      expect(rest).toHaveLength(2);
      expect(new Set([...batch, ...rest].map((message) => message.Body)).size).toBe(12);
    });

    it('reports a failing batch entry in Failed and still sends the others', async () => {
      const queueUrl = await createQueue();

      const result = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'ok', MessageBody: 'fine' },
            { Id: 'bad', MessageBody: 'too late', DelaySeconds: 901 },
          ],
        }),
      );

      expect(result.Successful!.map((entry) => entry.Id)).toEqual(['ok']);
      expect(result.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'InvalidParameterValue', SenderFault: true })]);
      expect((await numberOfMessages(queueUrl)).visible).toBe(1);
    });

    it('rejects batches with more than 10 entries or repeated ids', async () => {
      const queueUrl = await createQueue();
      const eleven = Array.from({ length: 11 }, (_, index) => ({ Id: `m${index}`, MessageBody: 'x' }));

      const tooMany = await rejectionOf(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: eleven })));
      const repeated = await rejectionOf(
        client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: [
              { Id: 'same', MessageBody: 'x' },
              { Id: 'same', MessageBody: 'y' },
            ],
          }),
        ),
      );

      const empty = await rejectionOf(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [] })));

      expect(tooMany.name).toBe('TooManyEntriesInBatchRequest');
      expect(repeated.name).toBe('BatchEntryIdsNotDistinct');
      expect(empty.name).toBe('EmptyBatchRequest');
      expect((await numberOfMessages(queueUrl)).visible).toBe(0);
    });

    it('rejects MaxNumberOfMessages above 10 and WaitTimeSeconds above 20', async () => {
      const queueUrl = await createQueue();

      const tooMany = await rejectionOf(receive(queueUrl, { MaxNumberOfMessages: 11 }));
      const tooLong = await rejectionOf(receive(queueUrl, { WaitTimeSeconds: 21 }));

      expect(tooMany.name).toBe('InvalidParameterValue');
      expect(tooLong.name).toBe('InvalidParameterValue');
    });

    it('deletes received messages with DeleteMessageBatch and DeleteMessage', async () => {
      const queueUrl = await createQueue();
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: ['a', 'b', 'c'].map((id) => ({ Id: id, MessageBody: id })),
        }),
      );
      const [a, b, c] = await receive(queueUrl, { MaxNumberOfMessages: 10 });

      const deleted = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'first', ReceiptHandle: a!.ReceiptHandle! },
            { Id: 'second', ReceiptHandle: b!.ReceiptHandle! },
            { Id: 'invalid', ReceiptHandle: 'garbage' },
          ],
        }),
      );
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: c!.ReceiptHandle! }));

      expect(deleted.Successful!.map((entry) => entry.Id)).toEqual(['first', 'second']);
      expect(deleted.Failed).toEqual([expect.objectContaining({ Id: 'invalid', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
      expect(await numberOfMessages(queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('keeps a received message invisible, and makes it receivable again after ChangeMessageVisibility to 0', async () => {
      const queueUrl = await createQueue({ VisibilityTimeout: '300' });
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'retry me' }));
      const [first] = await receive(queueUrl);

      const whileInFlight = await receive(queueUrl);
      const countsInFlight = await numberOfMessages(queueUrl);
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 0 }));
      const [again] = await receive(queueUrl, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });

      expect(whileInFlight).toEqual([]);
      expect(countsInFlight).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
      expect(again!.MessageId).toBe(first!.MessageId);
      expect(again!.Attributes!.ApproximateReceiveCount).toBe('2');
    });

    it('changes the visibility of several messages with ChangeMessageVisibilityBatch', async () => {
      const queueUrl = await createQueue({ VisibilityTimeout: '300' });
      await client.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: ['a', 'b'].map((id) => ({ Id: id, MessageBody: id })) }),
      );
      const [a, b] = await receive(queueUrl, { MaxNumberOfMessages: 10 });

      const changed = await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'a', ReceiptHandle: a!.ReceiptHandle!, VisibilityTimeout: 0 },
            { Id: 'b', ReceiptHandle: b!.ReceiptHandle!, VisibilityTimeout: 43_201 },
          ],
        }),
      );
      const again = await receive(queueUrl, { MaxNumberOfMessages: 10 });

      expect(changed.Successful!.map((entry) => entry.Id)).toEqual(['a']);
      expect(changed.Failed).toEqual([expect.objectContaining({ Id: 'b', Code: 'InvalidParameterValue' })]);
      expect(again.map((message) => message.Body)).toEqual([a!.Body]);
    });

    it('makes the SDK throw MessageNotInflight when changing the visibility of a visible message', async () => {
      const queueUrl = await createQueue();
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));
      const [message] = await receive(queueUrl, { VisibilityTimeout: 0 });

      const error = await rejectionOf(
        client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle!, VisibilityTimeout: 30 })),
      );

      expect(error).toBeInstanceOf(MessageNotInflight);
    });

    it('reports ApproximateNumberOfMessages through GetQueueAttributes', async () => {
      const queueUrl = await createQueue();
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [1, 2, 3].map((index) => ({ Id: `m${index}`, MessageBody: `m${index}` })),
        }),
      );
      const before = await numberOfMessages(queueUrl);

      await receive(queueUrl);
      const after = await numberOfMessages(queueUrl);
      await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
      const purged = await numberOfMessages(queueUrl);

      expect(before).toEqual({ visible: 3, inFlight: 0, delayed: 0 });
      expect(after).toEqual({ visible: 2, inFlight: 1, delayed: 0 });
      expect(purged).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });
  });

  describe('long polling', () => {
    it('returns as soon as a message arrives instead of waiting out WaitTimeSeconds', async () => {
      const queueUrl = await createQueue();
      const startedAt = Date.now();

      const polling = receive(queueUrl, { WaitTimeSeconds: 10 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'wake up' }));
      const messages = await polling;

      expect(messages.map((message) => message.Body)).toEqual(['wake up']);
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    });

    it('returns a message sent with DelaySeconds once the delay is over, within the same poll', async () => {
      const queueUrl = await createQueue();
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 1 }));
      const startedAt = Date.now();

      const messages = await receive(queueUrl, { WaitTimeSeconds: 10 });

      expect(messages.map((message) => message.Body)).toEqual(['later']);
      expect(Date.now() - startedAt).toBeLessThan(6_000);
    });

    it('returns a message whose visibility timeout ran out during the poll, and one made visible again', async () => {
      const queueUrl = await createQueue();
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'lapsed' }));
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'released' }));
      await receive(queueUrl, { VisibilityTimeout: 1, MaxNumberOfMessages: 1 });
      const [held] = await receive(queueUrl, { VisibilityTimeout: 300, MaxNumberOfMessages: 1 });
      const startedAt = Date.now();

      const lapsed = await receive(queueUrl, { WaitTimeSeconds: 10 });
      const releasing = receive(queueUrl, { WaitTimeSeconds: 10 });
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: held!.ReceiptHandle!, VisibilityTimeout: 0 }));
      const released = await releasing;

      expect(lapsed.map((message) => message.Body)).toEqual(['lapsed']);
      expect(released.map((message) => message.Body)).toEqual(['released']);
      expect(Date.now() - startedAt).toBeLessThan(6_000);
    });

    it('hands each message sent to one of the polls waiting on the queue, waking the others for the next ones', async () => {
      const queueUrl = await createQueue();
      const polls = Array.from({ length: 3 }, () => receive(queueUrl, { WaitTimeSeconds: 10 }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const startedAt = Date.now();

      for (const body of ['one', 'two', 'three']) {
        await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      }
      const received = await Promise.all(polls);

      expect(received.map((messages) => messages.length)).toEqual([1, 1, 1]);
      expect(received.flat().map((message) => message.Body).sort()).toEqual(['one', 'three', 'two']);
      expect(Date.now() - startedAt).toBeLessThan(6_000);
    });

    it('hands a poll waiting on a dead-letter queue the message moved there', async () => {
      const deadLetterQueueUrl = await createQueue({}, 'dlq');
      const redrivePolicy = JSON.stringify({ deadLetterTargetArn: await queueArnOf(deadLetterQueueUrl), maxReceiveCount: '1' });
      const queueUrl = await createQueue({ RedrivePolicy: redrivePolicy });
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));
      await receive(queueUrl, { VisibilityTimeout: 0 });
      const waiting = receive(deadLetterQueueUrl, { WaitTimeSeconds: 10 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const startedAt = Date.now();

      expect(await receive(queueUrl)).toEqual([]);
      const dead = await waiting;

      expect(dead.map((message) => message.Body)).toEqual(['poison']);
      expect(Date.now() - startedAt).toBeLessThan(6_000);
    });

    it('does not hand a message to a poll whose client went away', async () => {
      const queueUrl = await createQueue();
      const abandon = new AbortController();
      const abandoned = client
        .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }), { abortSignal: abandon.signal })
        .catch((error: Error) => error.name);
      await new Promise((resolve) => setTimeout(resolve, 100));
      abandon.abort();
      expect(await abandoned).toBe('AbortError');
      // The server learns of the closed connection on a later turn of the same event loop.
      await new Promise((resolve) => setTimeout(resolve, 100));

      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'for the next poll' }));
      const messages = await receive(queueUrl, { WaitTimeSeconds: 5, MessageSystemAttributeNames: ['ApproximateReceiveCount'] });

      expect(messages.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount])).toEqual([
        ['for the next poll', '1'],
      ]);
    });

    it('returns no messages after WaitTimeSeconds on an empty queue', async () => {
      const queueUrl = await createQueue();
      const startedAt = Date.now();

      const messages = await receive(queueUrl, { WaitTimeSeconds: 1 });

      expect(messages).toEqual([]);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    });
  });

  describe('redrive', () => {
    it('moves a message received maxReceiveCount times without delete to the dead-letter queue, body and attributes intact', async () => {
      const deadLetterQueueUrl = await createQueue({}, 'dlq');
      const redrivePolicy = JSON.stringify({ deadLetterTargetArn: await queueArnOf(deadLetterQueueUrl), maxReceiveCount: '2' });
      const queueUrl = await createQueue({ VisibilityTimeout: '300', RedrivePolicy: redrivePolicy });
      const sent = await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: '{"poison":true}',
          MessageAttributes: { eventType: { DataType: 'String', StringValue: 'poison' } },
        }),
      );

      const [first] = await receive(queueUrl, { MessageSystemAttributeNames: ['All'] });
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 0 }));
      const [second] = await receive(queueUrl, { VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'] });
      const third = await receive(queueUrl);
      const [dead] = await receive(deadLetterQueueUrl, { MessageAttributeNames: ['All'] });

      expect(first!.Attributes!.ApproximateReceiveCount).toBe('1');
      expect(second!.Attributes!.ApproximateReceiveCount).toBe('2');
      expect(third).toEqual([]);
      expect(await numberOfMessages(queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      expect(dead).toMatchObject({
        MessageId: sent.MessageId,
        Body: '{"poison":true}',
        MessageAttributes: { eventType: { DataType: 'String', StringValue: 'poison' } },
      });
    });
  });
});

describe('EmbeddedSqs lifecycle', () => {
  it('answers a long poll in progress with no messages when stopped, and stopping again is harmless', async () => {
    const sqs = new EmbeddedSqs({ region: REGION });
    await sqs.start();
    const client = sqsClientFor(sqs);
    try {
      const queueUrl = sqs.createQueue('idle');
      const polling = client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const startedAt = Date.now();

      await sqs.stop();
      const { Messages } = await polling;

      expect(Messages).toBeUndefined();
      expect(Date.now() - startedAt).toBeLessThan(1_000);
      await expect(sqs.stop()).resolves.toBeUndefined();
    } finally {
      client.destroy();
      await sqs.stop();
    }
  });

  it('looks at a queue only when woken while a poll waits, not on a timer: an idle poll costs nothing', async () => {
    let clockReads = 0;
    const sqs = new EmbeddedSqs({ region: REGION, now: () => (clockReads++, Date.now()) });
    await sqs.start();
    const client = sqsClientFor(sqs);
    try {
      const queueUrl = sqs.createQueue('idle');
      clockReads = 0;

      const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2 }));

      expect(Messages).toBeUndefined();
      // One look when the poll starts and one when it ends; polling every few milliseconds would read it hundreds of times.
      expect(clockReads).toBeLessThanOrEqual(6);
    } finally {
      client.destroy();
      await sqs.stop();
    }
  });

  it('can be stopped without having been started', async () => {
    await expect(new EmbeddedSqs().stop()).resolves.toBeUndefined();
  });
});

describe('EmbeddedSqs persistence', () => {
  let dataDir: string;
  const running: EmbeddedSqs[] = [];
  const clients: SQSClient[] = [];

  const startSqs = async () => {
    const sqs = new EmbeddedSqs({ region: REGION, dataDir });
    await sqs.start();
    running.push(sqs);
    const client = sqsClientFor(sqs);
    clients.push(client);
    return { sqs, client };
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'embedded-sqs-'));
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const sqs of running.splice(0)) await sqs.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps queues, settings and pending messages when a new server starts on the same data folder', async () => {
    const before = await startSqs();
    const { QueueUrl: dlqUrl } = await before.client.send(new CreateQueueCommand({ QueueName: 'kept-dlq' }));
    const { Attributes } = await before.client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
    const redrivePolicy = JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 3 });
    await before.client.send(new CreateQueueCommand({ QueueName: 'kept', Attributes: { RedrivePolicy: redrivePolicy } }));
    const { QueueUrl } = await before.client.send(new GetQueueUrlCommand({ QueueName: 'kept' }));
    await before.client.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: 'still here',
        MessageAttributes: { eventType: { DataType: 'String', StringValue: 'persisted' } },
      }),
    );
    await before.sqs.stop();
    running.splice(running.indexOf(before.sqs), 1);

    const after = await startSqs();
    const { QueueUrl: restartedUrl } = await after.client.send(new GetQueueUrlCommand({ QueueName: 'kept' }));
    const { Messages } = await after.client.send(
      new ReceiveMessageCommand({ QueueUrl: restartedUrl, MessageAttributeNames: ['All'], MaxNumberOfMessages: 10 }),
    );
    const { Attributes: restartedAttributes } = await after.client.send(
      new GetQueueAttributesCommand({ QueueUrl: restartedUrl, AttributeNames: ['RedrivePolicy'] }),
    );

    expect(Messages).toHaveLength(1);
    expect(Messages![0]).toMatchObject({
      Body: 'still here',
      MessageAttributes: { eventType: { DataType: 'String', StringValue: 'persisted' } },
    });
    expect(JSON.parse(restartedAttributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 3 });
  });

  it('does not bring back messages deleted before the restart', async () => {
    const before = await startSqs();
    const { QueueUrl } = await before.client.send(new CreateQueueCommand({ QueueName: 'jobs' }));
    await before.client.send(
      new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'a', MessageBody: 'done' }, { Id: 'b', MessageBody: 'pending' }] }),
    );
    const { Messages } = await before.client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    const done = Messages!.find((message) => message.Body === 'done')!;
    const pending = Messages!.find((message) => message.Body === 'pending')!;
    await before.client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: done.ReceiptHandle! }));
    await before.client.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: pending.ReceiptHandle!, VisibilityTimeout: 0 }));
    await before.sqs.stop();
    running.splice(running.indexOf(before.sqs), 1);

    const after = await startSqs();
    const { Messages: afterRestart } = await after.client.send(
      new ReceiveMessageCommand({ QueueUrl: after.sqs.queueUrl('jobs'), MaxNumberOfMessages: 10 }),
    );

    expect(afterRestart!.map((message) => message.Body)).toEqual(['pending']);
  });

  it('answers a send only once the message is on disk, so a crash right after loses nothing acknowledged', async () => {
    const { client } = await startSqs();
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'durable' }));
    const saved = () =>
      new QueueStore(dataDir)
        .read()
        .find((queue) => queue.name === 'durable')!
        .messages.map((message) => message.body)
        .sort();

    // Concurrent sends share saves; each is answered after the save that includes it.
    await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        client.send(new SendMessageCommand({ QueueUrl, MessageBody: `m${String(index).padStart(2, '0')}` })).then(() => {
          expect(saved()).toContain(`m${String(index).padStart(2, '0')}`);
        }),
      ),
    );

    expect(saved()).toHaveLength(12);
  });

  it('writes a queue created to the data folder at once', async () => {
    const { sqs } = await startSqs();

    sqs.createQueue('on-disk', { visibilityTimeout: 42 });

    expect(readdirSync(dataDir).sort()).toEqual(['queues.journal', 'queues.json']);
    const saved = new QueueStore(dataDir).read();
    expect(saved).toEqual([expect.objectContaining({ name: 'on-disk', settings: expect.objectContaining({ visibilityTimeout: 42 }) })]);
  });
});

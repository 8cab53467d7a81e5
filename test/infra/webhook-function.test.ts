import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { type TableItemAction, WebhookFunction } from '../../lib/constructs/webhook-function.js';
import { logicalId, testApp } from './support/platform.js';

// Construct-level guards of the queue consumer helpers; nothing is bundled.
const setUp = (invocation: 'synchronous' | 'queue' = 'queue', timeout = Duration.seconds(30)) => {
  const stack = new Stack(testApp({ bundle: false }), 'Guards');
  const fn = new WebhookFunction(stack, 'Consumer', {
    handlerName: 'event-router',
    description: 'test consumer',
    logRetention: RetentionDays.ONE_DAY,
    invocation,
    timeout,
  });
  const deadLetterQueue = new Queue(stack, 'DeadLetters');
  const queue = new Queue(stack, 'Work', {
    visibilityTimeout: Duration.seconds(180),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
  });
  return { stack, fn, queue, deadLetterQueue };
};
const options = { batchSize: 10, maxConcurrency: 2 };

describe('WebhookFunction.consume', () => {
  it('polls the queue, reporting partial batch failures', () => {
    const { stack, fn, queue } = setUp();

    fn.consume(queue, options);

    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('refuses a queue without a dead-letter queue: failed records would be retried until they expire', () => {
    const { stack, fn } = setUp();

    expect(() => fn.consume(new Queue(stack, 'NoRedrive', { visibilityTimeout: Duration.minutes(3) }), options)).toThrow(
      /has no dead-letter queue/,
    );
  });

  it('refuses a queue whose visibility timeout is under 6x the function timeout', () => {
    const { fn, queue } = setUp('queue', Duration.seconds(31));

    expect(() => fn.consume(queue, options)).toThrow(/visibility timeout of .* \(180s\) must be at least 6x the function timeout \(31s\)/);
  });

  it('is only for functions declared as queue-invoked', () => {
    const { fn, queue } = setUp('synchronous');

    expect(() => fn.consume(queue, options)).toThrow(/needs invocation "queue"/);
  });

  it.each([
    [{ batchSize: 11, maxConcurrency: 2 }, /batchSize must be 1-10/],
    [{ batchSize: 10, maxConcurrency: 1 }, /maxConcurrency must be 2-1000/],
  ])('refuses %o', (badOptions, message) => {
    const { fn, queue } = setUp();

    expect(() => fn.consume(queue, badOptions)).toThrow(message);
  });

  it('fails synth for a queue-invoked function that consumes nothing', () => {
    const { stack } = setUp();

    expect(() => Template.fromStack(stack)).toThrow(/invocation is "queue", but consume\(\) was never called/);
  });
});

describe('WebhookFunction grants', () => {
  const table = (stack: Stack) =>
    new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });

  it('grants exactly the item actions asked for, with TABLE_NAME', () => {
    const { stack, fn, queue } = setUp();
    fn.consume(queue, options);

    fn.accessTable(table(stack), ['dynamodb:GetItem', 'dynamodb:UpdateItem']);

    const template = Template.fromStack(stack);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    const tableStatements = statements.filter((statement: any) =>
      [statement.Action].flat().some((action: string) => action.startsWith('dynamodb:')),
    );
    expect(tableStatements).toEqual([
      expect.objectContaining({ Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Effect: 'Allow' }),
    ]);
    expect(template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables).toHaveProperty('TABLE_NAME');
  });

  it.each([[['dynamodb:Scan']], [['dynamodb:*']], [[]], [['dynamodb:GetItem', 'dynamodb:GetItem']]])(
    'refuses %o',
    (actions) => {
      const { stack, fn } = setUp();

      expect(() => fn.accessTable(table(stack), actions as TableItemAction[])).toThrow(/accessTable needs distinct item actions/);
    },
  );

  it('will not let the environment set what the grant methods set', () => {
    const stack = new Stack(testApp({ bundle: false }), 'Env');

    for (const name of ['DELIVERY_DLQ_URL', 'REJECTED_EVENTS_QUEUE_URL', 'TABLE_NAME']) {
      expect(
        () =>
          new WebhookFunction(stack, `Fn${name}`, {
            handlerName: 'delivery-worker',
            description: 'test',
            logRetention: RetentionDays.ONE_DAY,
            environment: { [name]: 'x' },
          }),
      ).toThrow(new RegExp(`set ${name} through`));
    }
  });
});

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { WebhookFunction } from '../../lib/constructs/webhook-function.js';
import { actionsOf, actionsOn, roleStatements } from './support/iam.js';
import { buildPlatform, logicalId } from './support/platform.js';

// One synth for the file: esbuild bundles the pipeline stack's two handlers (the API's are api-stack.test.ts's).
const platform = buildPlatform({ bundle: ['Webhooks-dev-Pipeline'] });
const assembly = platform.app.synth();
const template = Template.fromStack(platform.pipeline);
const stateful = Template.fromStack(platform.stateful);
const { router, worker } = platform.pipeline;
const { ingestion } = platform.stateful;
const { config } = platform;

type Resource = { Type: string; Properties: Record<string, any> };
const resourceOf = (t: Template, construct: IConstruct) => t.toJSON().Resources[logicalId(construct)] as Resource;
const fnProps = (t: Template, fn: WebhookFunction) => resourceOf(t, fn).Properties;
const variables = (t: Template, fn: WebhookFunction) => fnProps(t, fn).Environment.Variables as Record<string, unknown>;
/** The export a cross-stack reference imports, which names the logical ID of what it refers to. */
const importsFrom = (value: unknown, construct: IConstruct, attribute: 'Arn' | 'Ref') =>
  new RegExp(attribute === 'Arn' ? `OutputFnGetAtt${logicalId(construct)}Arn` : `OutputRef${logicalId(construct)}`).test(
    JSON.stringify(value),
  );
/** The mapping through which `fn` polls `queue` (the delivery queue unless given: the worker polls two). */
const mappingOf = (t: Template, fn: WebhookFunction, queue?: IConstruct) => {
  const mappings = (
    Object.values(t.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: logicalId(fn) } } })) as Resource[]
  ).filter((mapping) => queue === undefined || importsFrom(mapping.Properties.EventSourceArn, queue, 'Arn'));
  expect(mappings).toHaveLength(1);
  return mappings[0]!.Properties;
};
const functions = [
  ['event router', router.function],
  ['delivery worker', worker.function],
] as const;

describe('event sources', () => {
  it('polls the events queue for the router and both delivery lanes for the worker, nothing else', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);

    expect(mappingOf(template, router.function, ingestion.eventsQueue)).toBeDefined();
    expect(mappingOf(template, worker.function, platform.stateful.deliveryQueue)).toBeDefined();
    expect(mappingOf(template, worker.function, platform.stateful.slowLaneQueue)).toBeDefined();
  });

  it('gives the slow lane its own concurrency, so slow endpoints never take the shared lane’s', () => {
    expect(mappingOf(template, worker.function, platform.stateful.slowLaneQueue)).toMatchObject({
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: config.delivery.batchSize,
      ScalingConfig: { MaximumConcurrency: config.delivery.slowLane.maxConcurrency },
    });
    expect(config.delivery.slowLane.maxConcurrency).toBe(5);
  });

  it.each(functions)('%s reports partial batch failures, with batch size and concurrency from the stage config', (name, fn) => {
    const settings = name === 'event router' ? config.router : config.delivery;
    const queue = name === 'event router' ? ingestion.eventsQueue : platform.stateful.deliveryQueue;

    expect(mappingOf(template, fn, queue)).toMatchObject({
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: settings.batchSize,
      ScalingConfig: { MaximumConcurrency: settings.maxConcurrency },
    });
  });

  it('take a non-default stage config', () => {
    const tuned = buildPlatform({
      bundle: false,
      config: {
        router: { batchSize: 3, maxConcurrency: 2 },
        delivery: {
          batchSize: 5,
          maxConcurrency: 50,
          timeoutSeconds: 45,
          retryScheduleSeconds: [1, 30, 600],
          slowLane: { deadlineMs: 500, holdSeconds: 60, maxConcurrency: 3 },
        },
        deliveryQueue: { visibilityTimeoutSeconds: 270 },
      },
    });
    const tunedTemplate = Template.fromStack(tuned.pipeline);

    expect(mappingOf(tunedTemplate, tuned.pipeline.router.function, ingestion.eventsQueue)).toMatchObject({
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 3,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect(mappingOf(tunedTemplate, tuned.pipeline.worker.function, tuned.stateful.deliveryQueue)).toMatchObject({
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    expect(mappingOf(tunedTemplate, tuned.pipeline.worker.function, tuned.stateful.slowLaneQueue)).toMatchObject({
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    expect(variables(tunedTemplate, tuned.pipeline.worker.function)).toMatchObject({ FAST_LANE_DEADLINE_MS: '500', SLOW_LANE_HOLD_SECONDS: '60' });
    expect(fnProps(tunedTemplate, tuned.pipeline.worker.function).Timeout).toBe(45);
    expect(variables(tunedTemplate, tuned.pipeline.worker.function).RETRY_SCHEDULE).toBe('1,30,600');
  });
});

describe('visibility timeouts', () => {
  const visibilityOf = (queue: IConstruct) => resourceOf(stateful, queue).Properties.VisibilityTimeout as number;

  it('give each queue at least 6x the timeout of the function polling it', () => {
    const workerTimeout = fnProps(template, worker.function).Timeout as number;
    const routerTimeout = fnProps(template, router.function).Timeout as number;

    expect(workerTimeout).toBe(config.delivery.timeoutSeconds);
    expect(visibilityOf(platform.stateful.deliveryQueue)).toBeGreaterThanOrEqual(6 * workerTimeout);
    expect(routerTimeout).toBe(config.router.timeoutSeconds);
    expect(visibilityOf(ingestion.eventsQueue)).toBeGreaterThanOrEqual(6 * routerTimeout);
  });

  it('leave the worker time for one request to a receiver and the table writes around it', () => {
    const timeoutSeconds = fnProps(template, worker.function).Timeout as number;
    const requestTimeoutMs = Number(variables(template, worker.function).REQUEST_TIMEOUT_MS);

    expect(requestTimeoutMs).toBeLessThanOrEqual(15_000);
    expect(timeoutSeconds).toBeGreaterThanOrEqual(requestTimeoutMs / 1000 + 10);
  });
});

describe('environment', () => {
  it('gives the worker its retry schedule, timeouts and URL guards from the stage config', () => {
    expect(variables(template, worker.function)).toMatchObject({
      RETRY_SCHEDULE: config.delivery.retryScheduleSeconds.join(','),
      REQUEST_TIMEOUT_MS: String(config.delivery.requestTimeoutMs),
      CONNECT_TIMEOUT_MS: String(config.delivery.connectTimeoutMs),
      ALLOW_HTTP_URLS: 'false',
      ALLOW_PRIVATE_DESTINATIONS: 'false',
      FAST_LANE_DEADLINE_MS: '2000',
      SLOW_LANE_HOLD_SECONDS: '3600',
    });
  });

  it('refuses a slow lane deadline no shorter than the request timeout: it would never move a job', () => {
    expect(() =>
      buildPlatform({ bundle: false, config: { delivery: { requestTimeoutMs: 2000, slowLane: { deadlineMs: 2000 } } } }),
    ).toThrow(/slowLane\.deadlineMs must be an integer from 1 to requestTimeoutMs - 1 \(1999\), got 2000/);
  });

  it('names in each function exactly the table and queues it is granted', () => {
    const worker_ = variables(template, worker.function);
    const router_ = variables(template, router.function);

    expect(importsFrom(worker_.TABLE_NAME, platform.stateful.table, 'Ref')).toBe(true);
    expect(importsFrom(worker_.DELIVERY_QUEUE_URL, platform.stateful.deliveryQueue, 'Ref')).toBe(true);
    expect(importsFrom(worker_.SLOW_LANE_QUEUE_URL, platform.stateful.slowLaneQueue, 'Ref')).toBe(true);
    expect(importsFrom(worker_.DELIVERY_DLQ_URL, platform.stateful.deliveryDeadLetterQueue, 'Ref')).toBe(true);
    expect(worker_.REJECTED_EVENTS_QUEUE_URL).toBeUndefined();

    expect(importsFrom(router_.TABLE_NAME, platform.stateful.table, 'Ref')).toBe(true);
    expect(importsFrom(router_.DELIVERY_QUEUE_URL, platform.stateful.deliveryQueue, 'Ref')).toBe(true);
    expect(importsFrom(router_.REJECTED_EVENTS_QUEUE_URL, ingestion.rejectedEventsQueue, 'Ref')).toBe(true);
    expect(router_.DELIVERY_DLQ_URL).toBeUndefined();
    expect(importsFrom(router_.SLOW_LANE_QUEUE_URL, platform.stateful.slowLaneQueue, 'Ref')).toBe(true);
    expect(router_.RETRY_SCHEDULE).toBeUndefined();
  });

  it('sets endpoint overrides only when the stage has them', () => {
    const local = buildPlatform({
      bundle: false,
      config: { endpoints: { dynamodb: 'http://localhost:4566', sqs: 'http://localhost:4566' } },
    });
    const localTemplate = Template.fromStack(local.pipeline);

    for (const fn of [local.pipeline.router.function, local.pipeline.worker.function]) {
      expect(variables(localTemplate, fn)).toMatchObject({
        DYNAMODB_ENDPOINT: 'http://localhost:4566',
        SQS_ENDPOINT: 'http://localhost:4566',
      });
    }
    for (const [, fn] of functions) {
      expect(Object.keys(variables(template, fn)).filter((name) => name.endsWith('_ENDPOINT'))).toEqual([]);
    }
  });
});

describe('least privilege', () => {
  const { deliveryQueue, slowLaneQueue, deliveryDeadLetterQueue, table } = platform.stateful;

  it.each([
    ['delivery queue', deliveryQueue],
    ['slow lane’s queue', slowLaneQueue],
  ])('lets the worker park records on the %s, consume it, and queue jobs to it', (_name, queue) => {
    expect(actionsOn(template, worker.function, queue)).toEqual(
      expect.arrayContaining(['sqs:ChangeMessageVisibility', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage']),
    );
  });

  it('lets the worker send exhausted deliveries to the delivery dead-letter queue, and nothing else there', () => {
    expect(actionsOn(template, worker.function, deliveryDeadLetterQueue)).toEqual([
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
  });

  it('lets the router consume the events queue and send to the delivery and rejected-events queues', () => {
    expect(actionsOn(template, router.function, ingestion.eventsQueue)).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']),
    );
    expect(actionsOn(template, router.function, ingestion.eventsQueue)).not.toContain('sqs:SendMessage');
    expect(actionsOn(template, router.function, deliveryQueue)).toEqual(expect.arrayContaining(['sqs:SendMessage']));
    expect(actionsOn(template, router.function, deliveryQueue)).not.toContain('sqs:ReceiveMessage');
    expect(actionsOn(template, router.function, slowLaneQueue)).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    expect(actionsOn(template, router.function, ingestion.rejectedEventsQueue)).toEqual(
      expect.arrayContaining(['sqs:SendMessage']),
    );
  });

  it('keeps each function off the other’s queues', () => {
    expect(actionsOn(template, router.function, deliveryDeadLetterQueue)).toEqual([]);
    expect(actionsOn(template, worker.function, ingestion.rejectedEventsQueue)).toEqual([]);
    expect(actionsOn(template, worker.function, ingestion.eventsQueue)).toEqual([]);
  });

  it('lets the worker Decrypt webhook credentials with the credentials key, and the router not use it at all', () => {
    const keyStatements = (fn: WebhookFunction) =>
      roleStatements(template, fn).filter((statement) => actionsOf(statement).some((action) => action.startsWith('kms:')));
    expect(keyStatements(worker.function)).toEqual([
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Resource: { 'Fn::ImportValue': expect.stringContaining('CredentialsKey') },
        Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'webhook-credentials' } },
      }),
    ]);
    expect(keyStatements(router.function)).toEqual([]);
    expect(Object.keys(variables(template, router.function))).not.toContain('CREDENTIALS_KEY_ID');
  });

  it('grants each function exactly the table item actions its handler makes, on the base table', () => {
    expect(actionsOn(template, router.function, table)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    expect(actionsOn(template, worker.function, table)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
  });

  it.each(functions)('%s can neither Scan nor use wildcard actions; only X-Ray is on "*"', (_name, fn) => {
    for (const statement of roleStatements(template, fn)) {
      const actions = actionsOf(statement);
      expect(actions).not.toContain('dynamodb:Scan');
      for (const action of actions) expect(action).not.toContain('*');
      if (statement.Resource === '*') expect(actions.every((action) => action.startsWith('xray:'))).toBe(true);
      expect(JSON.stringify(statement.Resource)).not.toContain('/index/');
    }
  });

  it.each(functions)('%s role has no AWS managed policy', (_name, fn) => {
    expect(resourceOf(template, fn.role!).Properties.ManagedPolicyArns).toBeUndefined();
  });

  const batchActionNames = ['sqs:ChangeMessageVisibilityBatch', 'sqs:DeleteMessageBatch', 'sqs:SendMessageBatch'];

  it('names no SQS batch action on AWS, which authorizes batches by their single actions', () => {
    for (const [, fn] of functions) {
      for (const statement of roleStatements(template, fn)) expect(actionsOf(statement)).not.toEqual(expect.arrayContaining([expect.stringMatching(/Batch$/)]));
    }
  });

  it('names them too in an emulator stage with emulator.sqsBatchActionGrants, on the same queues only', () => {
    const emulatorStage = buildPlatform({ bundle: false, config: { emulator: { sqsBatchActionGrants: true } } });
    const emulated = Template.fromStack(emulatorStage.pipeline);
    const { router: emulatedRouter, worker: emulatedWorker } = emulatorStage.pipeline;
    const { deliveryQueue: emulatedDeliveries, deliveryDeadLetterQueue: emulatedDlq } = emulatorStage.stateful;
    const batchOn = (fn: WebhookFunction, queue: IConstruct) =>
      actionsOn(emulated, fn, queue).filter((action) => batchActionNames.includes(action));

    expect(batchOn(emulatedRouter.function, emulatedDeliveries)).toEqual(['sqs:SendMessageBatch']);
    expect(batchOn(emulatedRouter.function, emulatorStage.stateful.ingestion.eventsQueue)).toEqual([
      'sqs:ChangeMessageVisibilityBatch',
      'sqs:DeleteMessageBatch',
    ]);
    expect(batchOn(emulatedWorker.function, emulatedDeliveries)).toEqual(batchActionNames);
    expect(batchOn(emulatedWorker.function, emulatedDlq)).toEqual(['sqs:SendMessageBatch']);
    expect(batchOn(emulatedRouter.function, emulatedDlq)).toEqual([]);
  });

  it('drops the encryption-context condition of the credentials grants only in a stage with emulator.kmsEncryptionContextConditions false', () => {
    const emulatorStage = buildPlatform({ bundle: false, config: { emulator: { kmsEncryptionContextConditions: false } } });
    const keyStatements = (stageTemplate: Template, fn: WebhookFunction) =>
      roleStatements(stageTemplate, fn).filter((statement) => actionsOf(statement).some((action) => action.startsWith('kms:')));
    const emulated = [
      ...keyStatements(Template.fromStack(emulatorStage.pipeline), emulatorStage.pipeline.worker.function),
      ...keyStatements(Template.fromStack(emulatorStage.api), emulatorStage.api.functions.webhooksWrite),
    ];
    expect(emulated.map((statement) => [statement.Action].flat().sort())).toEqual([['kms:Decrypt'], ['kms:Decrypt', 'kms:GenerateDataKey']]);
    for (const statement of emulated) expect(statement).not.toHaveProperty('Condition');
    const onAws = [
      ...keyStatements(template, worker.function),
      ...keyStatements(Template.fromStack(platform.api), platform.api.functions.webhooksWrite),
    ];
    expect(onAws).toHaveLength(2);
    for (const statement of onAws) expect(statement).toHaveProperty('Condition');
  });
});

describe('functions', () => {
  it.each(functions)('%s runs Node.js 22 on arm64 with 256 MB, active tracing and its own log group', (_name, fn) => {
    const props = fnProps(template, fn);

    expect(props).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 30,
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
    const logGroup = template.toJSON().Resources[props.LoggingConfig.LogGroup.Ref];
    expect(logGroup.Properties.RetentionInDays).toBe(config.logRetentionDays);
  });

  it('have no asynchronous invoke configuration: only their event sources invoke them', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
    template.resourceCountIs('AWS::Lambda::Permission', 0);
  });
});

describe('bundles', () => {
  const bundlePath = (fn: WebhookFunction) => {
    const s3Key: string = fnProps(template, fn).Code.S3Key;
    return join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs');
  };
  /** The function's environment as deployed, with stand-ins for the table name and queue URLs CloudFormation fills. */
  const deployedEnvironment = (fn: WebhookFunction): Record<string, string> =>
    Object.fromEntries(
      Object.entries(variables(template, fn)).map(([name, value]) => [
        name,
        typeof value === 'string'
          ? value
          : name === 'TABLE_NAME'
            ? 'subscriptions'
            : name === 'CREDENTIALS_KEY_ID'
              ? 'arn:aws:kms:eu-west-1:123456789012:key/credentials'
              : `https://sqs.eu-west-1.amazonaws.com/123456789012/${name.toLowerCase()}`,
      ]),
    );
  const handleEmptyBatch = (fn: WebhookFunction, env: Record<string, string>) => {
    const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(bundlePath(fn)).href)});
      process.stdout.write(JSON.stringify(await handler({ Records: [] }, {})));`;
    return execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', ...env },
    });
  };

  it.each(functions)('%s starts with the environment CDK gives it and answers a batch without AWS', (_name, fn) => {
    expect(JSON.parse(handleEmptyBatch(fn, deployedEnvironment(fn)))).toEqual({ batchItemFailures: [] });
  });

  it('the event router does not bundle the KMS client: it never reads credentials', () => {
    expect(readFileSync(bundlePath(router.function), 'utf8').includes('TrentService')).toBe(false);
    expect(readFileSync(bundlePath(worker.function), 'utf8').includes('TrentService')).toBe(true);
  });

  it.each(functions)("%s takes the credentials Lambda puts in its environment, without the rest of the SDK's default chain", (_name, fn) => {
    const code = readFileSync(bundlePath(fn), 'utf8');

    expect(code).toContain('Unable to find environment variable credentials');
    for (const provider of ['fromSSO', 'fromIni', 'fromProcess', 'fromTokenFile']) expect(code).not.toContain(`defaultProvider::${provider}`);
  });

  it.each([
    ['event router', 'REJECTED_EVENTS_QUEUE_URL', router.function],
    ['delivery worker', 'DELIVERY_DLQ_URL', worker.function],
    ['delivery worker', 'CREDENTIALS_KEY_ID', worker.function],
  ] as const)('%s refuses to start without %s', (_name, variable, fn) => {
    const { [variable]: _omitted, ...env } = deployedEnvironment(fn);

    expect(() => handleEmptyBatch(fn, env)).toThrow(new RegExp(`${variable} is required`));
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Names, Token, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type EventSourceMapping, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnQueue, type IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DATA_KEY_ENCRYPTION_CONTEXT } from '../../functions/adapters/kms/data-key-context.js';
import { repoRoot } from '../paths.js';

/** Where the Lambda entry points live: `functions/handlers/<name>.handler.ts`. */
const HANDLERS_DIR = join(repoRoot, 'functions', 'handlers');

/** Lets the bundled ESM code `require()` Node built-ins pulled in by CommonJS dependencies. */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";
/** What the bundles use in place of the SDK's default credential chain: see functions/handlers/lambda-credentials.ts. */
export const BUNDLED_MODULE_ALIASES = {
  '@aws-sdk/credential-provider-node': join(repoRoot, 'functions', 'handlers', 'lambda-credentials.ts'),
} as const;

/** Item reads a function may be granted, on the base table: never Scan. */
const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'] as const;
/** Item writes a function may be granted (also what TransactWriteItems needs per item). */
const TABLE_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'] as const;
/** The item-level table actions a grant may name; table-level actions, Scan and wildcards are not among them. */
export type TableItemAction = (typeof TABLE_READ_ACTIONS)[number] | (typeof TABLE_WRITE_ACTIONS)[number];

/** The variables naming a queue to send to; each is set only by `sendTo`, together with the grant. */
export type QueueUrlVariable = 'DELIVERY_QUEUE_URL' | 'SLOW_LANE_QUEUE_URL' | 'DELIVERY_DLQ_URL' | 'REJECTED_EVENTS_QUEUE_URL';
/** Names only the grant methods set. */
const INFRASTRUCTURE_VARIABLES: readonly string[] = [
  'TABLE_NAME',
  'DELIVERY_QUEUE_URL',
  'SLOW_LANE_QUEUE_URL',
  'DELIVERY_DLQ_URL',
  'REJECTED_EVENTS_QUEUE_URL',
  'DYNAMODB_ENDPOINT',
  'SQS_ENDPOINT',
  'CREDENTIALS_KEY_ID',
  'KMS_ENDPOINT',
] satisfies readonly ('TABLE_NAME' | QueueUrlVariable | 'DYNAMODB_ENDPOINT' | 'SQS_ENDPOINT' | 'CREDENTIALS_KEY_ID' | 'KMS_ENDPOINT')[];

/**
 * AWS's advice for a queue a Lambda event source polls: a visibility timeout of at least 6x the function timeout,
 * so records of a batch still being processed (or retried by the poller) do not reappear on the queue.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** How a queue-polled function takes its records. */
export interface QueueConsumerOptions {
  /** Records per invocation, 1-10. */
  readonly batchSize: number;
  /** Concurrent invocations the event source may drive, 2-1000. */
  readonly maxConcurrency: number;
}

/** Endpoint overrides for a local CloudFormation emulator; each is set only on functions that use the service. */
export interface ServiceEndpoints {
  /** @default - the regional DynamoDB endpoint */
  readonly dynamodb?: string;
  /** @default - the regional SQS endpoint */
  readonly sqs?: string;
  /** @default - the regional KMS endpoint */
  readonly kms?: string;
}

export interface CredentialsKeyGrantOptions {
  /**
   * Grant only for data keys made for webhook credentials (`kms:EncryptionContext:purpose`); off only in an
   * emulator stage (`emulator.kmsEncryptionContextConditions`).
   * @default true
   */
  readonly encryptionContextCondition?: boolean;
}

export interface WebhookFunctionProps {
  /** The entry point's name: `functions/handlers/<handlerName>.handler.ts`, exporting `handler`. */
  readonly handlerName: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** Retention of the function's log group. */
  readonly logRetention: RetentionDays;
  /**
   * Memory in MB; CPU scales with it.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Endpoint overrides, applied together with the matching grant (`readTable`/`writeTable`/`sendTo`).
   * @default - AWS endpoints
   */
  readonly endpoints?: ServiceEndpoints;
  /**
   * How the function is invoked. Synchronous callers (API Gateway, authorizers) receive the failure themselves, so
   * no dead-letter target is needed; asynchronous functions must configure one (cdk-nag Serverless-LambdaDLQ).
   * Queue functions are polled by an SQS event source (`consume`): a failed record goes back to its queue, whose
   * redrive policy is the dead-letter target, so `consume` requires one.
   * @default 'synchronous'
   */
  readonly invocation?: 'synchronous' | 'asynchronous' | 'queue';
  /**
   * Extra environment variables. Infrastructure names are set by the grant methods, never here.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * A Lambda function of the platform with every default in one place: Node.js 22 on arm64, an ESM bundle built by
 * the local esbuild with the AWS SDK inside, source maps, X-Ray tracing, and its own log group with a retention.
 * Its role starts empty (no AWS managed policy): it may write only to its own log group, and each `readTable`,
 * `writeTable`, `accessTable` and `sendTo` call grants one resource and sets the environment variable naming it,
 * together; `consume` attaches a queue as the function's event source, with the grants polling needs.
 */
export class WebhookFunction extends NodejsFunction {
  private readonly endpoints: ServiceEndpoints;
  private readonly invocation: 'synchronous' | 'asynchronous' | 'queue';
  /** The event source mappings `consume` created, by queue. */
  private readonly consumed = new Map<IQueue, EventSourceMapping>();
  /** The queues `sendTo` granted. */
  private readonly sentTo = new Set<IQueue>();

  constructor(scope: Construct, id: string, props: WebhookFunctionProps) {
    const entry = join(HANDLERS_DIR, `${props.handlerName}.handler.ts`);
    validateProps(scope, id, props, entry);

    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.handlerName}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        banner: ESM_REQUIRE_BANNER,
        esbuildArgs: Object.fromEntries(Object.entries(BUNDLED_MODULE_ALIASES).map(([module, path]) => [`--alias:${module}`, path])),
        // Bundle the AWS SDK instead of relying on the runtime's copy: pinned versions, same code as in tests.
        externalModules: [],
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });
    this.endpoints = props.endpoints ?? {};
    this.invocation = props.invocation ?? 'synchronous';
    if (this.invocation === 'queue') {
      this.node.addValidation({
        validate: () => (this.consumed.size === 0 ? ['invocation is "queue", but consume() was never called'] : []),
      });
    }

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level scoping.',
    });
    if (this.invocation === 'synchronous') {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked synchronously (API Gateway, authorizer): failures return to the caller, nothing to dead-letter.',
      });
    }
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason: 'Pinned to nodejs22.x on purpose: the runtime is upgraded deliberately, with the bundle target.',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason: 'Pinned to nodejs22.x on purpose: the runtime is upgraded deliberately, with the bundle target.',
      },
    );
  }

  /** Read-only item access to the table's base index, and `TABLE_NAME`. */
  readTable(table: ITable): this {
    return this.accessTable(table, TABLE_READ_ACTIONS);
  }

  /** Read and write item access to the table's base index, and `TABLE_NAME`. */
  writeTable(table: ITable): this {
    return this.accessTable(table, [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS]);
  }

  /**
   * Exactly the named item actions on the table's base index (no index, no Scan), and `TABLE_NAME`: for functions
   * whose needs are narrower than `readTable`/`writeTable`.
   */
  accessTable(table: ITable, actions: readonly TableItemAction[]): this {
    const allowed: readonly string[] = [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS];
    const unknown = actions.filter((action) => !allowed.includes(action));
    if (actions.length === 0 || unknown.length > 0 || new Set(actions).size !== actions.length) {
      throw new Error(
        `${this.node.path}: accessTable needs distinct item actions from ${allowed.join(', ')}; got ${actions.join(', ') || 'none'}`,
      );
    }
    this.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [table.tableArn] }));
    const writes = actions.some((action) => (TABLE_WRITE_ACTIONS as readonly string[]).includes(action));
    if (writes) table.encryptionKey?.grantEncryptDecrypt(this);
    else table.encryptionKey?.grantDecrypt(this);
    return this.useTable(table);
  }

  /**
   * kms:Decrypt with the credentials key (from data keys made for webhook credentials only), and
   * `CREDENTIALS_KEY_ID`: the function reads webhook credentials in plaintext (the delivery worker).
   */
  openCredentials(key: IKey, options: CredentialsKeyGrantOptions = {}): this {
    return this.useCredentialsKey(key, ['kms:Decrypt'], options);
  }

  /** Also kms:GenerateDataKey: the function seals webhook credentials too (the write API). */
  sealCredentials(key: IKey, options: CredentialsKeyGrantOptions = {}): this {
    return this.useCredentialsKey(key, ['kms:Decrypt', 'kms:GenerateDataKey'], options);
  }

  private useCredentialsKey(key: IKey, actions: readonly string[], options: CredentialsKeyGrantOptions): this {
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [...actions],
        resources: [key.keyArn],
        ...(options.encryptionContextCondition !== false && {
          conditions: { StringEquals: { 'kms:EncryptionContext:purpose': DATA_KEY_ENCRYPTION_CONTEXT.purpose } },
        }),
      }),
    );
    this.addEnvironment('CREDENTIALS_KEY_ID', key.keyArn);
    if (this.endpoints.kms) this.addEnvironment('KMS_ENDPOINT', this.endpoints.kms);
    return this;
  }

  /**
   * Permission to send to the queue (sqs:SendMessage, which also covers SendMessageBatch), and the variable naming
   * it: `DELIVERY_QUEUE_URL` unless told otherwise.
   */
  sendTo(queue: IQueue, variable: QueueUrlVariable = 'DELIVERY_QUEUE_URL'): this {
    queue.grantSendMessages(this);
    this.sentTo.add(queue);
    this.addEnvironment(variable, queue.queueUrl);
    if (this.endpoints.sqs) this.addEnvironment('SQS_ENDPOINT', this.endpoints.sqs);
    return this;
  }

  /**
   * Also grants the SQS batch actions by their own names on the queues this function sends to and consumes:
   * sqs:SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch. AWS authorizes them by their single
   * actions, which `sendTo` and `consume` grant; only an emulator stage needs this (`emulator.sqsBatchActionGrants`).
   * Call it once every `sendTo` and `consume` is made.
   */
  grantSqsBatchActionNames(): void {
    for (const queue of this.sentTo) queue.grant(this, 'sqs:SendMessageBatch');
    for (const queue of this.consumed.keys()) queue.grant(this, 'sqs:DeleteMessageBatch', 'sqs:ChangeMessageVisibilityBatch');
  }

  /**
   * Makes the queue this function's event source: an event source mapping reporting partial batch failures (a
   * handler returns `{ batchItemFailures }`, so one failed record does not send the whole batch back), and the
   * consume grant (sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility, which the delivery worker also uses
   * to park records that are not due, GetQueueAttributes, GetQueueUrl). The queue must have a dead-letter queue,
   * which is where records this function keeps failing on end: the function's failure destination.
   */
  consume(queue: IQueue, options: QueueConsumerOptions): EventSourceMapping {
    const where = this.node.path;
    if (this.invocation !== 'queue') {
      throw new Error(`${where}: consume() needs invocation "queue", got "${this.invocation}"`);
    }
    if (this.consumed.has(queue)) throw new Error(`${where}: already consumes ${queue.node.path}`);
    const redrive = queue instanceof Queue ? queue.deadLetterQueue : undefined;
    if (!redrive) {
      throw new Error(`${where}: ${queue.node.path} has no dead-letter queue; failed records would be retried until they expire`);
    }
    validateConsumerOptions(where, options);
    const visibilityTimeout = (queue.node.defaultChild as CfnQueue | undefined)?.visibilityTimeout;
    const timeoutSeconds = this.timeout?.toSeconds() ?? 3;
    if (
      typeof visibilityTimeout === 'number' &&
      !Token.isUnresolved(visibilityTimeout) &&
      visibilityTimeout < VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds
    ) {
      throw new Error(
        `${where}: the visibility timeout of ${queue.node.path} (${visibilityTimeout}s) must be at least ` +
          `${VISIBILITY_TIMEOUT_FACTOR}x the function timeout (${timeoutSeconds}s)`,
      );
    }

    const mapping = this.addEventSourceMapping(`SqsEventSource${Names.nodeUniqueId(queue.node)}`, {
      eventSourceArn: queue.queueArn,
      batchSize: options.batchSize,
      maxConcurrency: options.maxConcurrency,
      reportBatchItemFailures: true,
    });
    queue.grantConsumeMessages(this);
    this.consumed.set(queue, mapping);

    const deadLetters = `${redrive.queue.node.path} after ${redrive.maxReceiveCount} receives`;
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: `Invoked only by the SQS event source of ${queue.node.path}: failed records return to the queue, whose redrive policy moves them to ${deadLetters}.`,
    });
    Validations.of(mapping).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: `SQS event sources take no on-failure destination; the source queue's redrive policy moves failed records to ${deadLetters}.`,
    });
    return mapping;
  }

  private useTable(table: ITable): this {
    this.addEnvironment('TABLE_NAME', table.tableName);
    if (this.endpoints.dynamodb) this.addEnvironment('DYNAMODB_ENDPOINT', this.endpoints.dynamodb);
    return this;
  }
}

const validateProps = (scope: Construct, id: string, props: WebhookFunctionProps, entry: string): void => {
  const where = `${scope.node.path}/${id}`;
  if (!/^[a-z][a-z0-9-]*$/.test(props.handlerName)) {
    throw new Error(`${where}: handlerName "${props.handlerName}" must be kebab-case, e.g. "webhooks-read"`);
  }
  if (!existsSync(entry)) {
    throw new Error(`${where}: no entry point at ${entry}`);
  }
  const memorySize = props.memorySize;
  if (memorySize !== undefined && !Token.isUnresolved(memorySize) && (memorySize < 128 || memorySize > 10_240)) {
    throw new Error(`${where}: memorySize must be 128-10240 MB, got ${memorySize}`);
  }
  const timeout = props.timeout;
  if (timeout !== undefined && !timeout.isUnresolved()) {
    const seconds = timeout.toSeconds();
    if (seconds < 1 || seconds > 900) throw new Error(`${where}: timeout must be 1-900 seconds, got ${seconds}`);
  }
  for (const name of Object.keys(props.environment ?? {})) {
    if (INFRASTRUCTURE_VARIABLES.includes(name)) {
      throw new Error(`${where}: set ${name} through readTable/writeTable/accessTable/sendTo, which also grant access`);
    }
  }
};

const validateConsumerOptions = (where: string, { batchSize, maxConcurrency }: QueueConsumerOptions): void => {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new Error(`${where}: batchSize must be 1-10 (more needs a batching window), got ${batchSize}`);
  }
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
    throw new Error(`${where}: maxConcurrency must be 2-1000, got ${maxConcurrency}`);
  }
};

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Token, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { repoRoot } from '../paths.js';

/** Where the Lambda entry points live: `functions/handlers/<name>.handler.ts`. */
const HANDLERS_DIR = join(repoRoot, 'functions', 'handlers');

/** Lets the bundled ESM code `require()` Node built-ins pulled in by CommonJS dependencies. */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** Actions of the read-only table grant: item reads and queries on the base table. */
const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
/** Actions added by the read/write grant: item writes (also what TransactWriteItems needs per item). */
const TABLE_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/** Endpoint overrides for a local CloudFormation emulator; each is set only on functions that use the service. */
export interface ServiceEndpoints {
  /** @default - the regional DynamoDB endpoint */
  readonly dynamodb?: string;
  /** @default - the regional SQS endpoint */
  readonly sqs?: string;
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
   * @default 'synchronous'
   */
  readonly invocation?: 'synchronous' | 'asynchronous';
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
 * `writeTable` and `sendTo` call grants one resource and sets the environment variable naming it, together.
 */
export class WebhookFunction extends NodejsFunction {
  private readonly endpoints: ServiceEndpoints;

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
        // Bundle the AWS SDK instead of relying on the runtime's copy: pinned versions, same code as in tests.
        externalModules: [],
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });
    this.endpoints = props.endpoints ?? {};

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level scoping.',
    });
    if ((props.invocation ?? 'synchronous') === 'synchronous') {
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
    this.addToRolePolicy(new PolicyStatement({ actions: TABLE_READ_ACTIONS, resources: [table.tableArn] }));
    table.encryptionKey?.grantDecrypt(this);
    return this.useTable(table);
  }

  /** Read and write item access to the table's base index, and `TABLE_NAME`. */
  writeTable(table: ITable): this {
    this.addToRolePolicy(
      new PolicyStatement({ actions: [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS], resources: [table.tableArn] }),
    );
    table.encryptionKey?.grantEncryptDecrypt(this);
    return this.useTable(table);
  }

  /** Permission to send to the delivery queue, and `DELIVERY_QUEUE_URL`. */
  sendTo(queue: IQueue): this {
    queue.grantSendMessages(this);
    this.addEnvironment('DELIVERY_QUEUE_URL', queue.queueUrl);
    if (this.endpoints.sqs) this.addEnvironment('SQS_ENDPOINT', this.endpoints.sqs);
    return this;
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
    if (['TABLE_NAME', 'DELIVERY_QUEUE_URL', 'DYNAMODB_ENDPOINT', 'SQS_ENDPOINT'].includes(name)) {
      throw new Error(`${where}: set ${name} through readTable/writeTable/sendTo, which also grant access`);
    }
  }
};

#!/usr/bin/env -S npx tsx
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import * as z from 'zod';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDeliveryRepository } from '../functions/adapters/dynamodb/delivery.repository.js';
import { createDocumentClient } from '../functions/adapters/dynamodb/document-client.js';
import { DynamoApiKeyRepository, DynamoTenantRepository } from '../functions/adapters/dynamodb/tenant.repository.js';
import { SqsDeadLetterSource } from '../functions/adapters/sqs/dead-letter-source.js';
import { SqsDeliveryJobQueue } from '../functions/adapters/sqs/delivery-queue.js';
import type { Scope } from '../functions/domain/api-key.js';
import { DeadLetterRedrive } from '../functions/domain/delivery/dead-letter-redrive.service.js';
import { DomainError } from '../functions/domain/errors.js';
import { TenantAdminService } from '../functions/domain/tenant-admin.service.js';
import { systemClock } from '../functions/handlers/wiring.js';
import { type LocalTarget, localTargetFile } from '../local/platform.js';

/**
 * The operator CLI (`npm run admin -- ...` or `npx webhooks ...`). It targets the running local platform by
 * default, or a deployed stack: `--stack Webhooks-dev` resolves the names from the stack outputs, or give them
 * with `--table`, `--delivery-queue-url`, `--delivery-dlq-url` (credentials and region from the SDK chain;
 * AWS_ENDPOINT_URL_* override endpoints).
 */
interface TargetOptions {
  readonly stack?: string;
  readonly table?: string;
  readonly deliveryQueueUrl?: string;
  readonly deliveryDlqUrl?: string;
  readonly eventBus?: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly sqsEndpoint?: string;
  readonly dataDir: string;
}

interface Target {
  readonly tableName: string;
  readonly region?: string;
  readonly dynamoDbEndpoint?: string;
  readonly sqsEndpoint?: string;
  readonly deliveryQueueUrl?: string;
  readonly deliveryDeadLetterQueueUrl?: string;
  /** Where PutEvents goes: the local platform's URL, or the deployed bus. */
  readonly eventsEndpoint?: string;
  readonly eventBusName?: string;
  readonly local: boolean;
}

const resolveTarget = async (options: TargetOptions): Promise<Target> => {
  if (options.stack) return stackTarget(options);
  if (options.table) {
    return {
      tableName: options.table,
      ...(options.region && { region: options.region }),
      ...(options.endpoint && { dynamoDbEndpoint: options.endpoint }),
      ...(options.sqsEndpoint && { sqsEndpoint: options.sqsEndpoint }),
      ...(options.deliveryQueueUrl && { deliveryQueueUrl: options.deliveryQueueUrl }),
      ...(options.deliveryDlqUrl && { deliveryDeadLetterQueueUrl: options.deliveryDlqUrl }),
      ...(options.eventBus && { eventBusName: options.eventBus }),
      local: false,
    };
  }
  let target: LocalTarget;
  try {
    target = JSON.parse(readFileSync(localTargetFile(resolve(options.dataDir)), 'utf8')) as LocalTarget;
  } catch {
    throw new CliError(
      `No local platform found in ${resolve(options.dataDir)}: start it with "npm start", or pass --stack or --table for a deployed stack`,
    );
  }
  return { ...target, eventsEndpoint: target.url, local: true };
};

/** Names from the outputs of the stage's stateful stack (`<stack>-Stateful`, e.g. Webhooks-dev-Stateful). */
const stackTarget = async (options: TargetOptions): Promise<Target> => {
  const cloudFormation = new CloudFormationClient({ ...(options.region && { region: options.region }) });
  const stackName = `${options.stack}-Stateful`;
  const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map((Stacks[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const tableName = outputs.get('TableName');
  if (!tableName) throw new CliError(`Stack ${stackName} has no TableName output`);
  return {
    tableName,
    ...(options.region && { region: options.region }),
    ...(outputs.get('DeliveryQueueUrl') && { deliveryQueueUrl: outputs.get('DeliveryQueueUrl') }),
    ...(outputs.get('DeliveryDeadLetterQueueUrl') && { deliveryDeadLetterQueueUrl: outputs.get('DeliveryDeadLetterQueueUrl') }),
    ...(outputs.get('EventBusName') && { eventBusName: outputs.get('EventBusName') }),
    local: false,
  };
};

/** Where `publish` sends PutEvents: a named bus needs nothing else of the stack (no table, no queues). */
type EventsTarget = Pick<Target, 'region' | 'eventsEndpoint' | 'eventBusName' | 'local'>;

const eventsTarget = async (options: TargetOptions): Promise<EventsTarget> =>
  options.eventBus
    ? { eventBusName: options.eventBus, ...(options.region && { region: options.region }), local: false }
    : resolveTarget(options);

const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

const adminFor = async (options: TargetOptions): Promise<TenantAdminService> => {
  const target = await resolveTarget(options);
  const db = createDocumentClient({
    ...(target.region && { region: target.region }),
    ...(target.dynamoDbEndpoint && { endpoint: target.dynamoDbEndpoint }),
    ...(target.local && { credentials: localCredentials }),
  });
  return new TenantAdminService({
    tenants: new DynamoTenantRepository(db, target.tableName),
    keys: new DynamoApiKeyRepository(db, target.tableName),
    clock: systemClock,
  });
};

const deliveryRepositoryFor = (target: Target) =>
  new DynamoDeliveryRepository(
    createDocumentClient({
      ...(target.region && { region: target.region }),
      ...(target.dynamoDbEndpoint && { endpoint: target.dynamoDbEndpoint }),
      ...(target.local && { credentials: localCredentials }),
    }),
    target.tableName,
    systemClock,
  );

const redriveFor = async (options: TargetOptions): Promise<DeadLetterRedrive> => {
  const target = await resolveTarget(options);
  if (!target.deliveryQueueUrl || !target.deliveryDeadLetterQueueUrl) {
    throw new CliError('The delivery queue and its DLQ are unknown: pass --stack, or --delivery-queue-url and --delivery-dlq-url');
  }
  const sqs = new SQSClient({
    ...(target.region && { region: target.region }),
    ...(target.sqsEndpoint && { endpoint: target.sqsEndpoint, useQueueUrlAsEndpoint: false }),
    ...(target.local && { credentials: localCredentials }),
  });
  return new DeadLetterRedrive({
    source: new SqsDeadLetterSource(sqs, target.deliveryDeadLetterQueueUrl),
    jobs: new SqsDeliveryJobQueue(sqs, target.deliveryQueueUrl),
    deliveries: deliveryRepositoryFor(target),
  });
};

class CliError extends Error {}

const parseScopes = (value: string): Scope[] => {
  const scopes = value.split(/[,+]/).map((scope) => scope.trim());
  return scopes.map((scope) => {
    if (scope === 'read' || scope === 'webhooks:read') return 'webhooks:read';
    if (scope === 'write' || scope === 'webhooks:write') return 'webhooks:write';
    throw new InvalidArgumentError(`unknown scope "${scope}" (use read, write or read,write)`);
  });
};

const program = new Command('webhooks')
  .description('Operate the webhook platform: tenants, API keys, events, deliveries, dead letters')
  .addOption(new Option('--stack <prefix>', 'deployed stage, e.g. Webhooks-dev: names come from its stack outputs').env('WEBHOOKS_STACK'))
  .addOption(new Option('--table <name>', 'DynamoDB table of a deployed stack (stack output TableName)').env('WEBHOOKS_TABLE_NAME'))
  .addOption(new Option('--delivery-queue-url <url>', 'delivery queue (output DeliveryQueueUrl)').env('WEBHOOKS_DELIVERY_QUEUE_URL'))
  .addOption(new Option('--delivery-dlq-url <url>', 'delivery DLQ (output DeliveryDeadLetterQueueUrl)').env('WEBHOOKS_DELIVERY_DLQ_URL'))
  .addOption(new Option('--region <region>', 'AWS region of the deployed stack').env('AWS_REGION'))
  .addOption(new Option('--endpoint <url>', 'DynamoDB endpoint override (DynamoDB Local, emulators)').env('DYNAMODB_ENDPOINT'))
  .addOption(new Option('--event-bus <name>', 'event bus of a deployed stack (output EventBusName)').env('WEBHOOKS_EVENT_BUS'))
  .addOption(new Option('--sqs-endpoint <url>', 'SQS endpoint override (emulators)').env('SQS_ENDPOINT'))
  .addOption(new Option('--data-dir <dir>', 'data folder of the local platform').env('DATA_DIR').default('.data'))
  .showHelpAfterError();

const admin = () => adminFor(program.opts<TargetOptions>());
const redrive = () => redriveFor(program.opts<TargetOptions>());
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

const tenant = program.command('tenant').description('Manage tenants');
tenant
  .command('create <tenantId>')
  .description('Create a tenant (lowercase letters, digits, _ and -)')
  .option('--name <name>', 'display name')
  .action(async (tenantId: string, options: { name?: string }) => print(await (await admin()).createTenant(tenantId, options.name)));

const key = program.command('key').description('Manage API keys');
key
  .command('create <tenantId>')
  .description('Create an API key; it is printed once and only its hash is stored')
  .option('--scopes <scopes>', 'read, write or read,write', parseScopes, ['webhooks:read', 'webhooks:write'] as Scope[])
  .option('--description <text>', 'what the key is for')
  .action(async (tenantId: string, options: { scopes: Scope[]; description?: string }) => {
    const { key: apiKey, record } = await (await admin()).createKey(tenantId, {
      scopes: options.scopes,
      ...(options.description !== undefined && { description: options.description }),
    });
    print({ key: apiKey, keyId: record.keyId, tenantId: record.tenantId, scopes: record.scopes });
  });
key
  .command('list <tenantId>')
  .description("List a tenant's keys (never the keys themselves)")
  .action(async (tenantId: string) =>
    print((await (await admin()).listKeys(tenantId)).map(({ keyHash: _hash, ...visible }) => visible)),
  );
key
  .command('revoke <tenantId> <keyId>')
  .description('Revoke a key; requests with it get 401 from then on')
  .action(async (tenantId: string, keyId: string) => {
    await (await admin()).revokeKey(tenantId, keyId);
    print({ revoked: keyId });
  });

const parseSince = (value: string): Date => {
  const since = new Date(value);
  if (Number.isNaN(since.getTime())) throw new InvalidArgumentError('must be an ISO time, e.g. 2026-01-01T00:00:00Z');
  return since;
};
interface DlqFilterOptions {
  readonly webhook?: string;
  readonly since?: Date;
}
const filterOf = (options: DlqFilterOptions) => ({
  ...(options.webhook !== undefined && { webhookId: options.webhook }),
  ...(options.since !== undefined && { since: options.since }),
});

const dlq = program.command('dlq').description('Dead-lettered deliveries: list, show, redrive through the normal path');
dlq
  .command('list')
  .description('List dead-lettered deliveries (messages stay on the queue)')
  .option('--webhook <id>', 'only this webhook')
  .option('--since <time>', 'only those dead-lettered since then (ISO time)', parseSince)
  .action(async (options: DlqFilterOptions) => {
    const entries = await (await redrive()).list(filterOf(options));
    print(
      entries.map((entry) => ({
        messageId: entry.messageId,
        kind: entry.kind,
        deadLetteredAt: entry.deadLetteredAt,
        tenantId: entry.job.tenantId,
        webhookId: entry.job.webhookId,
        deliveryId: entry.job.deliveryId,
        eventId: entry.job.event.id,
        eventType: entry.job.event.type,
        ...(entry.attempts !== undefined && { attempts: entry.attempts }),
        ...(entry.lastError !== undefined && { lastError: entry.lastError }),
      })),
    );
  });
dlq
  .command('show <id>')
  .description('Show one dead-lettered delivery, by message id or delivery id, with its event')
  .action(async (id: string) => {
    const entry = (await (await redrive()).list()).find((candidate) => candidate.messageId === id || candidate.job.deliveryId === id);
    if (!entry) throw new CliError(`No dead-lettered delivery ${id}`);
    print(entry);
  });
dlq
  .command('redrive')
  .description('Send dead-lettered deliveries again, with the same webhook-id and a fresh retry schedule')
  .option('--webhook <id>', 'only this webhook')
  .option('--since <time>', 'only those dead-lettered since then (ISO time)', parseSince)
  .action(async (options: DlqFilterOptions) => {
    const result = await (await redrive()).redrive(filterOf(options), (done, total) => {
      if (done % 100 === 0 || done === total) process.stderr.write(`redriven ${done}/${total}\n`);
    });
    print(result);
  });

program
  .command('publish <type> <tenantId> <data>')
  .description('Publish an event with EventBridge PutEvents, as a producer service does (data: JSON)')
  .option('--source <source>', 'EventBridge Source; must be an allowed source of the deployment', 'local.publisher')
  .option('--id <id>', 'idempotency id: the same id is delivered once per webhook')
  .option('--attribute <name=value...>', 'attributes matched against webhook filters')
  .action(async (type: string, tenantId: string, data: string, options: { source: string; id?: string; attribute?: string[] }) => {
    const target = await eventsTarget(program.opts<TargetOptions>());
    if (!target.local && !target.eventBusName) throw new CliError('The event bus is unknown: pass --stack or --event-bus');
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      throw new CliError('data must be JSON');
    }
    const attributes = Object.fromEntries((options.attribute ?? []).map((pair) => pair.split(/=(.*)/s).slice(0, 2)));
    const events = new EventBridgeClient({
      ...(target.region && { region: target.region }),
      ...(target.eventsEndpoint && { endpoint: target.eventsEndpoint }),
      ...(target.local && { credentials: localCredentials }),
    });
    const detail = { tenantId, data: parsed, ...(options.id && { id: options.id }), ...(options.attribute && { attributes }) };
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: options.source,
            DetailType: type,
            Detail: JSON.stringify(detail),
            ...(target.eventBusName && { EventBusName: target.eventBusName }),
          },
        ],
      }),
    );
    print(result.Entries);
    if (result.FailedEntryCount) process.exitCode = 1;
  });

program
  .command('tail <tenantId> <webhookId>')
  .description("Follow a webhook's deliveries: one JSON line per new attempt or status change")
  .option('--interval <seconds>', 'poll interval', (value) => Number(value), 2)
  .option('--for <seconds>', 'stop after this long (default: until interrupted)', (value) => Number(value))
  .action(async (tenantId: string, webhookId: string, options: { interval: number; for?: number }) => {
    const deliveries = deliveryRepositoryFor(await resolveTarget(program.opts<TargetOptions>()));
    const seen = new Map<string, string>();
    const stopAt = options.for === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.for * 1000;
    while (Date.now() < stopAt) {
      const { items } = await deliveries.list(tenantId, webhookId, { limit: 100 });
      for (const delivery of [...items].reverse()) {
        const version = `${delivery.status}/${delivery.attempts.length}`;
        if (seen.get(delivery.id) === version) continue;
        seen.set(delivery.id, version);
        const last = delivery.attempts.at(-1);
        process.stdout.write(
          `${JSON.stringify({
            deliveryId: delivery.id,
            eventId: delivery.event.id,
            eventType: delivery.event.type,
            status: delivery.status,
            attempts: delivery.attempts.length,
            ...(last && { lastAttempt: last }),
            ...(delivery.nextAttemptAt && { nextAttemptAt: delivery.nextAttemptAt }),
          })}\n`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(options.interval * 1000, Math.max(0, stopAt - Date.now()))));
    }
  });

program.parseAsync().catch((error: unknown) => {
  const message =
    error instanceof CliError || error instanceof DomainError
      ? error.message
      : error instanceof z.ZodError
        ? `invalid input: ${z.prettifyError(error)}`
        : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = 1;
});

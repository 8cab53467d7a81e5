#!/usr/bin/env -S npx tsx
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { createDocumentClient } from '../functions/adapters/dynamodb/document-client.js';
import { DynamoApiKeyRepository, DynamoTenantRepository } from '../functions/adapters/dynamodb/tenant.repository.js';
import type { Scope } from '../functions/domain/api-key.js';
import { DomainError } from '../functions/domain/errors.js';
import { TenantAdminService } from '../functions/domain/tenant-admin.service.js';
import { systemClock } from '../functions/handlers/wiring.js';
import { type LocalTarget, localTargetFile } from '../local/platform.js';

/**
 * The operator CLI (`npm run admin -- ...` or `npx webhooks ...`). It targets the running local platform by
 * default, or a deployed stack's table with --table (AWS credentials and region from the usual SDK chain).
 */
interface TargetOptions {
  readonly table?: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly dataDir: string;
}

const adminFor = (options: TargetOptions): TenantAdminService => {
  const target = options.table ? deployedTarget(options) : localTarget(options.dataDir);
  const db = createDocumentClient({
    ...(target.region && { region: target.region }),
    ...(target.endpoint && { endpoint: target.endpoint }),
    ...(target.local && { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
  return new TenantAdminService({
    tenants: new DynamoTenantRepository(db, target.tableName),
    keys: new DynamoApiKeyRepository(db, target.tableName),
    clock: systemClock,
  });
};

const deployedTarget = (options: TargetOptions) => ({
  tableName: options.table!,
  region: options.region,
  endpoint: options.endpoint,
  local: false,
});

const localTarget = (dataDir: string) => {
  let target: LocalTarget;
  try {
    target = JSON.parse(readFileSync(localTargetFile(resolve(dataDir)), 'utf8')) as LocalTarget;
  } catch {
    throw new CliError(`No local platform found in ${resolve(dataDir)}: start it with "npm start", or pass --table for a deployed stack`);
  }
  return { tableName: target.tableName, region: target.region, endpoint: target.dynamoDbEndpoint, local: true };
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
  .description('Operate the webhook platform: tenants and API keys')
  .addOption(new Option('--table <name>', 'DynamoDB table of a deployed stack (stack output TableName)').env('WEBHOOKS_TABLE_NAME'))
  .addOption(new Option('--region <region>', 'AWS region of the deployed stack').env('AWS_REGION'))
  .addOption(new Option('--endpoint <url>', 'DynamoDB endpoint override (DynamoDB Local, emulators)').env('DYNAMODB_ENDPOINT'))
  .addOption(new Option('--data-dir <dir>', 'data folder of the local platform').env('DATA_DIR').default('.data'))
  .showHelpAfterError();

const admin = () => adminFor(program.opts<TargetOptions>());
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

const tenant = program.command('tenant').description('Manage tenants');
tenant
  .command('create <tenantId>')
  .description('Create a tenant (lowercase letters, digits, _ and -)')
  .option('--name <name>', 'display name')
  .action(async (tenantId: string, options: { name?: string }) => print(await admin().createTenant(tenantId, options.name)));

const key = program.command('key').description('Manage API keys');
key
  .command('create <tenantId>')
  .description('Create an API key; it is printed once and only its hash is stored')
  .option('--scopes <scopes>', 'read, write or read,write', parseScopes, ['webhooks:read', 'webhooks:write'] as Scope[])
  .option('--description <text>', 'what the key is for')
  .action(async (tenantId: string, options: { scopes: Scope[]; description?: string }) => {
    const { key: apiKey, record } = await admin().createKey(tenantId, {
      scopes: options.scopes,
      ...(options.description !== undefined && { description: options.description }),
    });
    print({ key: apiKey, keyId: record.keyId, tenantId: record.tenantId, scopes: record.scopes });
  });
key
  .command('list <tenantId>')
  .description("List a tenant's keys (never the keys themselves)")
  .action(async (tenantId: string) =>
    print((await admin().listKeys(tenantId)).map(({ keyHash: _hash, ...visible }) => visible)),
  );
key
  .command('revoke <tenantId> <keyId>')
  .description('Revoke a key; requests with it get 401 from then on')
  .action(async (tenantId: string, keyId: string) => {
    await admin().revokeKey(tenantId, keyId);
    print({ revoked: keyId });
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

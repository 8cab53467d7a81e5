import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLED_MODULE_ALIASES, ESM_REQUIRE_BANNER } from '../../../lib/constructs/webhook-function.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The six Lambda functions of the platform, by handler name (`functions/handlers/<name>.handler.ts`). */
export const HANDLER_NAMES = [
  'webhooks-read',
  'webhooks-write',
  'catalogue',
  'authorizer',
  'event-router',
  'delivery-worker',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];
export const BARE = 'bare';

export interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
}

/**
 * Builds one entry as `WebhookFunction` (lib/constructs/webhook-function.ts) has NodejsFunction build each
 * function: esbuild, ESM, target node22, platform node, main fields module,main, minified, external source map
 * without sources content, the createRequire banner, the module aliases (the Lambda credential chain), and no
 * external modules (the AWS SDK is bundled).
 */
export const buildBundle = async (name: string, entry: string, outDir: string): Promise<Bundle> => {
  const dir = join(outDir, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    outfile: file,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: ESM_REQUIRE_BANNER },
    alias: { ...BUNDLED_MODULE_ALIASES },
    logLevel: 'warning',
    absWorkingDir: repoRoot,
  });
  const code = readFileSync(file);
  return { name, file, bytes: code.length, gzipBytes: gzipSync(code).length, sourceMapBytes: statSync(`${file}.map`).size };
};

/** The six function bundles and the bare baseline handler, built the same way. */
export const buildBundles = async (outDir: string): Promise<Record<string, Bundle>> => {
  const bundles: Record<string, Bundle> = {};
  for (const name of HANDLER_NAMES) {
    bundles[name] = await buildBundle(name, join(repoRoot, 'functions', 'handlers', `${name}.handler.ts`), outDir);
  }
  bundles[BARE] = await buildBundle(BARE, join(repoRoot, 'test', 'bench', 'fixtures', 'bare.handler.ts'), outDir);
  return bundles;
};

/** Single-dependency bundles (test/bench/fixtures/components), to attribute import time. */
export const COMPONENTS = {
  zod: 'zod alone',
  contracts: 'the zod contracts (schemas, catalogue, routes)',
  'dynamodb-client': '@aws-sdk/client-dynamodb + lib-dynamodb, one client',
  'sqs-client': '@aws-sdk/client-sqs, one client',
  'http-sender': 'the delivery sender: node:http/https agents and the SSRF guard',
  powertools: 'Powertools Logger + Metrics',
  middy: '@middy/core + http-header-normalizer',
  openapi: 'zod-to-openapi + the OpenAPI builder',
} as const;

export const buildComponentBundles = async (outDir: string): Promise<Record<string, Bundle>> => {
  const bundles: Record<string, Bundle> = {};
  for (const name of Object.keys(COMPONENTS)) {
    bundles[name] = await buildBundle(`component-${name}`, join(repoRoot, 'test', 'bench', 'fixtures', 'components', `${name}.ts`), outDir);
  }
  return bundles;
};

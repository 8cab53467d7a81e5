import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPlatformProcess } from '../support/local-platform-process.js';

/**
 * The contract test's run: `npm start`'s local platform (a throwaway data folder, a known key, a region other than
 * the default) and schemathesis against the OpenAPI document it serves, generating valid and invalid requests for
 * every operation (destructive ones included) and checking every answer against the document. Exits with
 * schemathesis's status: 0 only when it found nothing.
 *
 * Run it through test/contract/in-network-namespace.sh (the Jest test does): the fuzzer creates webhooks with URLs
 * of its own choosing and pings them, and in a network namespace of their own those deliveries can only reach the
 * loopback interface.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const SCHEMATHESIS = join(ROOT, '.tools/venv-schemathesis/bin/schemathesis');

/** The bounds of one run: together with starting the platform they keep it within 3 minutes on 2 cores. */
const CONTRACT_RUN = {
  /** schemathesis's whole budget: fuzzing and stateful testing repeat until it is spent. */
  maxTimeSeconds: Number(process.env.CONTRACT_MAX_TIME_SECONDS ?? 100),
  maxExamplesPerOperation: 30,
  /** Fixed, so a finding reproduces; CONTRACT_SEED picks another. */
  seed: Number(process.env.CONTRACT_SEED ?? 20260101),
} as const;

const API_KEY = 'contract-test-key';
const REGION = 'eu-west-1';

const main = async (): Promise<number> => {
  if (!existsSync(SCHEMATHESIS)) {
    process.stderr.write(`${SCHEMATHESIS} is missing: run npm run emulators:install\n`);
    return 2;
  }
  const platform = await startPlatformProcess({ DEV_API_KEY: API_KEY, AWS_REGION: REGION, ALLOW_HTTP_URLS: 'true' });
  // schemathesis keeps its example cache in the working directory: a throwaway one, beside the platform's data.
  const workDir = mkdtempSync(join(tmpdir(), 'webhooks-schemathesis-'));
  try {
    const args = [
      '--config-file',
      join(ROOT, 'test/contract/schemathesis.toml'),
      'run',
      `${platform.url}/v1/openapi.json`,
      '--url',
      platform.url,
      '--header',
      `x-api-key: ${API_KEY}`,
      '--mode',
      'all',
      '--checks',
      'all',
      '--max-examples',
      String(CONTRACT_RUN.maxExamplesPerOperation),
      '--max-time',
      String(CONTRACT_RUN.maxTimeSeconds),
      '--seed',
      String(CONTRACT_RUN.seed),
      '--workers',
      '1',
      '--request-timeout',
      '10',
      '--generation-database',
      'none',
      '--no-color',
      // More options for a run by hand, e.g. `--include-operation-id updateWebhook --report har`.
      ...process.argv.slice(2),
    ];
    process.stdout.write(`schemathesis ${args.join(' ')}\n`);
    return await new Promise<number>((done, fail) => {
      const child = spawn(SCHEMATHESIS, args, {
        cwd: workDir,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          ...process.env,
          SCHEMATHESIS_HOOKS: 'contract_hooks',
          PYTHONPATH: join(ROOT, 'test/contract'),
          // No __pycache__ beside the hooks in the work tree.
          PYTHONDONTWRITEBYTECODE: '1',
        },

      });
      child.once('error', fail);
      child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await platform.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(platform.dataDir, { recursive: true, force: true });
  }
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

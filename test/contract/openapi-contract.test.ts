import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The contract test: schemathesis generates valid and invalid requests from the OpenAPI document local mode serves
 * and checks every answer against it (status codes, content types, response schemas and headers, valid data
 * accepted, invalid data refused, auth, 405 for other methods), for every operation, destructive ones included.
 * Any finding fails the test. test/contract/run-schemathesis.ts holds the run's settings and bounds (≈ 2 minutes
 * all told); it runs in a network namespace of its own (in-network-namespace.sh) so that the deliveries to the
 * fuzzer's webhook URLs reach nothing but loopback. schemathesis is installed by `npm run emulators:install`.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMATHESIS = fileURLToPath(new URL('../../.tools/venv-schemathesis/bin/schemathesis', import.meta.url));
const RUN_TIMEOUT_MS = 170_000;

const runContract = () =>
  new Promise<{ code: number | null; output: string; seconds: number }>((resolve, reject) => {
    const started = Date.now();
    const child = spawn(
      'bash',
      ['test/contract/in-network-namespace.sh', process.execPath, '--import', 'tsx', 'test/contract/run-schemathesis.ts'],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: Math.round((Date.now() - started) / 1000) });
    });
  });

describe('the OpenAPI document (contract test)', () => {
  it(
    'allows exactly what local mode accepts: schemathesis finds nothing, positive and negative, in every check',
    async () => {
      expect(existsSync(SCHEMATHESIS) ? SCHEMATHESIS : 'missing: run npm run emulators:install').toBe(SCHEMATHESIS);

      const { code, output, seconds } = await runContract();

      // On a finding, the report (each failing request as a curl command) is the failure message.
      if (code !== 0) throw new Error(`schemathesis exited with ${code} after ${seconds} s:\n${output}`);
      expect(output).toMatch(/No issues found in/);
    },
    RUN_TIMEOUT_MS + 10_000,
  );
});

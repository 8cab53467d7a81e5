import { spawn } from 'node:child_process';
import { get as httpsGet, request as httpsRequest } from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmulatorSpec, killGroup, rigPaths, type RunningEmulator, startEmulator, startWatchdog, stopEmulator } from '../../support/emulators';

/**
 * The deployed-stack test's lifecycle: MiniStack (a Docker-free AWS emulator, installed under .tools/venv-ministack
 * by test/aws/install-emulators.sh) on a free loopback port, reset; then the real CDK CLI bootstraps the emulated
 * account and deploys every stack of the test stage (test/aws/deployed/stage.json) into it; at the end `cdk destroy
 * --all` and MiniStack stopped with its whole process group (the Lambdas it runs are its children).
 *
 * Every step is timed and named: a failing step throws an error saying which step failed, with the tail of its own
 * output and of MiniStack's log. Loaded by the `deployed` Jest project's global setup as CommonJS (no
 * moduleNameMapper) and by the ESM probe: Node built-ins and extensionless imports only, no import.meta.
 */

/** Where global setup publishes the deployment to the probe (test workers inherit process.env). */
export const DEPLOYED_ENV = {
  endpoint: 'WEBHOOKS_DEPLOYED_ENDPOINT',
  /** MiniStack's self-signed certificate (PEM), which every client of the emulator trusts. */
  certificate: 'WEBHOOKS_DEPLOYED_CERTIFICATE',
  stackPrefix: 'WEBHOOKS_DEPLOYED_STACK_PREFIX',
  assembly: 'WEBHOOKS_DEPLOYED_ASSEMBLY',
} as const;

/** MiniStack's account (its default) and the region the test stage is deployed to. */
const EMULATED_ACCOUNT = '000000000000';
export const EMULATED_REGION = 'us-east-1';

const STEP_TIMEOUT_MS = 300_000;
const LOG_TAIL_LINES = 60;

export interface StepTiming {
  readonly step: string;
  readonly seconds: number;
}

export interface Deployment {
  readonly emulator: RunningEmulator;
  readonly watchdogPid: number | undefined;
  readonly stackPrefix: string;
  readonly assembly: string;
  /** MiniStack's TMPDIR: its pid file, certificate and the Lambdas' unpacked code, removed at the end. */
  readonly scratch: string;
  /** The certificate MiniStack serves TLS with. */
  readonly certificate: string;
  readonly timings: StepTiming[];
}

interface DeployedPaths {
  readonly venvBin: string;
  readonly logs: string;
  readonly assembly: string;
  readonly stageFile: string;
  readonly timingsFile: string;
}

const deployedPaths = (rootDir: string): DeployedPaths => {
  const rig = rigPaths(rootDir);
  return {
    venvBin: join(rig.tools, 'venv-ministack', 'bin'),
    logs: join(rig.logs, 'deployed'),
    assembly: join(rig.tools, 'deployed', 'cdk.out'),
    stageFile: join(rootDir, 'test', 'aws', 'deployed', 'stage.json'),
    timingsFile: join(rig.logs, 'deployed', 'timings.json'),
  };
};

/** The last `lines` lines of a file, or a note that it is not there. */
const tailOf = (file: string, lines = LOG_TAIL_LINES): string => {
  if (!existsSync(file)) return `(no ${file})`;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
};

/** Where MiniStack (USE_SSL) writes the self-signed certificate it serves, under its TMPDIR. */
const certificateIn = (scratch: string) => join(scratch, 'ministack-tls', 'server.crt');

/** Answers once MiniStack serves its health page over TLS with the certificate it wrote. */
const healthy = (endpoint: string, certificate: string): Promise<boolean> =>
  new Promise((resolve) => {
    if (!existsSync(certificate)) return resolve(false);
    const request = httpsGet(`${endpoint}/_ministack/health`, { ca: readFileSync(certificate), timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });

/**
 * MiniStack as close to AWS as it goes: AUTH=true evaluates IAM (the CLI's and the probe's key `test` is the
 * account root; each Lambda gets a session of its execution role, so every grant of the stacks is exercised) and
 * USE_SSL=1 serves TLS only (so `aws:SecureTransport` is true, as the TLS-only queue and bucket policies require).
 */
const ministackSpec = (rootDir: string, paths: DeployedPaths, scratch: string): EmulatorSpec => ({
  name: 'ministack',
  command: join(paths.venvBin, 'ministack'),
  cwd: rootDir,
  logs: rigPaths(rootDir).logs,
  scheme: 'https',
  args: () => [],
  // Bound to loopback only. TMPDIR: a folder of this run's own for its pid file, certificate and the Lambdas'
  // unpacked code, outside the repo, whose package.json ("type": "module") would make Node load MiniStack's
  // CommonJS Lambda worker as ESM. NODE_OPTIONS is Jest's (--experimental-vm-modules), not something a Lambda gets.
  env: (port) => ({
    GATEWAY_PORT: String(port),
    BIND_HOST: '127.0.0.1',
    MINISTACK_REGION: EMULATED_REGION,
    AUTH: 'true',
    USE_SSL: '1',
    TMPDIR: scratch,
    // The Lambdas (host Node processes) must trust the certificate MiniStack is about to write there. MiniStack
    // only fills this in when it is unset, and some machines set it machine-wide to the system bundle.
    NODE_EXTRA_CA_CERTS: certificateIn(scratch),
    NODE_OPTIONS: '',
  }),
  ready: (endpoint) => healthy(endpoint, certificateIn(scratch)),
});

/**
 * The environment of the CDK CLI and of every client the probe runs: the emulator as the endpoint of every service,
 * its certificate trusted, its root key `test` (any other key is an unknown caller there), no profile or config
 * file, no instance-metadata probe, no telemetry: nothing can reach AWS.
 */
export const emulatorClientEnv = (endpoint: string, certificate: string): Record<string, string> => ({
  AWS_ENDPOINT_URL: endpoint,
  AWS_CA_BUNDLE: certificate,
  NODE_EXTRA_CA_CERTS: certificate,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: EMULATED_REGION,
  AWS_DEFAULT_REGION: EMULATED_REGION,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_EC2_METADATA_DISABLED: 'true',
  CDK_DISABLE_CLI_TELEMETRY: 'true',
});

const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const name of ['AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SESSION_TOKEN', 'CDK_DEFAULT_ACCOUNT', 'CDK_DEFAULT_REGION', 'NODE_OPTIONS']) {
    delete env[name];
  }
  return env;
};

/** Runs a command to its end, output to `log`; rejects with the output's tail when it fails or times out. */
const runLogged = (command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; log: string }): Promise<void> =>
  new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const keep = (chunk: Buffer) => (output += chunk.toString());
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), STEP_TIMEOUT_MS);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      writeFileSync(options.log, output);
      if (!error) return resolve();
      const tail = output.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
      reject(new Error(`${error.message}\n--- its output (last ${LOG_TAIL_LINES} lines of ${options.log}) ---\n${tail}`));
    };
    child.once('error', (error) => finish(new Error(`cannot run ${command}: ${error.message}`)));
    child.once('close', (code, signal) =>
      finish(code === 0 ? undefined : new Error(`${[command, ...args].join(' ')} exited with ${code ?? signal}`)),
    );
  });

const CDK_DEPLOYMENT_TIME = /✅\s+(\S+)[\s\S]*?Deployment time: ([\d.]+)s/g;

/** Per-stack deployment times as the CDK CLI reports them. */
const stackTimings = (log: string): StepTiming[] =>
  [...readFileSync(log, 'utf8').matchAll(CDK_DEPLOYMENT_TIME)].map(([, stack, seconds]) => ({
    step: `  ${stack}`,
    seconds: Number(seconds),
  }));

class StepFailure extends Error {}

/**
 * Times `run` as the step `name`; on failure throws a StepFailure naming the step, with the tail of MiniStack's
 * log, so a red run says where it stopped without another run.
 */
const step = async (timings: StepTiming[], name: string, emulatorLog: string | undefined, run: () => Promise<void>) => {
  const started = Date.now();
  try {
    await run();
  } catch (error) {
    const ministack = emulatorLog ? `\n--- MiniStack log (last ${LOG_TAIL_LINES} lines of ${emulatorLog}) ---\n${tailOf(emulatorLog)}` : '';
    throw new StepFailure(`deployed-stack step "${name}" failed after ${((Date.now() - started) / 1000).toFixed(1)} s: ${(error as Error).message}${ministack}`);
  } finally {
    timings.push({ step: name, seconds: (Date.now() - started) / 1000 });
  }
};

/** POST /_ministack/reset: every service's state dropped. */
const reset = (endpoint: string, certificate: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const request = httpsRequest(`${endpoint}/_ministack/reset`, { method: 'POST', ca: readFileSync(certificate), timeout: 30_000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        response.statusCode === 200 ? resolve() : reject(new Error(`POST /_ministack/reset answered ${response.statusCode}: ${body}`)),
      );
    });
    request.once('timeout', () => request.destroy(new Error('POST /_ministack/reset timed out')));
    request.once('error', reject);
    request.end();
  });

/** The test stage's settings, as one line of JSON for `-c webhooks=...`. */
const testStage = (rootDir: string): { name: string; context: string } => {
  const stage = JSON.parse(readFileSync(deployedPaths(rootDir).stageFile, 'utf8')) as { name: string };
  return { name: stage.name, context: JSON.stringify(stage) };
};

/**
 * Starts MiniStack, resets it, bootstraps the emulated account and deploys every stack of the test stage. On any
 * failure stops what it started before rethrowing: Jest runs no global teardown after a failed global setup.
 */
export const deploy = async (rootDir: string): Promise<Deployment> => {
  const paths = deployedPaths(rootDir);
  if (!existsSync(join(paths.venvBin, 'ministack'))) {
    throw new Error(`MiniStack is not installed (${paths.venvBin}/ministack): run npm run emulators:install`);
  }
  mkdirSync(paths.logs, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'webhooks-ministack-'));
  const timings: StepTiming[] = [];
  const stage = testStage(rootDir);
  const stackPrefix = `Webhooks-${stage.name}`;
  let emulator: RunningEmulator | undefined;
  let watchdogPid: number | undefined;
  try {
    await step(timings, 'start MiniStack', undefined, async () => {
      emulator = await startEmulator(ministackSpec(rootDir, paths, scratch));
      watchdogPid = startWatchdog(process.pid, [emulator.pid]);
    });
    const { endpoint, log } = emulator!;
    const certificate = certificateIn(scratch);
    await step(timings, 'reset MiniStack', log, () => reset(endpoint, certificate));
    const env = { ...cleanEnv(), ...emulatorClientEnv(endpoint, certificate) };
    const cdk = (name: string, args: string[]) =>
      runLogged(join(rootDir, 'node_modules', '.bin', 'cdk'), [...args, '--no-notices', '--ci'], {
        cwd: rootDir,
        env,
        log: join(paths.logs, `${name}.log`),
      });
    await step(timings, 'cdk bootstrap', log, () => cdk('bootstrap', ['bootstrap', `aws://${EMULATED_ACCOUNT}/${EMULATED_REGION}`]));
    await step(timings, 'cdk deploy --all', log, () =>
      cdk('deploy', ['deploy', '--all', '--require-approval', 'never', '--output', paths.assembly, '-c', `webhooks=${stage.context}`]),
    );
    timings.push(...stackTimings(join(paths.logs, 'deploy.log')));
    return { emulator: emulator!, watchdogPid, stackPrefix, assembly: paths.assembly, scratch, certificate, timings };
  } catch (error) {
    if (emulator) await stopEmulator(emulator);
    if (watchdogPid) killGroup(watchdogPid, 'SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
};

/** `cdk destroy --all` of the deployed assembly, then MiniStack stopped; writes every step's time to timings.json. */
export const destroy = async (rootDir: string, deployment: Deployment, probeSeconds: number | undefined): Promise<StepTiming[]> => {
  const paths = deployedPaths(rootDir);
  const { emulator, timings } = deployment;
  if (probeSeconds !== undefined) timings.push({ step: 'probe (the test files)', seconds: probeSeconds });
  try {
    await step(timings, 'cdk destroy --all', emulator.log, () =>
      runLogged(
        join(rootDir, 'node_modules', '.bin', 'cdk'),
        ['destroy', '--all', '--force', '--app', deployment.assembly, '--no-notices', '--ci'],
        { cwd: rootDir, env: { ...cleanEnv(), ...emulatorClientEnv(emulator.endpoint, deployment.certificate) }, log: join(paths.logs, 'destroy.log') },
      ),
    );
  } finally {
    await step(timings, 'stop MiniStack', undefined, () => stopEmulator(emulator));
    if (deployment.watchdogPid) killGroup(deployment.watchdogPid, 'SIGKILL');
    rmSync(deployment.scratch, { recursive: true, force: true });
    writeFileSync(paths.timingsFile, `${JSON.stringify(timings, null, 2)}\n`);
  }
  return timings;
};

export const formatTimings = (timings: readonly StepTiming[]): string =>
  timings.map(({ step: name, seconds }) => `  ${name.padEnd(40)} ${seconds.toFixed(1).padStart(6)} s`).join('\n');

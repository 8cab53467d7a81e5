import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * The AWS fidelity rig's emulators: DynamoDB Local (Java) and moto's server (Python), installed under .tools/ by
 * test/aws/install-emulators.sh and started on free loopback ports by the `aws` Jest project's global setup.
 *
 * Loaded by Jest's global setup/teardown as CommonJS (outside the ESM test runtime, without moduleNameMapper) as
 * well as by ESM test files: it imports Node built-ins only and never uses import.meta.
 */

/** Where global setup publishes the endpoints; emulator-env.ts maps them to TEST_* inside the `aws` project only. */
export const RIG_ENV = { dynamodb: 'AWS_RIG_DYNAMODB_ENDPOINT', moto: 'AWS_RIG_MOTO_ENDPOINT' } as const;

const INSTALL_HINT = 'Run `npm run emulators:install` (installs them under .tools/ from Maven Central and PyPI)';
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;
/** Dummy credentials for the emulators' own environment: nothing they run can sign a request to an AWS account. */
const OFFLINE_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SESSION_TOKEN: 'testing',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  DDB_LOCAL_TELEMETRY: '0',
};

export interface RigPaths {
  readonly tools: string;
  readonly dynamoDbLib: string;
  readonly dynamoDbNative: string;
  readonly motoServer: string;
  readonly logs: string;
}

export const rigPaths = (rootDir: string): RigPaths => {
  const tools = join(rootDir, '.tools');
  return {
    tools,
    dynamoDbLib: join(tools, 'dynamodb-local', 'lib'),
    dynamoDbNative: join(tools, 'dynamodb-local', 'native'),
    motoServer: join(tools, 'venv', 'bin', 'moto_server'),
    logs: join(tools, 'logs'),
  };
};

/** Throws the message to act on when the install script has not run (or not to the end) in this work tree. */
export const assertInstalled = (paths: RigPaths): void => {
  const missing: string[] = [];
  const jar = existsSync(paths.dynamoDbLib) && readdirSync(paths.dynamoDbLib).some((f) => /^DynamoDBLocal-.*\.jar$/.test(f));
  if (!jar) missing.push(`DynamoDB Local (${paths.dynamoDbLib}/DynamoDBLocal-*.jar)`);
  if (!existsSync(join(paths.dynamoDbNative, 'libsqlite4java.so'))) missing.push(`sqlite4java (${paths.dynamoDbNative}/libsqlite4java.so)`);
  if (!existsSync(paths.motoServer)) missing.push(`moto server (${paths.motoServer})`);
  if (missing.length > 0) {
    throw new Error(`AWS emulators are not installed: missing ${missing.join(', ')}. ${INSTALL_HINT}.`);
  }
};

/** A free TCP port on 127.0.0.1 (closed again before the emulator binds it; startEmulator retries on a race). */
export const freeLoopbackPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RunningEmulator {
  readonly name: string;
  readonly endpoint: string;
  readonly pid: number;
  readonly log: string;
  readonly child: ChildProcess;
}

export interface EmulatorSpec {
  readonly name: string;
  readonly command: string;
  readonly args: (port: number) => string[];
  /** `https` for an emulator serving TLS only. @default 'http' */
  readonly scheme?: 'http' | 'https';
  /** Environment of the emulator on top of OFFLINE_ENV, for emulators configured through it. */
  readonly env?: (port: number) => Record<string, string>;
  /** Resolves true once the server answers on `endpoint`. */
  readonly ready: (endpoint: string) => Promise<boolean>;
  readonly cwd: string;
  readonly logs: string;
}

const answers = async (probe: () => Promise<Response>): Promise<boolean> => {
  try {
    const response = await probe();
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
};

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/**
 * Starts one emulator in its own process group (so stopping it takes its children too) on a free loopback port,
 * output to .tools/logs/<name>.log, and waits until it answers. Retries with another port if it dies at start.
 */
export const startEmulator = async (spec: EmulatorSpec): Promise<RunningEmulator> => {
  mkdirSync(spec.logs, { recursive: true });
  const log = join(spec.logs, `${spec.name}.log`);
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await freeLoopbackPort();
    const endpoint = `${spec.scheme ?? 'http'}://127.0.0.1:${port}`;
    const out = openSync(log, 'w');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args(port), {
        cwd: spec.cwd,
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, ...OFFLINE_ENV, ...spec.env?.(port) },
      });
    } finally {
      closeSync(out);
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    child.unref();
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const failure = await Promise.race([spawnError, sleep(0).then(() => undefined)]);
      if (failure) {
        throw new Error(`${spec.name}: cannot run ${spec.command}: ${failure.message}. ${INSTALL_HINT}.`);
      }
      if (exited(child)) {
        lastError = new Error(`${spec.name} exited (${child.exitCode ?? child.signalCode}) while starting on port ${port}: see ${log}`);
        break;
      }
      if (await spec.ready(endpoint)) return { name: spec.name, endpoint, pid: child.pid!, log, child };
      if (Date.now() > deadline) {
        killGroup(child.pid!, 'SIGKILL');
        throw new Error(`${spec.name} did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000} s: see ${log}`);
      }
      await sleep(200);
    }
  }
  throw lastError ?? new Error(`${spec.name} did not start`);
};

export const killGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
};

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM to the emulator's process group, SIGKILL if anything of it is still there after STOP_TIMEOUT_MS. */
export const stopEmulator = async (emulator: Pick<RunningEmulator, 'pid'>): Promise<void> => {
  killGroup(emulator.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (groupAlive(emulator.pid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(emulator.pid)) killGroup(emulator.pid, 'SIGKILL');
  while (groupAlive(emulator.pid) && Date.now() < deadline + 2_000) await sleep(50);
};

export const dynamoDbLocalSpec = (rootDir: string): EmulatorSpec => {
  const paths = rigPaths(rootDir);
  return {
    name: 'dynamodb-local',
    command: 'java',
    cwd: rootDir,
    logs: paths.logs,
    // DynamoDB Local 3.x has no bind-address option: Jetty listens on every interface of the port; clients use
    // 127.0.0.1. sqlite4java loads from native/ (org.sqlite.lib.path first, then java.library.path) instead of
    // being extracted into the system temp dir. Telemetry off: the rig sends nothing to AWS.
    args: (port) => [
      '-Xmx1g',
      `-Djava.library.path=${paths.dynamoDbNative}`,
      `-Dorg.sqlite.lib.path=${paths.dynamoDbNative}`,
      '-Dorg.sqlite.lib.name=libsqlite4java.so',
      `-Dsqlite4java.library.path=${paths.dynamoDbNative}`,
      '-cp',
      `${paths.dynamoDbLib}/*`,
      'software.amazon.dynamodb.services.local.main.ServerRunner',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    ready: (endpoint) =>
      answers(() =>
        fetch(endpoint, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-amz-json-1.0',
            'X-Amz-Target': 'DynamoDB_20120810.ListTables',
            Authorization:
              'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
          },
          body: '{}',
          signal: AbortSignal.timeout(2_000),
        }),
      ),
  };
};

export const motoSpec = (rootDir: string): EmulatorSpec => {
  const paths = rigPaths(rootDir);
  return {
    name: 'moto',
    command: paths.motoServer,
    cwd: rootDir,
    logs: paths.logs,
    args: (port) => ['-H', '127.0.0.1', '-p', String(port)],
    ready: (endpoint) => answers(() => fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) })),
  };
};

export interface RunningRig {
  readonly dynamoDb: RunningEmulator;
  readonly moto: RunningEmulator;
  /** A `sh` that outlives Jest only to stop both emulators if Jest dies without its global teardown. */
  readonly watchdogPid: number | undefined;
}

/**
 * Kills the emulators' process groups once `parentPid` is gone: covers a Jest killed by SIGKILL or a crash, where
 * no teardown runs. Its own process group; global teardown kills it after stopping the emulators.
 */
export const startWatchdog = (parentPid: number, groups: number[]): number | undefined => {
  const targets = groups.map((pid) => `-${pid}`).join(' ');
  const script =
    `while kill -0 ${parentPid} 2>/dev/null; do sleep 2; done; ` +
    `kill -TERM ${targets} 2>/dev/null; sleep 5; kill -KILL ${targets} 2>/dev/null; exit 0`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
};

/** Starts DynamoDB Local and moto side by side; on a failure of either, stops whatever did start. */
export const startRig = async (rootDir: string): Promise<RunningRig> => {
  assertInstalled(rigPaths(rootDir));
  const [dynamoDb, moto] = await Promise.allSettled([startEmulator(dynamoDbLocalSpec(rootDir)), startEmulator(motoSpec(rootDir))]);
  if (dynamoDb.status === 'rejected' || moto.status === 'rejected') {
    await Promise.all([dynamoDb, moto].flatMap((result) => (result.status === 'fulfilled' ? [stopEmulator(result.value)] : [])));
    const reasons = [dynamoDb, moto].flatMap((result) => (result.status === 'rejected' ? [String(result.reason?.message ?? result.reason)] : []));
    throw new Error(`AWS emulators failed to start: ${reasons.join('; ')}`);
  }
  return {
    dynamoDb: dynamoDb.value,
    moto: moto.value,
    watchdogPid: startWatchdog(process.pid, [dynamoDb.value.pid, moto.value.pid]),
  };
};

export const stopRig = async (rig: RunningRig): Promise<void> => {
  await Promise.all([stopEmulator(rig.dynamoDb), stopEmulator(rig.moto)]);
  if (rig.watchdogPid) killGroup(rig.watchdogPid, 'SIGKILL');
};

const endpointFrom = (name: string, fallback: string): string => {
  const endpoint = process.env[name] ?? process.env[fallback];
  if (!endpoint) {
    throw new Error(`${name} is not set: run this suite in the \`aws\` Jest project (npm run test:aws), whose global setup starts the emulators`);
  }
  return endpoint;
};

/** DynamoDB Local's endpoint, inside the `aws` Jest project. */
export const dynamoDbLocalEndpoint = (): string => endpointFrom('TEST_DYNAMODB_ENDPOINT', RIG_ENV.dynamodb);

/** The moto server's endpoint, inside the `aws` Jest project. */
export const motoEndpoint = (): string => endpointFrom('TEST_MOTO_ENDPOINT', RIG_ENV.moto);

/**
 * Drops every resource of every service in the moto server (POST /moto-api/reset): for a suite's beforeAll. The
 * server is shared by the whole run, so suites that reset must not run at the same time as other moto suites.
 */
export const resetMoto = async (endpoint: string = motoEndpoint()): Promise<void> => {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: ${response.status} ${await response.text()}`);
};

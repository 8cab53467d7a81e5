import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningPlatform {
  readonly url: string;
  readonly dataDir: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Set by the mutation-testing Jest config (test/jest.mutation.config.json): the platform starts in the test's own
 * process, so that it runs the code the test process loaded, where Stryker's mutants are switched on.
 */
export const IN_PROCESS_PLATFORM = 'WEBHOOKS_TEST_PLATFORM_IN_PROCESS';

/**
 * Starts `npm start`'s entry point (local/server.ts) in a child process on a free port and waits until it listens;
 * in-process under mutation testing (IN_PROCESS_PLATFORM), with the same settings from the same environment.
 */
export const startPlatformProcess = async (env: Record<string, string> = {}, dataDir?: string): Promise<RunningPlatform> => {
  const directory = dataDir ?? mkdtempSync(join(tmpdir(), 'webhooks-local-'));
  if (process.env[IN_PROCESS_PLATFORM] === 'true') return startPlatformInProcess(env, directory);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'local/server.ts'], {
    env: { ...process.env, NODE_OPTIONS: '', PORT: '0', DATA_DIR: directory, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local platform did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local platform exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    dataDir: directory,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
};

const startPlatformInProcess = async (env: Record<string, string>, dataDir: string): Promise<RunningPlatform> => {
  const { localSettingsFrom } = await import('../../local/environment.js');
  const { startLocalPlatform } = await import('../../local/platform.js');
  let output = '';
  const { options } = localSettingsFrom({ ...process.env, PORT: '0', DATA_DIR: dataDir, ...env }, (line) => {
    output += `${line}\n`;
  });
  const platform = await startLocalPlatform(options);
  return { url: platform.url, dataDir, output: () => output, stop: () => platform.stop() };
};

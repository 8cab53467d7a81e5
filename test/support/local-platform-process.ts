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

/** Starts `npm start`'s entry point (local/server.ts) in a child process on a free port and waits until it listens. */
export const startPlatformProcess = async (env: Record<string, string> = {}, dataDir?: string): Promise<RunningPlatform> => {
  const directory = dataDir ?? mkdtempSync(join(tmpdir(), 'webhooks-local-'));
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

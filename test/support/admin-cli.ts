import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The admin CLI (bin/webhooks.ts) as an operator runs it, in a child process with `env` on top of this one's
 * (NODE_OPTIONS cleared: Jest's flags are not the CLI's). Never throws for a failing command: its exit code and
 * output are the result.
 */
export const runAdminCli = async (args: readonly string[], env: Record<string, string>) => {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bin/webhooks.ts', ...args], {
      env: { ...process.env, NODE_OPTIONS: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Benchmark processes talk over Node's IPC channel with a tiny request/response protocol, so their stdout stays
 * free (the delivery worker's log lines go there, as on Lambda).
 */
interface Request {
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}
type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

export type Handlers = Record<string, (params: never) => unknown>;

/** Child side: answers the parent's calls with `handlers`, then says it is ready. `exit` ends the process. */
export const serveParent = (handlers: Handlers): void => {
  if (!process.send) throw new Error('a benchmark process must be started with an IPC channel');
  // The parent went away (finished, crashed or interrupted): do not linger with open servers.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Request) => {
    void (async () => {
      let reply: Reply;
      try {
        if (message.method === 'exit') {
          process.send!({ id: message.id, ok: true, value: null } satisfies Reply, () => process.exit(0));
          return;
        }
        const handler = handlers[message.method];
        if (!handler) throw new Error(`unknown method ${message.method}`);
        reply = { id: message.id, ok: true, value: await (handler as (params: unknown) => unknown)(message.params) };
      } catch (error) {
        reply = { id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
      }
      process.send!(reply);
    })();
  });
  process.send({ ready: true });
};

/** Processes started by this benchmark run that are still alive, so an interrupted run can end them (by pid). */
export const liveChildren = new Set<ChildProcess>();

export interface BenchChild {
  readonly pid: number;
  call<T = unknown>(method: string, params?: unknown): Promise<T>;
  /** Bytes the child wrote to stdout so far (its log lines). */
  stdoutBytes(): number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `test/bench/processes/<name>.ts` under tsx with an IPC channel and waits for it to be ready. stdout is
 * counted and dropped; stderr is kept (last 20 KB) for error reports.
 */
export const startChild = async (
  name: string,
  env: Record<string, string | undefined> = {},
  nodeArgs: readonly string[] = [],
): Promise<BenchChild> => {
  const script = fileURLToPath(new URL(`../processes/${name}.ts`, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let stdoutBytes = 0;
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdoutBytes += chunk.length));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let exited = false;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (message: Reply | { ready: true }) => {
      if ('ready' in message) return resolve();
      const waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      exited = true;
      const error = new Error(`benchmark process ${name} exited (${code ?? signal}):\n${stderr}`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return {
    pid: child.pid!,
    call: <T>(method: string, params?: unknown) =>
      new Promise<T>((resolve, reject) => {
        if (exited) return reject(new Error(`benchmark process ${name} has exited:\n${stderr}`));
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, method, params } satisfies Request);
      }),
    stdoutBytes: () => stdoutBytes,
    output: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited || child.exitCode !== null) return resolve();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        child.send({ id: 0, method: 'exit', params: null } satisfies Request, (error) => {
          if (error) child.kill('SIGTERM');
        });
      }),
  };
};

import { RIG_ENV, type RunningRig, startRig, stopRig } from './emulators';

/**
 * Global setup of the `aws` Jest project: starts DynamoDB Local and moto on free loopback ports and publishes their
 * endpoints in process.env, which the test workers (started after this) inherit. The names are the rig's own
 * (AWS_RIG_*): emulator-env.ts maps them to TEST_DYNAMODB_ENDPOINT / TEST_MOTO_ENDPOINT in `aws` test files only,
 * so that in a run of every project the `integration` copies of the store suites stay on the embedded store.
 *
 * Jest loads this file as CommonJS (ts-jest, no moduleNameMapper), hence the extensionless import.
 */
export const RIG_KEY = Symbol.for('webhook-platform.aws-rig');

type RigGlobal = typeof globalThis & { [RIG_KEY]?: RunningRig };

export default async function globalSetup(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const started = Date.now();
  const rig = await startRig(projectConfig.rootDir);
  (globalThis as RigGlobal)[RIG_KEY] = rig;
  // Jest exiting without its teardown (an error in another global hook, process.exit): stop the emulators anyway.
  process.once('exit', () => {
    for (const pid of [rig.dynamoDb.pid, rig.moto.pid, rig.watchdogPid]) {
      try {
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        // already stopped by the teardown
      }
    }
  });
  process.env[RIG_ENV.dynamodb] = rig.dynamoDb.endpoint;
  process.env[RIG_ENV.moto] = rig.moto.endpoint;
  process.stderr.write(
    `\n[aws] DynamoDB Local ${rig.dynamoDb.endpoint}, moto ${rig.moto.endpoint} (started in ${Date.now() - started} ms; logs in .tools/logs)\n`,
  );
}

export const stopGlobalRig = async (): Promise<void> => {
  const rig = (globalThis as RigGlobal)[RIG_KEY];
  if (!rig) return;
  delete (globalThis as RigGlobal)[RIG_KEY];
  await stopRig(rig);
};

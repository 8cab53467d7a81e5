import { DEPLOYED_ENV, type Deployment, deploy, formatTimings } from './deployment';

/**
 * Global setup of the `deployed` Jest project (npm run test:deployed): MiniStack started and reset, the emulated
 * account bootstrapped and every stack of the test stage deployed with the real CDK CLI (deployment.ts). The probe
 * finds the emulator's endpoint and the stack names in process.env, which the test workers inherit.
 *
 * Jest loads this file as CommonJS (ts-jest, no moduleNameMapper), hence the extensionless import.
 */
export const DEPLOYMENT_KEY = Symbol.for('webhook-platform.deployed-stack');

type DeploymentGlobal = typeof globalThis & { [DEPLOYMENT_KEY]?: { deployment: Deployment; deployedAt: number } };

export default async function globalSetup(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const deployment = await deploy(projectConfig.rootDir);
  (globalThis as DeploymentGlobal)[DEPLOYMENT_KEY] = { deployment, deployedAt: Date.now() };
  // Jest exiting without its teardown (an error in another global hook, process.exit): stop MiniStack anyway.
  process.once('exit', () => {
    for (const pid of [deployment.emulator.pid, deployment.watchdogPid]) {
      try {
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        // already stopped by the teardown
      }
    }
  });
  process.env[DEPLOYED_ENV.endpoint] = deployment.emulator.endpoint;
  process.env[DEPLOYED_ENV.stackPrefix] = deployment.stackPrefix;
  process.env[DEPLOYED_ENV.assembly] = deployment.assembly;
  process.env[DEPLOYED_ENV.certificate] = deployment.certificate;
  process.stderr.write(
    `\n[deployed] ${deployment.stackPrefix} deployed into MiniStack at ${deployment.emulator.endpoint} (logs in .tools/logs/deployed):\n` +
      `${formatTimings(deployment.timings)}\n`,
  );
}

export const takeDeployment = (): { deployment: Deployment; deployedAt: number } | undefined => {
  const held = (globalThis as DeploymentGlobal)[DEPLOYMENT_KEY];
  delete (globalThis as DeploymentGlobal)[DEPLOYMENT_KEY];
  return held;
};

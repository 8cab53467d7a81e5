import { destroy, formatTimings } from './deployment';
import { takeDeployment } from './global-setup';

/** Global teardown of the `deployed` Jest project: `cdk destroy --all`, MiniStack stopped, every step's time printed. */
export default async function globalTeardown(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const held = takeDeployment();
  if (!held) return;
  const timings = await destroy(projectConfig.rootDir, held.deployment, (Date.now() - held.deployedAt) / 1000);
  process.stderr.write(`\n[deployed] timings (also in .tools/logs/deployed/timings.json):\n${formatTimings(timings)}\n`);
}

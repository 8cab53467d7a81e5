import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { parseStageConfig, type StageConfig, type StageConfigInput } from '../../../lib/config/stage-config.js';
import { repoRoot } from '../../../lib/paths.js';
import { createWebhookPlatform, type WebhookPlatform } from '../../../lib/webhook-platform.js';

/** The context of cdk.json (feature flags included), so the tests synthesize what `cdk synth` does. */
export const cdkJsonContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/**
 * Which stacks' handlers esbuild bundles: all (`true`), none (`false`: assets become placeholders, for tests that
 * only read the construct tree or the stateful stack), or the stacks whose construct paths match these patterns.
 */
export type Bundle = boolean | readonly string[];

/** A new app with cdk.json's context. */
export const testApp = ({ bundle }: { bundle: Bundle }): App =>
  new App({
    context: {
      ...cdkJsonContext(),
      ...(bundle === true ? {} : { 'aws:cdk:bundling-stacks': bundle === false ? [] : [...bundle] }),
    },
  });

export interface TestPlatform extends WebhookPlatform {
  readonly app: App;
  readonly config: StageConfig;
}

export const buildPlatform = (options: { bundle: Bundle; config?: StageConfigInput }): TestPlatform => {
  const app = testApp(options);
  const config = parseStageConfig(options.config ?? {});
  return { app, config, ...createWebhookPlatform(app, config) };
};

/** The logical ID of a construct's CloudFormation resource, as it appears in the template. */
export const logicalId = (construct: IConstruct): string => {
  const resource = construct.node.defaultChild as CfnResource | undefined;
  if (!resource) throw new Error(`${construct.node.path} has no default CloudFormation resource`);
  return Stack.of(construct).getLogicalId(resource);
};

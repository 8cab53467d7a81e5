import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { StageConfig } from './config/stage-config.js';
import { ApiStack } from './stacks/api-stack.js';
import { StatefulStack } from './stacks/stateful-stack.js';

export interface WebhookPlatform {
  readonly stateful: StatefulStack;
  readonly api: ApiStack;
}

/** The stacks of one stage: the stateful stack hands its table and queue to the stateless API stack. */
export const createWebhookPlatform = (app: App, config: StageConfig, env?: Environment): WebhookPlatform => {
  const prefix = `Webhooks-${config.name}`;
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    config,
    env,
    description: `Webhook platform (${config.name}): subscriptions table and delivery queues`,
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    config,
    env,
    description: `Webhook platform (${config.name}): subscriptions API and its functions`,
    table: stateful.table,
    deliveryQueue: stateful.deliveryQueue,
  });
  for (const stack of [stateful, api]) {
    Tags.of(stack).add('app', 'webhook-platform');
    Tags.of(stack).add('stage', config.name);
  }
  return { stateful, api };
};

/** The rule packs every synth is checked against; a finding without an acknowledgement fails the synth. */
export const complianceChecks = (app: IConstruct) => [new AwsSolutionsChecks(app), new ServerlessChecks(app)];

export const addComplianceChecks = (app: App): void => {
  Validations.of(app).addPlugins(...complianceChecks(app));
};

import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { StageConfig } from './config/stage-config.js';
import { ApiStack } from './stacks/api-stack.js';
import { PipelineStack } from './stacks/pipeline-stack.js';
import { StatefulStack } from './stacks/stateful-stack.js';

export interface WebhookPlatform {
  readonly stateful: StatefulStack;
  readonly api: ApiStack;
  readonly pipeline: PipelineStack;
}

/**
 * The stacks of one stage: the stateful stack (table, bus and rule, queues) hands its resources to the two
 * stateless ones, the API and the delivery pipeline, which do not depend on each other.
 */
export const createWebhookPlatform = (app: App, config: StageConfig, env?: Environment): WebhookPlatform => {
  const prefix = `Webhooks-${config.name}`;
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    config,
    env,
    description: `Webhook platform (${config.name}): subscriptions table, event bus and queues`,
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    config,
    env,
    description: `Webhook platform (${config.name}): subscriptions API and its functions`,
    table: stateful.table,
    deliveryQueue: stateful.deliveryQueue,
  });
  const pipeline = new PipelineStack(app, `${prefix}-Pipeline`, {
    config,
    env,
    description: `Webhook platform (${config.name}): event router and delivery worker`,
    table: stateful.table,
    eventsQueue: stateful.ingestion.eventsQueue,
    rejectedEventsQueue: stateful.ingestion.rejectedEventsQueue,
    deliveryQueue: stateful.deliveryQueue,
    deliveryDeadLetterQueue: stateful.deliveryDeadLetterQueue,
  });
  for (const stack of [stateful, api, pipeline]) {
    Tags.of(stack).add('app', 'webhook-platform');
    Tags.of(stack).add('stage', config.name);
  }
  return { stateful, api, pipeline };
};

/** The rule packs every synth is checked against; a finding without an acknowledgement fails the synth. */
export const complianceChecks = (app: IConstruct) => [new AwsSolutionsChecks(app), new ServerlessChecks(app)];

export const addComplianceChecks = (app: App): void => {
  Validations.of(app).addPlugins(...complianceChecks(app));
};

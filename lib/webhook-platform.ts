import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { StageConfig } from './config/stage-config.js';
import { ApiStack } from './stacks/api-stack.js';
import { MonitoringStack } from './stacks/monitoring-stack.js';
import { PipelineStack } from './stacks/pipeline-stack.js';
import { StatefulStack } from './stacks/stateful-stack.js';

export interface WebhookPlatform {
  readonly stateful: StatefulStack;
  readonly api: ApiStack;
  readonly pipeline: PipelineStack;
  readonly monitoring: MonitoringStack;
}

/**
 * The stacks of one stage: the stateful stack (table, bus and rule, queues) hands its resources to the two
 * stateless ones, the API and the delivery pipeline, which do not depend on each other. The monitoring stack reads
 * all three (queue, function and API names for its metrics) and nothing depends on it.
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
    credentialsKey: stateful.credentialsKey,
  });
  const pipeline = new PipelineStack(app, `${prefix}-Pipeline`, {
    config,
    env,
    description: `Webhook platform (${config.name}): event router and delivery worker`,
    table: stateful.table,
    eventsQueue: stateful.ingestion.eventsQueue,
    rejectedEventsQueue: stateful.ingestion.rejectedEventsQueue,
    deliveryQueue: stateful.deliveryQueue,
    slowLaneQueue: stateful.slowLaneQueue,
    deliveryDeadLetterQueue: stateful.deliveryDeadLetterQueue,
    credentialsKey: stateful.credentialsKey,
  });
  const monitoring = new MonitoringStack(app, `${prefix}-Monitoring`, {
    config,
    env,
    description: `Webhook platform (${config.name}): dashboard, alarms and the alarm topic`,
    eventsQueue: stateful.ingestion.eventsQueue,
    deliveryQueue: stateful.deliveryQueue,
    slowLaneQueue: stateful.slowLaneQueue,
    eventsDeadLetterQueue: stateful.ingestion.eventsDeadLetterQueue,
    eventTargetDeadLetterQueue: stateful.ingestion.targetDeadLetterQueue,
    rejectedEventsQueue: stateful.ingestion.rejectedEventsQueue,
    deliveryDeadLetterQueue: stateful.deliveryDeadLetterQueue,
    functions: {
      WebhooksRead: api.functions.webhooksRead,
      WebhooksWrite: api.functions.webhooksWrite,
      Catalogue: api.functions.catalogue,
      Authorizer: api.functions.authorizer,
      EventRouter: pipeline.router.function,
      DeliveryWorker: pipeline.worker.function,
    },
    apiStage: api.api.api.deploymentStage,
  });
  if (config.emulator.sqsBatchActionGrants) {
    for (const fn of [...Object.values(api.functions), pipeline.router.function, pipeline.worker.function]) fn.grantSqsBatchActionNames();
  }
  for (const stack of [stateful, api, pipeline, monitoring]) {
    Tags.of(stack).add('app', 'webhook-platform');
    Tags.of(stack).add('stage', config.name);
  }
  return { stateful, api, pipeline, monitoring };
};

/** The rule packs every synth is checked against; a finding without an acknowledgement fails the synth. */
export const complianceChecks = (app: IConstruct) => [new AwsSolutionsChecks(app), new ServerlessChecks(app)];

export const addComplianceChecks = (app: App): void => {
  Validations.of(app).addPlugins(...complianceChecks(app));
};

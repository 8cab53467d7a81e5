import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.js';
import { SubscriptionsApi } from '../constructs/subscriptions-api.js';
import { WebhookFunction } from '../constructs/webhook-function.js';

export interface ApiStackProps extends StackProps {
  readonly config: StageConfig;
  /** The subscriptions table, from the stateful stack. */
  readonly table: ITable;
  /** The delivery queue, from the stateful stack. */
  readonly deliveryQueue: IQueue;
  /** The key sealing webhook credentials, from the stateful stack: only the write function may use it. */
  readonly credentialsKey: IKey;
}

/**
 * The stateless part: the API's functions, each granted only what its routes need, and the REST API in front.
 * Safe to destroy and redeploy; the data lives in the stateful stack.
 */
export class ApiStack extends Stack {
  readonly api: SubscriptionsApi;
  readonly functions: {
    readonly webhooksRead: WebhookFunction;
    readonly webhooksWrite: WebhookFunction;
    readonly catalogue: WebhookFunction;
    readonly authorizer: WebhookFunction;
  };

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, table, deliveryQueue, credentialsKey } = props;
    const common = { logRetention: config.logRetentionDays, endpoints: config.endpoints };

    const webhooksRead = new WebhookFunction(this, 'WebhooksRead', {
      ...common,
      handlerName: 'webhooks-read',
      description: 'GET routes of /v1/webhooks',
    }).readTable(table);
    const webhooksWrite = new WebhookFunction(this, 'WebhooksWrite', {
      ...common,
      handlerName: 'webhooks-write',
      description: 'Routes that change webhooks, reveal secrets or queue deliveries',
      // Both guard the URLs of created and updated webhooks; off only for a local emulator.
      environment: {
        ALLOW_HTTP_URLS: String(config.allowHttpUrls),
        ALLOW_PRIVATE_DESTINATIONS: String(config.allowPrivateDestinations),
      },
    })
      .writeTable(table)
      .sealCredentials(credentialsKey, { encryptionContextCondition: config.emulator.kmsEncryptionContextConditions })
      .sendTo(deliveryQueue);
    const catalogue = new WebhookFunction(this, 'Catalogue', {
      ...common,
      handlerName: 'catalogue',
      description: 'Event-type catalogue, OpenAPI document, and 404/405 for unknown routes',
      // The OpenAPI document it serves says whether webhook URLs may be http, as the write function decides.
      environment: { ALLOW_HTTP_URLS: String(config.allowHttpUrls) },
    });
    const authorizer = new WebhookFunction(this, 'Authorizer', {
      ...common,
      handlerName: 'authorizer',
      description: 'API-key REQUEST authorizer',
      // On every request's path (uncached): fail fast rather than hold the request.
      timeout: Duration.seconds(5),
    }).readTable(table);
    this.functions = { webhooksRead, webhooksWrite, catalogue, authorizer };

    this.api = new SubscriptionsApi(this, 'SubscriptionsApi', {
      routeHandlers: { webhooksRead, webhooksWrite, catalogue },
      fallbackHandler: catalogue,
      authorizerHandler: authorizer,
      restApiName: `webhooks-${config.name}`,
      stageName: config.api.stageName,
      throttlingRateLimit: config.api.throttlingRateLimit,
      throttlingBurstLimit: config.api.throttlingBurstLimit,
      logRetention: config.logRetentionDays,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL; routes start with v1/' });
  }
}

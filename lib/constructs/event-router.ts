import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type ServiceEndpoints, type TableItemAction, WebhookFunction } from './webhook-function.js';

export interface EventRouterProps {
  /** The rule's target queue the router consumes; it must have a dead-letter queue. */
  readonly eventsQueue: IQueue;
  /** Where the router puts a delivery job per subscribed webhook. */
  readonly deliveryQueue: IQueue;
  /** Where it queues the jobs of webhooks in the slow lane (see DeliveryWorker). */
  readonly slowLaneQueue: IQueue;
  /** Where the router puts events that fail validation, with the reasons. */
  readonly rejectedEventsQueue: IQueue;
  /** The subscriptions table: subscriptions and webhooks are read, delivery items created. */
  readonly table: ITable;
  readonly logRetention: RetentionDays;
  /**
   * Events per invocation, 1-10.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Concurrent invocations, 2-1000.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * At most 1/6 of the events queue's visibility timeout.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default - AWS endpoints */
  readonly endpoints?: ServiceEndpoints;
}

/**
 * The table actions the router's handler makes: finding a tenant's subscribers of an event type, and recording
 * the first publication of an event id (a conditional put; a read when the id was published before).
 */
export const EVENT_ROUTER_TABLE_ACTIONS = [
  'dynamodb:Query',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:GetItem',
] as const satisfies readonly TableItemAction[];

/**
 * Fans each published event out to deliveries: the `event-router` function, polled from the events queue, validates
 * the event against the catalogue, finds the tenant's subscribed webhooks and queues one delivery job each
 * (SendMessageBatch). Invalid events go to the rejected-events queue. Table access is exactly what it does.
 */
export class EventRouter extends Construct {
  readonly function: WebhookFunction;
  readonly eventSourceMapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: EventRouterProps) {
    super(scope, id);
    this.function = new WebhookFunction(this, 'Function', {
      handlerName: 'event-router',
      description: 'Validates published events and fans them out to delivery jobs',
      invocation: 'queue',
      logRetention: props.logRetention,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      ...(props.endpoints && { endpoints: props.endpoints }),
    })
      .accessTable(props.table, EVENT_ROUTER_TABLE_ACTIONS)
      .sendTo(props.deliveryQueue, 'DELIVERY_QUEUE_URL')
      .sendTo(props.slowLaneQueue, 'SLOW_LANE_QUEUE_URL')
      .sendTo(props.rejectedEventsQueue, 'REJECTED_EVENTS_QUEUE_URL');
    this.eventSourceMapping = this.function.consume(props.eventsQueue, {
      batchSize: props.batchSize ?? 10,
      maxConcurrency: props.maxConcurrency ?? 5,
    });
  }
}

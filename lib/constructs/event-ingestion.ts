import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { EventBus, type EventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { buildEventPattern, type EventPattern as RoutingPattern } from '../../functions/contracts/event-routing.js';
import { platformQueue, terminalQueue } from './queues.js';

export interface EventIngestionProps {
  /**
   * The EventBridge sources the rule accepts; events from any other source stay on the bus undelivered.
   * Required and non-empty: a rule without sources would take the catalogue's event types from any producer.
   */
  readonly allowedSources: readonly string[];
  /**
   * How often EventBridge retries putting a matched event on the events queue before it dead-letters it.
   * @default 185 - EventBridge's maximum
   */
  readonly targetRetryAttempts?: number;
  /**
   * How long EventBridge keeps retrying one event before it dead-letters it.
   * @default Duration.hours(24) - EventBridge's maximum
   */
  readonly targetMaxEventAge?: Duration;
  /**
   * How long a received event stays hidden from the router's other pollers; at least 6x the router's timeout.
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before an event the router keeps failing on moves to the events dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * @default RemovalPolicy.DESTROY - queued events are transient; EventBridge producers own their events
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where published events enter the platform: a custom EventBridge bus, and a rule on it matching the catalogue's
 * event types from the allowed sources (the pattern `buildEventPattern` defines for local mode too), which puts
 * each matched event on the events queue for the event router. Nothing is lost on the way:
 * - what EventBridge cannot put on the queue (after `targetRetryAttempts` / `targetMaxEventAge`) goes to the
 *   target's own dead-letter queue;
 * - what the router keeps failing on (`maxReceiveCount` receives) goes to the events queue's dead-letter queue;
 * - what the router rejects as invalid goes, with the reasons, to the rejected-events queue.
 * Every queue is SSE-encrypted and refuses requests without TLS; only this rule may send to the events queue.
 */
export class EventIngestion extends Construct {
  readonly eventBus: EventBus;
  readonly rule: Rule;
  /** The rule's target, consumed by the event router. */
  readonly eventsQueue: Queue;
  /** Events the router failed on `maxReceiveCount` times. */
  readonly eventsDeadLetterQueue: Queue;
  /** Events EventBridge could not put on the events queue. */
  readonly targetDeadLetterQueue: Queue;
  /** Events the router rejected as invalid, with the reasons. */
  readonly rejectedEventsQueue: Queue;
  /** The rule's event pattern, as `buildEventPattern` returns it. */
  readonly eventPattern: RoutingPattern;

  constructor(scope: Construct, id: string, props: EventIngestionProps) {
    super(scope, id);
    validateProps(this, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    // No eventBusName: CloudFormation gets a name generated from the construct path, published as an output.
    this.eventBus = new EventBus(this, 'Bus', { description: 'Domain events the webhook platform delivers' });

    this.eventsDeadLetterQueue = terminalQueue(this, 'EventsDeadLetterQueue', {
      removalPolicy,
      redriveTarget: true,
      endOfTheLine: 'This is the dead-letter queue of the events queue; it has no further queue to redrive to.',
    });
    this.eventsQueue = platformQueue(this, 'EventsQueue', {
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(3),
      deadLetterQueue: { queue: this.eventsDeadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
      removalPolicy,
    });
    this.targetDeadLetterQueue = terminalQueue(this, 'TargetDeadLetterQueue', {
      removalPolicy,
      redriveTarget: false,
      endOfTheLine:
        "The rule target's dead-letter queue (EventBridge DeadLetterConfig): where events end that EventBridge could not put on the events queue.",
    });
    this.rejectedEventsQueue = terminalQueue(this, 'RejectedEventsQueue', {
      removalPolicy,
      redriveTarget: false,
      endOfTheLine:
        'Holds events the router rejected as invalid, with the reasons, for inspection; redriving them would fail again.',
    });

    this.eventPattern = buildEventPattern(props.allowedSources);
    this.rule = new Rule(this, 'Rule', {
      eventBus: this.eventBus,
      description: 'Catalogue event types from the allowed sources, to the events queue',
      eventPattern: toCdkEventPattern(this.eventPattern),
      targets: [
        // Adds the events queue's policy statement for events.amazonaws.com, conditioned on this rule's ARN, and
        // the same for the dead-letter queue.
        new SqsQueue(this.eventsQueue, {
          deadLetterQueue: this.targetDeadLetterQueue,
          retryAttempts: props.targetRetryAttempts ?? 185,
          maxEventAge: props.targetMaxEventAge ?? Duration.hours(24),
        }),
      ],
    });
  }
}

/** The routing pattern in CDK's shape, which renders `detailType` back as `detail-type`. */
const toCdkEventPattern = ({ 'detail-type': detailType, source, ...rest }: RoutingPattern): EventPattern => {
  if (Object.keys(rest).length > 0) {
    throw new Error(`buildEventPattern returned fields the CDK rule does not map: ${Object.keys(rest).join(', ')}`);
  }
  return { ...(source && { source: [...source] }), detailType: [...detailType] };
};

const validateProps = (scope: Construct, props: EventIngestionProps): void => {
  const where = scope.node.path;
  if (props.allowedSources.length === 0) {
    throw new Error(`${where}: allowedSources must list at least one EventBridge source`);
  }
  if (props.maxReceiveCount !== undefined && (props.maxReceiveCount < 1 || props.maxReceiveCount > 1000)) {
    throw new Error(`${where}: maxReceiveCount must be 1-1000, got ${props.maxReceiveCount}`);
  }
  const visibility = props.visibilityTimeout;
  if (visibility && !visibility.isUnresolved() && visibility.toSeconds() > 43_200) {
    throw new Error(`${where}: visibilityTimeout must be at most 12 hours, got ${visibility.toSeconds()}s`);
  }
};

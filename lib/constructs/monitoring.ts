import { Annotations, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FAILURE_REASON_DIMENSION, FailureReason, METRICS_NAMESPACE, MetricName, MetricService } from '../../functions/contracts/metrics.js';

/** A queue on the dashboard and in alarm names. */
export interface MonitoredQueue {
  /** Names the queue in legends, alarm names and construct IDs: a letter, then letters or digits (`Deliveries`). */
  readonly name: string;
  readonly queue: IQueue;
}

/** A queue a function consumes: its backlog is graphed, and its oldest message alarmed on. */
export interface WorkQueue extends MonitoredQueue {
  /** Alarm when the oldest message on the queue is older than this; 1 minute to 14 days. */
  readonly maxOldestMessageAge: Duration;
}

/** A function on the dashboard, with its own errors and throttles alarms. */
export interface MonitoredFunction {
  /** Names the function in legends, alarm names and construct IDs: a letter, then letters or digits. */
  readonly name: string;
  readonly function: IFunction;
}

export interface MonitoringProps {
  /** The queues functions consume: depth and oldest-message age on the dashboard, an age alarm each. */
  readonly workQueues: readonly WorkQueue[];
  /** The queues where messages end (dead-letter and reject queues): depth graphed, an alarm as soon as one is not empty. */
  readonly deadLetterQueues: readonly MonitoredQueue[];
  /** Errors, throttles, duration and concurrency graphed; an errors and a throttles alarm each. */
  readonly functions: readonly MonitoredFunction[];
  /** The REST API stage: 4XX/5XX and latency graphed, a 5XX alarm. */
  readonly apiStage: Stage;
  /**
   * Alarm when fewer than this percentage of delivery attempts succeed for `successRateEvaluationPeriods` periods.
   * @default 95
   */
  readonly minSuccessRatePercent?: number;
  /**
   * 5-minute periods in a row the success rate must stay under `minSuccessRatePercent` before the alarm fires:
   * one receiver failing a handful of attempts should not page anyone, a sustained drop should.
   * @default 3
   */
  readonly successRateEvaluationPeriods?: number;
  /**
   * Whether alarms may use metric math. `false` is for emulators that refuse metric-math alarms: the success-rate
   * alarm is then replaced by `DeliveriesDeadLettered`, which fires when any delivery is dead-lettered (a single
   * metric, later and coarser than the rate). The success rate stays on the dashboard either way.
   * @default true
   */
  readonly metricMathAlarms?: boolean;
  /**
   * An address e-mailed every alarm and recovery (an e-mail subscription on the topic, confirmed by the recipient).
   * @default - no subscription: subscribe a pager or chat integration to `alarmTopic` instead
   */
  readonly alarmEmail?: string;
  /**
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * Prefixes every alarm name, so that the notifications say which deployment they concern.
   * @default - the stack name
   */
  readonly alarmNamePrefix?: string;
}

/** Every metric on the dashboard and in the alarms is aggregated over this period. */
const PERIOD = Duration.minutes(5);
const WIDGET_HEIGHT = 6;
const NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Watches the platform: one CloudWatch dashboard (delivery success rate and outcomes, latency, event and retry
 * counts, queue backlogs, dead-letter queues, every function and the API stage), and alarms for what needs a person
 * (a dead-letter queue not empty, a queue not drained, the success rate under its threshold, function errors or
 * throttles, API 5XX) sending their alarm and recovery notifications to one SNS topic. The topic is encrypted with
 * its own KMS key (CloudWatch cannot publish to a topic under the AWS managed SNS key), whose policy and the topic's
 * let CloudWatch alarms of this account publish, and refuses requests without TLS.
 *
 * The delivery metrics are the Embedded Metric Format ones of `functions/contracts/metrics.ts`, by `service`
 * (`MetricService`), failed attempts also by reason.
 */
export class Monitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarmTopic: Topic;
  readonly alarmTopicKey: Key;
  /** Every alarm, by name without the prefix (e.g. `DeliveryDeadLetterQueue-NotEmpty`). */
  readonly alarms: ReadonlyMap<string, Alarm>;
  /** The delivery success rate, in percent, as the dashboard and its alarm compute it. */
  readonly successRate: MathExpression;

  private readonly alarmList = new Map<string, Alarm>();
  private readonly alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    validateProps(this, props);
    const minSuccessRate = props.minSuccessRatePercent ?? 95;
    this.alarmNamePrefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    this.alarms = this.alarmList;

    const { topic, key } = this.createTopic(props.alarmEmail);
    this.alarmTopic = topic;
    this.alarmTopicKey = key;

    // Delivery outcomes: every attempt either succeeds or fails for one reason of the contract.
    const succeeded = this.platformMetric(MetricName.deliveriesSucceeded, MetricService.deliveryWorker, 'Sum', 'succeeded');
    const failedByReason = FailureReason.map((reason) =>
      this.platformMetric(MetricName.attemptsFailed, MetricService.deliveryWorker, 'Sum', `failed: ${reason}`, {
        [FAILURE_REASON_DIMENSION]: reason,
      }),
    );
    this.successRate = successRateOf(succeeded, failedByReason);

    if (props.metricMathAlarms ?? true) {
      this.alarmOn('DeliverySuccessRate-Low', {
        metric: this.successRate,
        threshold: minSuccessRate,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: props.successRateEvaluationPeriods ?? 3,
        // No attempts is no failure: the expression is 100 then, and a period without data is not a breach either.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        description:
          `Under ${minSuccessRate} % of delivery attempts succeeded. See "Attempts by outcome" on the dashboard for the ` +
          "failure reasons; the delivery worker's logs name the webhooks.",
      });
    } else {
      Annotations.of(this).addWarningV2(
        '@webhooks/monitoring:noMetricMathAlarms',
        'emulator.metricMathAlarms is false: the delivery success-rate alarm is replaced by DeliveriesDeadLettered. For emulators only, never for AWS.',
      );
      this.alarmOn('DeliveriesDeadLettered', {
        // No label: CDK renders a labelled metric in the `Metrics` form, which those emulators refuse as well.
        metric: new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: MetricName.deadLettered,
          dimensionsMap: { service: MetricService.deliveryWorker },
          statistic: 'Sum',
          period: PERIOD,
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // The worker reports nothing for a period in which no delivery was dead-lettered.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        description:
          'A delivery was dead-lettered after its last attempt (stand-in for the success-rate alarm where metric math ' +
          'is unavailable). See the delivery DLQ and "Attempts by outcome" on the dashboard.',
      });
    }
    for (const { name, queue } of props.deadLetterQueues) {
      this.alarmOn(`${name}-NotEmpty`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // A message stays on the queue until someone redrives or deletes it, but SQS stops reporting a queue that
        // sees no traffic: keep the last state rather than reporting OK while messages still wait there.
        treatMissingData: TreatMissingData.IGNORE,
        description: `${name} has messages: inspect them, then redrive or delete them.`,
      });
    }
    for (const { name, queue, maxOldestMessageAge } of props.workQueues) {
      this.alarmOn(`${name}-OldestMessageAge`, {
        metric: queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
        threshold: maxOldestMessageAge.toSeconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // SQS reports nothing for a queue without messages or traffic: nothing is waiting.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        description:
          `A message has waited on ${name} for over ${maxOldestMessageAge.toSeconds()} s: its consumer is failing, ` +
          'throttled or not keeping up.',
      });
    }
    for (const { name, function: fn } of props.functions) {
      this.alarmOn(`${name}-Errors`, {
        metric: fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // Lambda reports no datapoint for a period without invocations: no invocation, no error.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        description: `${name} failed invocations (crashes or timeouts; the handlers catch expected failures).`,
      });
      this.alarmOn(`${name}-Throttles`, {
        metric: fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        description: `${name} was throttled: the account's or the function's concurrency is exhausted.`,
      });
    }
    this.alarmOn('Api-5XXErrors', {
      metric: props.apiStage.metricServerError({ period: PERIOD, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // API Gateway reports no datapoint for a period without requests: no request, no error.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      description: 'The API answered 5XX: a function failed or timed out, or API Gateway could not call it.',
    });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      ...(props.dashboardName !== undefined && { dashboardName: props.dashboardName }),
      defaultInterval: Duration.hours(3),
    });
    this.addDashboardWidgets(props, succeeded, failedByReason, minSuccessRate);
  }

  private createTopic(alarmEmail: string | undefined): { topic: Topic; key: Key } {
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the webhook platform alarm topic; CloudWatch alarms may use it to publish',
      enableKeyRotation: true,
      // Nothing outlives the topic: it keeps no messages, so the key may go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // The AWS managed SNS key's policy does not let CloudWatch use it: alarms publishing to a topic encrypted with it
    // fail. This is the statement AWS documents for a customer managed key.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: 'Webhook platform alarms',
      masterKey: key,
      enforceSSL: true,
    });
    const stack = Stack.of(this);
    // The topic policy replaces SNS's default one, so CloudWatch alarms of this account are allowed explicitly.
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    if (alarmEmail !== undefined) {
      const subscription = topic.addSubscription(new EmailSubscription(alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'E-mail subscription to the alarm topic: SNS retries e-mail itself, and an undelivered alarm e-mail parked in a ' +
          "queue nobody watches would alert no one; each alarm's CloudWatch history records every notification it sent.",
      });
    }
    return { topic, key };
  }

  private alarmOn(
    name: string,
    options: {
      metric: IMetric;
      threshold: number;
      comparisonOperator: ComparisonOperator;
      evaluationPeriods: number;
      treatMissingData: TreatMissingData;
      description: string;
    },
  ): Alarm {
    const { description, ...rest } = options;
    const alarm = new Alarm(this, name, {
      ...rest,
      datapointsToAlarm: options.evaluationPeriods,
      alarmName: `${this.alarmNamePrefix}-${name}`,
      alarmDescription: description,
    });
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarmList.set(name, alarm);
    return alarm;
  }

  private platformMetric(
    metricName: string,
    service: string,
    statistic: string,
    label: string,
    dimensions: Record<string, string> = {},
  ): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service, ...dimensions },
      statistic,
      period: PERIOD,
      label,
    });
  }

  private addDashboardWidgets(props: MonitoringProps, succeeded: Metric, failedByReason: Metric[], minSuccessRate: number) {
    const worker = MetricService.deliveryWorker;
    const router = MetricService.eventRouter;
    const graph = (title: string, left: IMetric[], extra: Partial<ConstructorParameters<typeof GraphWidget>[0]> = {}) =>
      new GraphWidget({ title, left, width: 12, height: WIDGET_HEIGHT, period: PERIOD, ...extra });
    const percentiles = (metricName: string, what: string) =>
      ['p50', 'p99'].map((statistic) => this.platformMetric(metricName, worker, statistic, `${what} ${statistic}`));
    const perFunction = (title: string, metricOf: (fn: IFunction, label: string) => IMetric, width = 6) =>
      new GraphWidget({
        title,
        left: props.functions.map(({ name, function: fn }) => metricOf(fn, name)),
        width,
        height: WIDGET_HEIGHT,
        period: PERIOD,
      });
    const stage = props.apiStage;

    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Webhook platform\nDelivery outcomes, the pipeline queues, the functions and the API. ' +
          `Every alarm notifies the SNS topic \`${this.alarmTopic.topicName}\`.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarmList.values()], width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      graph('Delivery success rate (%)', [this.successRate], {
        leftYAxis: { min: 0, max: 100 },
        leftAnnotations: [{ value: minSuccessRate, label: `alarm under ${minSuccessRate} %` }],
      }),
      graph('Attempts by outcome', [succeeded, ...failedByReason], { stacked: true }),
    );
    this.dashboard.addWidgets(
      graph('Delivery latency (ms): one HTTP attempt', percentiles(MetricName.deliveryLatency, 'DeliveryLatency')),
      graph('End-to-end age (ms): published to delivered', percentiles(MetricName.endToEndAge, 'EndToEndAge')),
    );
    this.dashboard.addWidgets(
      graph('Events', [
        this.platformMetric(MetricName.eventsReceived, router, 'Sum', 'EventsReceived'),
        this.platformMetric(MetricName.eventsRejected, router, 'Sum', 'EventsRejected'),
      ]),
      graph('Retries, dead letters, disabled endpoints', [
        this.platformMetric(MetricName.retriesScheduled, worker, 'Sum', 'RetriesScheduled'),
        this.platformMetric(MetricName.deadLettered, worker, 'Sum', 'DeadLettered'),
        this.platformMetric(MetricName.endpointsDisabled, worker, 'Sum', 'EndpointsDisabled'),
      ]),
      graph('Endpoint isolation: circuits opened, deliveries held, waiting for their rate-limit slot, moved to the slow lane', [
        this.platformMetric(MetricName.circuitsOpened, worker, 'Sum', 'CircuitsOpened'),
        this.platformMetric(MetricName.deliveriesHeld, worker, 'Sum', 'DeliveriesHeld'),
        this.platformMetric(MetricName.deliveriesHeld, router, 'Sum', 'DeliveriesHeld (queued held by the router)'),
        this.platformMetric(MetricName.deliveriesThrottled, worker, 'Sum', 'DeliveriesThrottled'),
        this.platformMetric(MetricName.deliveriesMovedToSlowLane, worker, 'Sum', 'DeliveriesMovedToSlowLane'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Queue backlog (visible messages)',
        props.workQueues.map(({ name, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: name }),
        ),
      ),
      graph(
        'Oldest message age (s)',
        props.workQueues.map(({ name, queue }) =>
          queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum', label: name }),
        ),
        {
          leftAnnotations: props.workQueues.map(({ name, maxOldestMessageAge }) => ({
            value: maxOldestMessageAge.toSeconds(),
            label: `${name} alarm`,
          })),
        },
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Dead-letter and reject queues (visible messages)',
        props.deadLetterQueues.map(({ name, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: name }),
        ),
        { width: 24 },
      ),
    );
    this.dashboard.addWidgets(
      perFunction('Lambda errors', (fn, label) => fn.metricErrors({ period: PERIOD, statistic: 'Sum', label })),
      perFunction('Lambda throttles', (fn, label) => fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label })),
      perFunction('Lambda duration p99 (ms)', (fn, label) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label })),
      perFunction('Lambda concurrent executions (max)', (fn, label) =>
        fn.metric('ConcurrentExecutions', { period: PERIOD, statistic: 'Maximum', label }),
      ),
    );
    this.dashboard.addWidgets(
      graph('API 4XX / 5XX responses', [
        stage.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4XXError' }),
        stage.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5XXError' }),
      ]),
      graph(
        'API latency (ms)',
        ['p50', 'p99'].map((statistic) => stage.metricLatency({ period: PERIOD, statistic, label: `Latency ${statistic}` })),
      ),
    );
  }
}

/**
 * 100 x succeeded / (succeeded + failed for every reason), per period. Missing counts are zeros (FILL): a period
 * with only successes has no AttemptsFailed datapoint. A period without any attempt is 100 %, not a division by 0.
 * Per-reason metrics rather than a SEARCH expression, because alarms cannot evaluate SEARCH.
 */
const successRateOf = (succeeded: Metric, failedByReason: readonly Metric[]): MathExpression => {
  const usingMetrics: Record<string, IMetric> = { succeeded };
  FailureReason.forEach((reason, index) => {
    usingMetrics[`failed_${reason}`] = failedByReason[index]!;
  });
  const filled = Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`);
  const attempts = `(${filled.join(' + ')})`;
  return new MathExpression({
    expression: `IF(${attempts} > 0, 100 * FILL(succeeded, 0) / ${attempts}, 100)`,
    usingMetrics,
    period: PERIOD,
    label: 'Delivery success rate (%)',
  });
};

const validateProps = (scope: Construct, props: MonitoringProps): void => {
  const where = scope.node.path;
  const names = [...props.workQueues, ...props.deadLetterQueues, ...props.functions].map(({ name }) => name);
  for (const name of names) {
    if (!NAME.test(name)) throw new Error(`${where}: "${name}" must be a letter then up to 63 letters or digits`);
  }
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length > 0) throw new Error(`${where}: names must be unique, repeated: ${[...new Set(repeated)].join(', ')}`);
  for (const { name, maxOldestMessageAge } of props.workQueues) {
    if (maxOldestMessageAge.isUnresolved()) throw new Error(`${where}: maxOldestMessageAge of ${name} must be a literal duration`);
    const seconds = maxOldestMessageAge.toSeconds();
    if (seconds < 60 || seconds > 1_209_600) {
      throw new Error(`${where}: maxOldestMessageAge of ${name} must be 1 minute to 14 days (SQS's longest retention), got ${seconds}s`);
    }
  }
  const minSuccessRate = props.minSuccessRatePercent;
  if (minSuccessRate !== undefined && !(minSuccessRate > 0 && minSuccessRate <= 100)) {
    throw new Error(`${where}: minSuccessRatePercent must be above 0 and at most 100, got ${minSuccessRate}`);
  }
  const periods = props.successRateEvaluationPeriods;
  if (periods !== undefined && (!Number.isInteger(periods) || periods < 1 || periods > 288)) {
    throw new Error(`${where}: successRateEvaluationPeriods must be 1-288 (a day of 5-minute periods), got ${periods}`);
  }
  const email = props.alarmEmail;
  if (email !== undefined && !Token.isUnresolved(email) && !EMAIL.test(email)) {
    throw new Error(`${where}: alarmEmail "${email}" is not an e-mail address`);
  }
  const dashboardName = props.dashboardName;
  if (dashboardName !== undefined && !Token.isUnresolved(dashboardName) && !/^[A-Za-z0-9_-]{1,255}$/.test(dashboardName)) {
    throw new Error(`${where}: dashboardName "${dashboardName}" may only hold letters, digits, "-" and "_" (at most 255)`);
  }
};

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { FAILURE_REASON_DIMENSION, FailureReason, METRICS_NAMESPACE, MetricName } from '../../functions/contracts/metrics.js';
import { deliveryQueueMaxAgeSeconds, parseStageConfig, type StageConfigInput } from '../../lib/config/stage-config.js';
import { repoRoot } from '../../lib/paths.js';
import { MetricService } from '../../functions/contracts/metrics.js';
import { Monitoring, type MonitoringProps } from '../../lib/constructs/monitoring.js';
import { buildPlatform, cdkJsonContext, logicalId, testApp } from './support/platform.js';

// The monitoring stack only reads names of the other stacks' resources: no handler needs bundling.
const platform = buildPlatform({ bundle: false });
const template = Template.fromStack(platform.monitoring);
const { monitoring } = platform.monitoring;
const { config } = platform;
const { ingestion } = platform.stateful;
const topicId = logicalId(monitoring.alarmTopic);

type Json = Record<string, any>;
interface GraphedMetric {
  readonly widget: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly stat: string | undefined;
}

/** The dashboard body as one string: the Fn::Join's tokens (imports, refs) inlined as text, so it parses as JSON. */
const dashboardBodyOf = (t: Template): string => {
  const dashboards = Object.values(t.findResources('AWS::CloudWatch::Dashboard')) as Json[];
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]!.Properties.DashboardBody;
  if (typeof body === 'string') return body;
  const parts = body['Fn::Join'][1] as unknown[];
  return parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part).replace(/"/g, "'"))).join('');
};
const dashboardBody = dashboardBodyOf(template);
const widgets = JSON.parse(dashboardBody).widgets as Json[];

/** Every metric of every graph: `[namespace, name, dim, value, ..., {options}]` rows; expressions are separate. */
const graphed: GraphedMetric[] = widgets
  .filter((widget) => widget.type === 'metric')
  .flatMap((widget) =>
    (widget.properties.metrics as unknown[][])
      .filter((row) => typeof row[0] === 'string')
      .map((row) => {
        const options = (typeof row.at(-1) === 'object' ? row.at(-1) : {}) as Json;
        const [namespace, metricName, ...rest] = row.filter((cell) => typeof cell === 'string') as string[];
        const dimensions: Record<string, string> = {};
        for (let i = 0; i + 1 < rest.length; i += 2) dimensions[rest[i]!] = rest[i + 1]!;
        return { widget: widget.properties.title as string, namespace: namespace!, metricName: metricName!, dimensions, stat: options.stat };
      }),
  );
const expressions = widgets
  .filter((widget) => widget.type === 'metric')
  .flatMap((widget) => (widget.properties.metrics as unknown[][]).filter((row) => typeof row[0] === 'object'))
  .map((row) => (row[0] as Json).expression as string);

/** Whether a dimension value (an import of another stack's export, or a ref) names the construct. */
const refersTo = (value: unknown, construct: IConstruct): boolean =>
  new RegExp(`(Output(FnGetAtt|Ref)|')${logicalId(construct)}`).test(typeof value === 'string' ? value : JSON.stringify(value));

type Alarm = { Properties: Json };
const alarms = template.findResources('AWS::CloudWatch::Alarm') as Record<string, Alarm>;
const alarmNamed = (name: string): Json => {
  const found = Object.values(alarms).filter((alarm) => alarm.Properties.AlarmName === `Webhooks-${config.name}-${name}`);
  expect(found).toHaveLength(1);
  return found[0]!.Properties;
};

const workQueues = [
  ['EventsQueue', config.monitoring.maxOldestMessageAgeSeconds, ingestion.eventsQueue],
  [
    'DeliveryQueue',
    deliveryQueueMaxAgeSeconds(config.delivery.retryScheduleSeconds, config.monitoring.maxOldestMessageAgeSeconds),
    platform.stateful.deliveryQueue,
  ],
  [
    'SlowLaneQueue',
    deliveryQueueMaxAgeSeconds(config.delivery.retryScheduleSeconds, config.monitoring.maxOldestMessageAgeSeconds),
    platform.stateful.slowLaneQueue,
  ],
] as const;
const deadLetterQueues = [
  ['EventsDeadLetterQueue', ingestion.eventsDeadLetterQueue],
  ['EventTargetDeadLetterQueue', ingestion.targetDeadLetterQueue],
  ['RejectedEventsQueue', ingestion.rejectedEventsQueue],
  ['DeliveryDeadLetterQueue', platform.stateful.deliveryDeadLetterQueue],
] as const;
const functions = [
  ['WebhooksRead', platform.api.functions.webhooksRead],
  ['WebhooksWrite', platform.api.functions.webhooksWrite],
  ['Catalogue', platform.api.functions.catalogue],
  ['Authorizer', platform.api.functions.authorizer],
  ['EventRouter', platform.pipeline.router.function],
  ['DeliveryWorker', platform.pipeline.worker.function],
] as const;
const apiStage = platform.api.api.api.deploymentStage;

describe('dashboard', () => {
  it('is one dashboard, named after the stage', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `Webhooks-${config.name}` });
  });

  it.each(Object.values(MetricName))('graphs %s, from the namespace and every service that emits it', (metricName) => {
    // The router counts the jobs it queues held behind an open circuit; the worker those it holds itself.
    const services =
      metricName === MetricName.eventsReceived || metricName === MetricName.eventsRejected
        ? [MetricService.eventRouter]
        : metricName === MetricName.deliveriesHeld
          ? [MetricService.deliveryWorker, MetricService.eventRouter]
          : [MetricService.deliveryWorker];

    const found = graphed.filter((metric) => metric.metricName === metricName);

    expect(found.length).toBeGreaterThan(0);
    for (const metric of found) expect(metric.namespace).toBe(METRICS_NAMESPACE);
    expect([...new Set(found.map((metric) => metric.dimensions.service))].sort()).toEqual([...services].sort());
  });

  it('graphs attempts by outcome: the successes and the failures of every reason', () => {
    const outcomes = graphed.filter((metric) => metric.widget === 'Attempts by outcome');

    expect(outcomes.map((metric) => metric.dimensions[FAILURE_REASON_DIMENSION] ?? metric.metricName).sort()).toEqual(
      ['DeliveriesSucceeded', ...FailureReason].sort(),
    );
    expect(outcomes.every((metric) => metric.stat === 'Sum')).toBe(true);
  });

  it.each([MetricName.deliveryLatency, MetricName.endToEndAge])('graphs p50 and p99 of %s', (metricName) => {
    const stats = graphed.filter((metric) => metric.metricName === metricName).map((metric) => metric.stat);

    expect(stats.sort()).toEqual(['p50', 'p99']);
  });

  it('graphs the delivery success rate from the successes and every failure reason', () => {
    const successRate = expressions.filter((expression) => expression.includes('100 * FILL(succeeded, 0)'));

    expect(successRate).toHaveLength(1);
    for (const reason of FailureReason) expect(successRate[0]).toContain(`FILL(failed_${reason}, 0)`);
  });

  it.each(workQueues)('graphs the backlog and the oldest message age of %s', (_name, _threshold, queue) => {
    for (const metricName of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']) {
      expect(
        graphed.some(
          (metric) => metric.namespace === 'AWS/SQS' && metric.metricName === metricName && refersTo(metric.dimensions.QueueName, queue),
        ),
      ).toBe(true);
    }
  });

  it.each(deadLetterQueues)('graphs the depth of %s', (_name, queue) => {
    expect(
      graphed.some(
        (metric) =>
          metric.namespace === 'AWS/SQS' &&
          metric.metricName === 'ApproximateNumberOfMessagesVisible' &&
          refersTo(metric.dimensions.QueueName, queue),
      ),
    ).toBe(true);
  });

  it.each(functions)('graphs errors, throttles, duration and concurrent executions of %s', (_name, fn) => {
    const ofFunction = graphed.filter((metric) => metric.namespace === 'AWS/Lambda' && refersTo(metric.dimensions.FunctionName, fn));

    expect(ofFunction.map((metric) => metric.metricName).sort()).toEqual(['ConcurrentExecutions', 'Duration', 'Errors', 'Throttles']);
  });

  it('graphs 4XX, 5XX and latency of the REST API stage', () => {
    const ofStage = graphed.filter(
      (metric) =>
        metric.namespace === 'AWS/ApiGateway' &&
        metric.dimensions.ApiName === `webhooks-${config.name}` &&
        refersTo(metric.dimensions.Stage, apiStage),
    );

    expect(ofStage.map((metric) => `${metric.metricName} ${metric.stat}`).sort()).toEqual([
      '4XXError Sum',
      '5XXError Sum',
      'Latency p50',
      'Latency p99',
    ]);
  });

  it('shows the state of every alarm', () => {
    const alarmWidget = widgets.filter((widget) => widget.type === 'alarm');

    expect(alarmWidget).toHaveLength(1);
    expect(alarmWidget[0]!.properties.alarms).toHaveLength(Object.keys(alarms).length);
  });
});

describe('alarms', () => {
  it('counts one per dead-letter queue, work queue and function problem, plus the success rate and API 5XX', () => {
    template.resourceCountIs(
      'AWS::CloudWatch::Alarm',
      deadLetterQueues.length + workQueues.length + 2 * functions.length + 1 + 1,
    );
  });

  it.each(Object.values(alarms).map((alarm) => [alarm.Properties.AlarmName as string, alarm] as const))(
    '%s notifies the topic on alarm and on recovery, and treats missing data deliberately',
    (_name, alarm) => {
    expect(alarm.Properties).toMatchObject({
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
      TreatMissingData: expect.stringMatching(/^(notBreaching|ignore)$/),
      AlarmName: expect.stringMatching(new RegExp(`^Webhooks-${config.name}-`)),
    });
      expect(alarm.Properties.AlarmDescription.length).toBeGreaterThan(20);
    },
  );

  it.each(deadLetterQueues)('fires as soon as %s holds a message, and keeps its state while SQS reports nothing', (name, queue) => {
    const alarm = alarmNamed(`${name}-NotEmpty`);

    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
    });
    expect(refersTo(alarm.Dimensions[0].Value, queue)).toBe(true);
  });

  it.each(workQueues)('fires when the oldest message on %s is older than %i s', (name, threshold, queue) => {
    const alarm = alarmNamed(`${name}-OldestMessageAge`);

    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: threshold,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(refersTo(alarm.Dimensions[0].Value, queue)).toBe(true);
  });

  it('lets retries wait on the delivery queue: its age threshold is the longest retry wait plus the allowed lag', () => {
    // 24 h + 20 % jitter = 103 680 s, plus the default 900 s.
    expect(alarmNamed('DeliveryQueue-OldestMessageAge').Threshold).toBe(104_580);
    expect(alarmNamed('EventsQueue-OldestMessageAge').Threshold).toBe(900);
  });

  it('fires when under 95 % of attempts succeed for three 5-minute periods, counting every failure reason', () => {
    const alarm = alarmNamed('DeliverySuccessRate-Low');
    const metrics = alarm.Metrics as Json[];
    const returned = metrics.filter((metric) => metric.ReturnData !== false);
    const inputs = metrics.filter((metric) => metric.MetricStat);

    expect(alarm).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 95,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
    expect(returned).toHaveLength(1);
    expect(returned[0]!.Expression).toMatch(/^IF\(.* > 0, 100 \* FILL\(succeeded, 0\) \/ .*, 100\)$/);
    for (const reason of FailureReason) expect(returned[0]!.Expression).toContain(`FILL(failed_${reason}, 0)`);
    expect(inputs.map((metric) => metric.MetricStat.Metric.MetricName).sort()).toEqual(
      ['DeliveriesSucceeded', ...FailureReason.map(() => 'AttemptsFailed')].sort(),
    );
    expect(inputs.map((metric) => metric.MetricStat.Metric.Dimensions)).toEqual(
      expect.arrayContaining(
        FailureReason.map((reason) =>
          expect.arrayContaining([
            { Name: FAILURE_REASON_DIMENSION, Value: reason },
            { Name: 'service', Value: MetricService.deliveryWorker },
          ]),
        ),
      ),
    );
    for (const input of inputs) {
      expect(input.MetricStat).toMatchObject({ Period: 300, Stat: 'Sum', Metric: { Namespace: METRICS_NAMESPACE } });
    }
  });

  it.each(functions.flatMap(([name, fn]) => [[name, 'Errors', fn] as const, [name, 'Throttles', fn] as const]))(
    'fires on any %s %s in a 5-minute period',
    (name, metricName, fn) => {
      const alarm = alarmNamed(`${name}-${metricName}`);

      expect(alarm).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Statistic: 'Sum',
        Period: 300,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(refersTo(alarm.Dimensions[0].Value, fn)).toBe(true);
    },
  );

  it('fires on any 5XX answer of the API stage in a 5-minute period', () => {
    const alarm = alarmNamed('Api-5XXErrors');

    expect(alarm).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Dimensions).toEqual(
      expect.arrayContaining([{ Name: 'ApiName', Value: `webhooks-${config.name}` }, { Name: 'Stage', Value: expect.anything() }]),
    );
  });

  it('takes its thresholds from the stage config', () => {
    const tuned = buildPlatform({
      bundle: false,
      config: {
        name: 'prod',
        monitoring: { maxOldestMessageAgeSeconds: 300, minSuccessRatePercent: 99.5 },
        delivery: { retryScheduleSeconds: [5, 60, 600] },
      },
    });
    const tunedAlarms = Object.values(Template.fromStack(tuned.monitoring).findResources('AWS::CloudWatch::Alarm')) as Alarm[];
    const threshold = (name: string) =>
      tunedAlarms.find((alarm) => alarm.Properties.AlarmName === `Webhooks-prod-${name}`)?.Properties.Threshold;

    expect(threshold('EventsQueue-OldestMessageAge')).toBe(300);
    expect(threshold('DeliveryQueue-OldestMessageAge')).toBe(600 * 1.2 + 300);
    expect(threshold('DeliverySuccessRate-Low')).toBe(99.5);
  });
});

describe('stages without metric-math alarms (emulators)', () => {
  const alarmsOf = (stageConfig: StageConfigInput) =>
    Object.values(
      Template.fromStack(buildPlatform({ bundle: false, config: stageConfig }).monitoring).findResources('AWS::CloudWatch::Alarm'),
    ) as Alarm[];
  const names = (stageAlarms: Alarm[]) => stageAlarms.map((alarm) => alarm.Properties.AlarmName as string);
  const deployedTestStage = JSON.parse(readFileSync(join(repoRoot, 'test/aws/deployed/stage.json'), 'utf8')) as StageConfigInput;

  it('the AWS stage of cdk.json keeps the metric-math success-rate alarm', () => {
    const awsStage = cdkJsonContext().webhooks as StageConfigInput;
    const awsAlarms = alarmsOf(awsStage);
    const name = parseStageConfig(awsStage).name;

    expect(names(awsAlarms)).toContain(`Webhooks-${name}-DeliverySuccessRate-Low`);
    expect(names(awsAlarms)).not.toContain(`Webhooks-${name}-DeliveriesDeadLettered`);
    expect(awsAlarms.filter((alarm) => alarm.Properties.Metrics !== undefined)).toHaveLength(1);
  });

  it('the deployed-stack test stage replaces it by a single-metric alarm on dead-lettered deliveries, and only it', () => {
    const emulatorAlarms = alarmsOf(deployedTestStage);
    const name = parseStageConfig(deployedTestStage).name;

    expect(emulatorAlarms.filter((alarm) => alarm.Properties.Metrics !== undefined)).toEqual([]);
    expect(names(emulatorAlarms).sort()).toEqual(
      names(alarmsOf({ ...deployedTestStage, emulator: {} }))
        .map((alarmName) => alarmName.replace('DeliverySuccessRate-Low', 'DeliveriesDeadLettered'))
        .sort(),
    );
    expect(emulatorAlarms.find((alarm) => alarm.Properties.AlarmName === `Webhooks-${name}-DeliveriesDeadLettered`)!.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: MetricName.deadLettered,
      Dimensions: [{ Name: 'service', Value: MetricService.deliveryWorker }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
  });

  it('warns at synth that the stage is for emulators only', () => {
    const emulatorStage = buildPlatform({ bundle: false, config: deployedTestStage });

    Annotations.fromStack(emulatorStage.monitoring).hasWarning('*', Match.stringLikeRegexp('emulators only, never for AWS'));
    expect(Annotations.fromStack(platform.monitoring).findWarning('*', Match.stringLikeRegexp('metricMathAlarms'))).toEqual([]);
  });
});

describe('alarm topic', () => {
  it('is encrypted with its own rotating KMS key, which CloudWatch alarms may use', () => {
    const keyId = logicalId(monitoring.alarmTopicKey);

    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('refuses publishing without TLS and lets only this account’s CloudWatch alarms publish', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: Match.anyValue() },
          }),
        ]),
      },
    });
  });

  it('has no subscription unless the stage names an alarm e-mail', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('e-mails the stage’s alarm address when one is set', () => {
    const withEmail = buildPlatform({ bundle: false, config: { monitoring: { alarmEmail: 'oncall@example.com' } } });
    const withEmailTemplate = Template.fromStack(withEmail.monitoring);

    withEmailTemplate.resourceCountIs('AWS::SNS::Subscription', 1);
    withEmailTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: logicalId(withEmail.monitoring.monitoring.alarmTopic) },
    });
  });
});

describe('outputs', () => {
  it('publish the alarm topic ARN and the dashboard name', () => {
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
    template.hasOutput('DashboardName', { Value: { Ref: logicalId(monitoring.dashboard) } });
  });
});

describe('Monitoring props', () => {
  /** A Monitoring in a bare stack over imported resources; `overrides` may use those resources. */
  const build = (overrides: (fixtures: { queue: IQueue; fn: IFunction }) => Partial<MonitoringProps> = () => ({})) => {
    const stack = new Stack(testApp({ bundle: false }), 'Props');
    const api = new RestApi(stack, 'Api');
    api.root.addMethod('GET', new MockIntegration());
    const queue = Queue.fromQueueArn(stack, 'Queue', 'arn:aws:sqs:eu-west-1:123456789012:work');
    const dlq = Queue.fromQueueArn(stack, 'Dlq', 'arn:aws:sqs:eu-west-1:123456789012:dlq');
    const fn = LambdaFunction.fromFunctionName(stack, 'Fn', 'worker');
    return () =>
      new Monitoring(stack, 'Monitoring', {
        workQueues: [{ name: 'Work', queue, maxOldestMessageAge: Duration.minutes(15) }],
        deadLetterQueues: [{ name: 'Dead', queue: dlq }],
        functions: [{ name: 'Worker', function: fn }],
        apiStage: api.deploymentStage,
        ...overrides({ queue, fn }),
      });
  };

  it('builds with the defaults: 95 %, no subscription, a generated dashboard name, the stack name as prefix', () => {
    const built = Template.fromStack(Stack.of(build()()));

    built.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Props-DeliverySuccessRate-Low', Threshold: 95 });
    built.resourceCountIs('AWS::SNS::Subscription', 0);
    built.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: Match.absent() });
  });

  it.each<[string, Parameters<typeof build>[0], RegExp]>([
    ['a name that is not letters and digits', ({ fn }) => ({ functions: [{ name: 'has space', function: fn }] }), /"has space" must be a letter/],
    [
      'a name used twice (alarm names and construct IDs would collide)',
      ({ queue }) => ({ deadLetterQueues: [{ name: 'Work', queue }] }),
      /names must be unique, repeated: Work/,
    ],
    [
      'an oldest-message age under a minute',
      ({ queue }) => ({ workQueues: [{ name: 'Work', queue, maxOldestMessageAge: Duration.seconds(30) }] }),
      /maxOldestMessageAge of Work must be 1 minute to 14 days/,
    ],
    [
      'an oldest-message age over SQS’s longest retention',
      ({ queue }) => ({ workQueues: [{ name: 'Work', queue, maxOldestMessageAge: Duration.days(15) }] }),
      /maxOldestMessageAge of Work must be 1 minute to 14 days/,
    ],
    ['an alarm e-mail that is no address', () => ({ alarmEmail: 'not-an-address' }), /alarmEmail "not-an-address" is not an e-mail address/],
    ['a success rate of 0 %', () => ({ minSuccessRatePercent: 0 }), /minSuccessRatePercent must be above 0 and at most 100, got 0/],
    ['a success rate over 100 %', () => ({ minSuccessRatePercent: 101 }), /minSuccessRatePercent must be above 0 and at most 100, got 101/],
    ['no evaluation period', () => ({ successRateEvaluationPeriods: 0 }), /successRateEvaluationPeriods must be 1-288/],
    ['a dashboard name with spaces', () => ({ dashboardName: 'with spaces' }), /dashboardName "with spaces" may only hold/],
  ])('rejects %s, at synth', (_case, overrides, message) => {
    expect(build(overrides)).toThrow(message);
  });
});

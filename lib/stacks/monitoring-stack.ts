import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { deliveryQueueMaxAgeSeconds, type StageConfig } from '../config/stage-config.js';
import { Monitoring } from '../constructs/monitoring.js';

export interface MonitoringStackProps extends StackProps {
  readonly config: StageConfig;
  /** The queues the router and the worker consume, from the stateful stack. */
  readonly eventsQueue: IQueue;
  readonly deliveryQueue: IQueue;
  readonly slowLaneQueue: IQueue;
  /** Where messages end, from the stateful stack. */
  readonly eventsDeadLetterQueue: IQueue;
  readonly eventTargetDeadLetterQueue: IQueue;
  readonly rejectedEventsQueue: IQueue;
  readonly deliveryDeadLetterQueue: IQueue;
  /** Every function of the API and the pipeline stacks, by the name the dashboard and the alarms give it. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The REST API's stage, from the API stack. */
  readonly apiStage: Stage;
}

/**
 * The dashboard and the alarms of one stage, and the topic the alarms notify. Stateless and last: it only reads
 * the other stacks' resources (names imported for the metrics' dimensions), and nothing depends on it.
 */
export class MonitoringStack extends Stack {
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { maxOldestMessageAgeSeconds, minSuccessRatePercent, alarmEmail } = config.monitoring;

    // Retries wait on the delivery queues for up to the schedule's longest delay: only past that is one stuck.
    const deliveryQueueMaxAge = Duration.seconds(
      deliveryQueueMaxAgeSeconds(config.delivery.retryScheduleSeconds, maxOldestMessageAgeSeconds),
    );
    this.monitoring = new Monitoring(this, 'Monitoring', {
      workQueues: [
        { name: 'EventsQueue', queue: props.eventsQueue, maxOldestMessageAge: Duration.seconds(maxOldestMessageAgeSeconds) },
        { name: 'DeliveryQueue', queue: props.deliveryQueue, maxOldestMessageAge: deliveryQueueMaxAge },
        { name: 'SlowLaneQueue', queue: props.slowLaneQueue, maxOldestMessageAge: deliveryQueueMaxAge },
      ],
      deadLetterQueues: [
        { name: 'EventsDeadLetterQueue', queue: props.eventsDeadLetterQueue },
        { name: 'EventTargetDeadLetterQueue', queue: props.eventTargetDeadLetterQueue },
        { name: 'RejectedEventsQueue', queue: props.rejectedEventsQueue },
        { name: 'DeliveryDeadLetterQueue', queue: props.deliveryDeadLetterQueue },
      ],
      functions: Object.entries(props.functions).map(([name, fn]) => ({ name, function: fn })),
      apiStage: props.apiStage,
      minSuccessRatePercent,
      metricMathAlarms: config.emulator.metricMathAlarms,
      ...(alarmEmail !== undefined && { alarmEmail }),
      dashboardName: `Webhooks-${config.name}`,
      alarmNamePrefix: `Webhooks-${config.name}`,
    });

    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.alarmTopic.topicArn,
      description: 'Every alarm notifies this topic; subscribe a pager, chat or e-mail to it',
    });
    new CfnOutput(this, 'DashboardName', {
      value: this.monitoring.dashboard.dashboardName,
      description: 'The CloudWatch dashboard of this stage',
    });
  }
}

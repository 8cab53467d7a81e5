import { Validations } from 'aws-cdk-lib';
import { complianceChecks, addComplianceChecks } from '../../lib/webhook-platform.js';
import { buildPlatform } from './support/platform.js';

// The rule packs read the construct tree, so the handlers need not be bundled here. With an alarm e-mail, so that
// the optional resources (the topic's e-mail subscription) are checked too.
const { app } = buildPlatform({ bundle: false, config: { monitoring: { alarmEmail: 'alarms@example.com' } } });

/** Every acknowledged rule in the app: where, which, and why. */
const acknowledgements = () =>
  app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );

describe('cdk-nag', () => {
  it.each(complianceChecks(app).map((pack) => [pack.readPackName, pack] as const))(
    '%s reports no unacknowledged finding, error or warning',
    (_name, pack) => {
      const report = pack.validateScope(app);

      const findings = report.violations.map(
        (violation) =>
          `${violation.severity} ${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );
      expect(findings).toEqual([]);
    },
  );

  it('acknowledges only the documented rules, each on the construct it concerns and with a reason', () => {
    const found = acknowledgements();

    expect(new Set(found.map((ack) => ack.id))).toEqual(
      new Set([
        'AwsSolutions-IAM5[Resource::*]', // X-Ray on every function role
        'AwsSolutions-L1', // nodejs22.x pinned
        'Serverless-LambdaLatestVersion', // nodejs22.x pinned
        'Serverless-LambdaDLQ', // synchronous functions; queue functions, whose source queue's DLQ takes failures
        'Serverless-LambdaEventSourceMappingDestination', // SQS event sources: the queue's redrive policy instead
        'AwsSolutions-SQS3', // the rule target's DLQ and the rejected-events queue: where messages end
        'AwsSolutions-COG4', // API keys + Lambda authorizer, no Cognito
        'AwsSolutions-APIG2', // validation in the handlers
        'AwsSolutions-APIG3', // WAF out of scope
        'AwsSolutions-APIG4', // public route and fallback methods only
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'Serverless-SQSRedrivePolicy', // the DLQs and the rejected-events queue themselves
        'Serverless-SNSRedrivePolicy', // the alarm topic's e-mail subscription
      ]),
    );
    for (const ack of found) {
      expect(ack.reason.length).toBeGreaterThan(20);
      // Never a blanket acknowledgement on a whole stack or the app.
      expect(ack.path.split('/').length).toBeGreaterThan(1);
    }
  });

  it('acknowledges missing authorization only on the public route and the fallback methods', () => {
    const apig4 = acknowledgements().filter((ack) => ack.id === 'AwsSolutions-APIG4');

    for (const ack of apig4) {
      expect(ack.path).toMatch(/\/(ANY|openapi\.json\/GET)$/);
    }
  });

  it('acknowledges a missing function dead-letter target only where failures are caught elsewhere', () => {
    const lambdaDlq = acknowledgements().filter((ack) => ack.id === 'Serverless-LambdaDLQ');
    const queueFunctions = lambdaDlq.filter((ack) => ack.path.includes('-Pipeline/'));

    // One per queue consumed: the worker's two lanes each name their queue.
    expect([...new Set(queueFunctions.map((ack) => ack.path))].sort()).toEqual([
      'Webhooks-dev-Pipeline/DeliveryWorker/Function',
      'Webhooks-dev-Pipeline/EventRouter/Function',
    ]);
    for (const ack of queueFunctions) expect(ack.reason).toMatch(/redrive policy moves them to .*DeadLetterQueue after \d+ receives/);
    for (const ack of lambdaDlq.filter((a) => !queueFunctions.includes(a))) expect(ack.reason).toMatch(/synchronously/);
  });

  it('acknowledges queues without a dead-letter queue only where messages end', () => {
    const endOfTheLine = acknowledgements()
      .filter((ack) => ack.id === 'Serverless-SQSRedrivePolicy' || ack.id === 'AwsSolutions-SQS3')
      .map((ack) => `${ack.id} ${ack.path}`)
      .sort();

    expect(endOfTheLine).toEqual([
      'AwsSolutions-SQS3 Webhooks-dev-Stateful/EventIngestion/RejectedEventsQueue',
      'AwsSolutions-SQS3 Webhooks-dev-Stateful/EventIngestion/TargetDeadLetterQueue',
      'Serverless-SQSRedrivePolicy Webhooks-dev-Stateful/Deliveries/DeadLetterQueue',
      'Serverless-SQSRedrivePolicy Webhooks-dev-Stateful/EventIngestion/EventsDeadLetterQueue',
      'Serverless-SQSRedrivePolicy Webhooks-dev-Stateful/EventIngestion/RejectedEventsQueue',
      'Serverless-SQSRedrivePolicy Webhooks-dev-Stateful/EventIngestion/TargetDeadLetterQueue',
    ]);
  });

  it('acknowledges a subscription without a dead-letter queue only on the alarm topic’s e-mail subscription', () => {
    const snsRedrive = acknowledgements().filter((ack) => ack.id === 'Serverless-SNSRedrivePolicy');

    expect(snsRedrive.map((ack) => ack.path)).toEqual(['Webhooks-dev-Monitoring/Monitoring/AlarmTopic/alarms@example.com']);
    expect(snsRedrive[0]!.reason).toMatch(/e-mail/i);
  });

  it('lets the app synthesize with both packs registered', () => {
    addComplianceChecks(app);

    expect(() => app.synth({ force: true })).not.toThrow();
  });
});

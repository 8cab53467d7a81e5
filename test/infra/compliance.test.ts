import { Validations } from 'aws-cdk-lib';
import { complianceChecks, addComplianceChecks } from '../../lib/webhook-platform.js';
import { buildPlatform } from './support/platform.js';

// The rule packs read the construct tree, so the handlers need not be bundled here.
const { app } = buildPlatform({ bundle: false });

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
        'Serverless-LambdaDLQ', // synchronous functions
        'AwsSolutions-COG4', // API keys + Lambda authorizer, no Cognito
        'AwsSolutions-APIG2', // validation in the handlers
        'AwsSolutions-APIG3', // WAF out of scope
        'AwsSolutions-APIG4', // public route and fallback methods only
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'Serverless-SQSRedrivePolicy', // the DLQ itself
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

  it('lets the app synthesize with both packs registered', () => {
    addComplianceChecks(app);

    expect(() => app.synth({ force: true })).not.toThrow();
  });
});

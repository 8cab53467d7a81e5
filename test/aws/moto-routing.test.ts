/**
 * The event bus, rule and rule target of the SYNTHESIZED CDK app, recreated in moto from the template (the rule's
 * EventPattern is the template's, not a copy of buildEventPattern), and exercised with EventBridge PutEvents
 * through the real AWS SDK v3 client: matching events land on the events queue in EventBridge's SQS envelope,
 * which the router's envelope schema accepts; everything else stays on the bus.
 *
 * What the emulator proves: the pattern CDK renders is valid EventBridge pattern JSON, and EventBridge's matching
 * of it (exact, case-sensitive values; source AND detail-type) selects the catalogue's producer event types from
 * the allowed sources only, on the platform's own bus (a producer cannot inject ping or the platform's operational
 * events); the envelope the router parses is the one an SQS target gets.
 * What it cannot prove: IAM (moto neither needs nor checks the events queue's policy letting events.amazonaws.com
 * send for this rule's ARN, nor producers' events:PutEvents permissions), the target's retry policy and
 * dead-letter queue (moto accepts them but never fails a put), real Lambda scaling and alarm evaluation. The rule,
 * its target, DLQ and retry policy are asserted in test/infra/stateful-stack.test.ts 'event bus and rule'.
 * Covered instead by template assertions: IAM in test/infra/pipeline-stack.test.ts 'least privilege' (each
 * function's queue and table actions, ChangeMessageVisibility for the worker), test/infra/stateful-stack.test.ts
 * 'events queue' (only EventBridge, for this rule's ARN, may send) and 'every queue' (SSE, refuses non-TLS);
 * Lambda scaling in pipeline-stack.test.ts 'event sources' (BatchSize, MaximumConcurrency, ReportBatchItemFailures)
 * and 'visibility timeouts', and test/infra/webhook-function.test.ts 'WebhookFunction.consume'; alarms in
 * test/infra/monitoring-stack.test.ts 'alarms' (metric, statistic, threshold and missing-data treatment of each:
 * DLQ depth, oldest message age, success rate, function errors and throttles), which no emulator evaluates.
 *
 * Moto 5.2.5 quirk: its envelope has no `account` field (EventBridge's has); nothing here or in the router
 * depends on it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DescribeRuleCommand,
  type EventBridgeClient,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { eventCatalogue } from '../../functions/contracts/event-catalogue.js';
import { buildEventPattern } from '../../functions/contracts/event-routing.js';
import { EventBridgeEnvelope } from '../../functions/contracts/delivery.schema.js';
import { parseStageConfig, STAGE_CONTEXT_KEY, type StageConfig } from '../../lib/config/stage-config.js';
import { repoRoot } from '../../lib/paths.js';
import { createWebhookPlatform } from '../../lib/webhook-platform.js';
import {
  createQueue,
  drain,
  MOTO_REGION,
  type MotoQueue,
  motoEventBridgeClient,
  motoSqsClient,
  parseBody,
  queueAttributes,
  claimMoto,
} from './support/moto-clients.js';

type CfnResource = { Type: string; Properties?: Record<string, any> };
type CfnTemplate = { Resources?: Record<string, CfnResource> };

/** The app `cdk synth` builds (cdk.json's context and stage config), without bundling the functions. */
const synthesizeApp = (): { config: StageConfig; templates: CfnTemplate[] } => {
  const { context } = JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const config = parseStageConfig(app.node.tryGetContext(STAGE_CONTEXT_KEY));
  createWebhookPlatform(app, config);
  return { config, templates: app.synth().stacks.map((stack) => stack.template as CfnTemplate) };
};

/** The logical ID a `Ref` or `Fn::GetAtt [id, 'Arn']` points at. */
const referencedId = (value: unknown, what: string): string => {
  const reference = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] } | undefined;
  if (reference?.Ref) return reference.Ref;
  if (reference?.['Fn::GetAtt']?.[1] === 'Arn') return reference['Fn::GetAtt'][0];
  throw new Error(`${what} is not a Ref or Fn::GetAtt Arn within its stack: ${JSON.stringify(value)}`);
};

/** SQS attributes for CreateQueue from an AWS::SQS::Queue's properties (RedrivePolicy resolved by the caller). */
const SQS_ATTRIBUTE_PROPERTIES = ['DelaySeconds', 'MaximumMessageSize', 'MessageRetentionPeriod', 'ReceiveMessageWaitTimeSeconds', 'SqsManagedSseEnabled', 'VisibilityTimeout'];

let sqs: SQSClient;
let events: EventBridgeClient;
let config: StageConfig;
let rulePattern: { source?: string[]; 'detail-type': string[] };
let busName: string;
let ruleName: string;
let eventsQueue: MotoQueue;
let targetDeadLetterQueue: MotoQueue | undefined;
let templateTarget: Record<string, any>;

/** Creates, in moto, an AWS::SQS::Queue of the template and, first, the queue its RedrivePolicy names. */
const createQueueFromTemplate = async (template: CfnTemplate, logicalId: string, created = new Map<string, MotoQueue>()): Promise<MotoQueue> => {
  const existing = created.get(logicalId);
  if (existing) return existing;
  const resource = template.Resources?.[logicalId];
  if (resource?.Type !== 'AWS::SQS::Queue') throw new Error(`${logicalId} is not an AWS::SQS::Queue of the template`);
  const properties = resource.Properties ?? {};
  const attributes = Object.fromEntries(
    SQS_ATTRIBUTE_PROPERTIES.filter((name) => properties[name] !== undefined).map((name) => [name, String(properties[name])]),
  );
  const redrive = properties.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number } | undefined;
  const deadLetter = redrive && {
    queue: await createQueueFromTemplate(template, referencedId(redrive.deadLetterTargetArn, `${logicalId} RedrivePolicy`), created),
    maxReceiveCount: Number(redrive.maxReceiveCount),
  };
  const queue = await createQueue(sqs, logicalId, { attributes, ...(deadLetter && { deadLetter }) });
  created.set(logicalId, queue);
  return queue;
};

let releaseMoto: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const synthesized = synthesizeApp(); // before claiming moto: it needs none
  config = synthesized.config;
  releaseMoto = await claimMoto();
  sqs = motoSqsClient();
  events = motoEventBridgeClient();

  // The rule, found by type wherever the app puts it; its bus and target by the references in its properties.
  const rules = synthesized.templates.flatMap((template) =>
    Object.entries(template.Resources ?? {})
      .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
      .map(([logicalId, resource]) => ({ template, logicalId, properties: resource.Properties ?? {} })),
  );
  expect(rules).toHaveLength(1);
  const [rule] = rules;
  const { template, logicalId, properties } = rule!;
  rulePattern = properties.EventPattern;
  ruleName = logicalId;

  const busId = referencedId(properties.EventBusName, `${logicalId} EventBusName`);
  expect(template.Resources?.[busId]?.Type).toBe('AWS::Events::EventBus');
  busName = busId; // CloudFormation would generate the name; any name of our own does here
  await events.send(new CreateEventBusCommand({ Name: busName }));

  expect(properties.Targets).toHaveLength(1);
  templateTarget = properties.Targets[0];
  const created = new Map<string, MotoQueue>();
  eventsQueue = await createQueueFromTemplate(template, referencedId(templateTarget.Arn, `${logicalId} target`), created);
  targetDeadLetterQueue = templateTarget.DeadLetterConfig
    ? await createQueueFromTemplate(template, referencedId(templateTarget.DeadLetterConfig.Arn, `${logicalId} DeadLetterConfig`), created)
    : undefined;

  await events.send(
    new PutRuleCommand({
      Name: ruleName,
      EventBusName: busName,
      EventPattern: JSON.stringify(rulePattern),
      State: properties.State ?? 'ENABLED',
      Description: properties.Description,
    }),
  );
  const put = await events.send(
    new PutTargetsCommand({
      Rule: ruleName,
      EventBusName: busName,
      Targets: [
        {
          Id: templateTarget.Id,
          Arn: eventsQueue.arn,
          ...(templateTarget.RetryPolicy && { RetryPolicy: templateTarget.RetryPolicy }),
          ...(targetDeadLetterQueue && { DeadLetterConfig: { Arn: targetDeadLetterQueue.arn } }),
        },
      ],
    }),
  );
  expect(put.FailedEntryCount).toBe(0);
}, 420_000);

afterAll(async () => {
  await releaseMoto?.();
  sqs?.destroy();
  events?.destroy();
});

/** PutEvents in requests of at most 10 entries, on the platform's bus unless an entry names another. */
const publish = async (entries: PutEventsRequestEntry[]) => {
  const ids: string[] = [];
  for (let offset = 0; offset < entries.length; offset += 10) {
    const result = await events.send(
      new PutEventsCommand({ Entries: entries.slice(offset, offset + 10).map((entry) => ({ EventBusName: busName, ...entry })) }),
    );
    expect(result.FailedEntryCount).toBe(0);
    ids.push(...(result.Entries ?? []).map((entry) => entry.EventId!));
  }
  return ids;
};

const entry = (source: string, detailType: string, detail: Record<string, unknown> = {}): PutEventsRequestEntry => ({
  Source: source,
  DetailType: detailType,
  Detail: JSON.stringify({ tenantId: 'acme', data: {}, ...detail }),
});

/** What reached the events queue (PutEvents puts on an SQS target before it returns, in moto). */
const routed = async () => (await drain(sqs, eventsQueue)).map(parseBody);

describe('the synthesized rule on moto EventBridge', () => {
  it('is the routing contract: the catalogue’s producer event types from the stage’s allowed sources, stored as given', async () => {
    const described = await events.send(new DescribeRuleCommand({ Name: ruleName, EventBusName: busName }));
    const targets = await events.send(new ListTargetsByRuleCommand({ Rule: ruleName, EventBusName: busName }));

    expect(rulePattern).toEqual(buildEventPattern(config.events.allowedSources));
    expect(rulePattern.source).toEqual(config.events.allowedSources);
    expect(rulePattern['detail-type']).toEqual(
      eventCatalogue.filter((eventType) => eventType.publishedBy === 'producers').map((eventType) => eventType.name),
    );
    expect(JSON.parse(described.EventPattern!)).toEqual(rulePattern);
    expect(described.State).toBe('ENABLED');
    expect(targets.Targets).toEqual([expect.objectContaining({ Arn: eventsQueue.arn, RetryPolicy: templateTarget.RetryPolicy })]);
    const redrive = JSON.parse((await queueAttributes(sqs, eventsQueue)).RedrivePolicy ?? '{}');
    expect(Number(redrive.maxReceiveCount)).toBe(config.eventsQueue.maxReceiveCount);
  });

  it('puts every event type of the pattern from every allowed source on the events queue, in EventBridge’s envelope', async () => {
    const entries = rulePattern.source!.flatMap((source) =>
      rulePattern['detail-type'].map((type, index) => entry(source, type, { id: `${source}-${type}`, attributes: { n: String(index) } })),
    );
    const time = new Date('2026-03-04T05:06:07.000Z');

    const ids = await publish(entries.map((item) => ({ ...item, Time: time, Resources: ['arn:aws:example:::order/1'] })));

    const bodies = await routed();
    expect(bodies).toHaveLength(entries.length);
    expect(bodies.map((body) => body.id).sort()).toEqual([...ids].sort());
    for (const body of bodies) {
      const sent = entries.find((item) => item.Source === body.source && item.DetailType === body['detail-type']);
      expect(body).toEqual(
        expect.objectContaining({
          version: '0',
          id: expect.any(String),
          'detail-type': sent!.DetailType,
          source: sent!.Source,
          time: '2026-03-04T05:06:07Z',
          region: MOTO_REGION,
          resources: ['arn:aws:example:::order/1'],
          // The Detail string arrives parsed, as an object: the router reads detail.tenantId, not a string.
          detail: JSON.parse(sent!.Detail!),
        }),
      );
      expect(EventBridgeEnvelope.safeParse(body).success).toBe(true);
    }
  });

  it('leaves on the bus what the pattern does not match: other sources, the platform’s own event types, unknown types, near misses', async () => {
    const [allowed] = rulePattern.source!;
    const [routedType] = rulePattern['detail-type'];
    // ping and the operational events are the platform's to send: a producer publishing them must not reach anyone.
    const platformTypes = eventCatalogue.filter((eventType) => eventType.publishedBy !== 'producers').map((eventType) => eventType.name);
    expect(platformTypes).toContain('ping');
    const unmatched = [
      entry('someone.else', routedType!),
      entry(`${allowed}.evil`, routedType!), // exact match, not a prefix
      entry(allowed!.toUpperCase(), routedType!), // case-sensitive
      ...platformTypes.map((type) => entry(allowed!, type)),
      entry(allowed!, 'order.deleted'), // not in the catalogue
      entry(allowed!, routedType!.toUpperCase()),
      entry(allowed!, `${routedType!.split('.')[0]}.*`), // no wildcards in exact matching
    ];

    await publish(unmatched);
    const [sentinel] = await publish([entry(allowed!, routedType!, { id: 'sentinel' })]);

    expect((await routed()).map((body) => body.id)).toEqual([sentinel]);
  });
});

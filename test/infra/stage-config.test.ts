import { DEFAULT_RETRY_DELAYS_SECONDS } from '../../functions/domain/delivery/retry-policy.js';
import { deliveryQueueMaxAgeSeconds, parkingReceives, parseStageConfig } from '../../lib/config/stage-config.js';
import { LOCAL_POLLERS } from '../../local/platform.js';

describe('stage config', () => {
  it('defaults to a safe dev stage', () => {
    const config = parseStageConfig(undefined);

    expect(config).toEqual({
      name: 'dev',
      api: { stageName: 'api', throttlingRateLimit: 50, throttlingBurstLimit: 100 },
      logRetentionDays: 30,
      allowHttpUrls: false,
      allowPrivateDestinations: false,
      endpoints: {},
      events: { allowedSources: ['com.example.shop'], targetRetryAttempts: 185, targetMaxEventAgeSeconds: 86_400 },
      eventsQueue: { visibilityTimeoutSeconds: 180, maxReceiveCount: 5 },
      router: { batchSize: 10, maxConcurrency: 5, timeoutSeconds: 30, memorySize: 256 },
      delivery: {
        retryScheduleSeconds: [...DEFAULT_RETRY_DELAYS_SECONDS],
        batchSize: 10,
        maxConcurrency: 20,
        timeoutSeconds: 30,
        memorySize: 256,
        requestTimeoutMs: 15_000,
        connectTimeoutMs: 5000,
        slowLane: { deadlineMs: 2000, holdSeconds: 3600, maxConcurrency: 5 },
      },
      deliveryQueue: { visibilityTimeoutSeconds: 180, maxReceiveCount: 10 },
      monitoring: { maxOldestMessageAgeSeconds: 900, minSuccessRatePercent: 95 },
      emulator: { metricMathAlarms: true, sqsBatchActionGrants: false, kmsEncryptionContextConditions: true },
    });
    expect(config.monitoring.alarmEmail).toBeUndefined();
  });

  it("gives local mode's queues as many pollers as the default stage gives their event source mappings", () => {
    const { router, delivery } = parseStageConfig(undefined);

    expect(LOCAL_POLLERS).toEqual({
      events: router.maxConcurrency,
      deliveries: delivery.maxConcurrency,
      slowLaneDeliveries: delivery.slowLane.maxConcurrency,
    });
  });

  it('accepts the JSON string `cdk -c webhooks=...` passes, keeping defaults for the rest', () => {
    const config = parseStageConfig('{"name":"prod","api":{"throttlingRateLimit":200,"throttlingBurstLimit":400}}');

    expect(config.name).toBe('prod');
    expect(config.api).toEqual({ stageName: 'api', throttlingRateLimit: 200, throttlingBurstLimit: 400 });
  });

  it('takes endpoint overrides for a local emulator', () => {
    const config = parseStageConfig({ endpoints: { dynamodb: 'http://localhost:4566', sqs: 'http://localhost:4566' } });

    expect(config.endpoints).toEqual({ dynamodb: 'http://localhost:4566', sqs: 'http://localhost:4566' });
  });

  it('takes the deployer’s event sources and a pipeline tuned together', () => {
    const config = parseStageConfig({
      events: { allowedSources: ['com.acme.orders', 'com.acme.billing'] },
      delivery: { retryScheduleSeconds: [1, 60], timeoutSeconds: 60, requestTimeoutMs: 10_000, maxConcurrency: 100 },
      deliveryQueue: { visibilityTimeoutSeconds: 360 },
    });

    expect(config.events.allowedSources).toEqual(['com.acme.orders', 'com.acme.billing']);
    expect(config.delivery).toMatchObject({ retryScheduleSeconds: [1, 60], timeoutSeconds: 60, maxConcurrency: 100 });
  });

  it.each([
    [{ logRetentionDays: 10 }, 'logRetentionDays'],
    [{ api: { throttlingRateLimit: 100, throttlingBurstLimit: 10 } }, 'api.throttlingBurstLimit'],
    [{ endpoints: { dynamodb: 'not a url' } }, 'endpoints.dynamodb'],
    [{ name: 'has spaces' }, 'name'],
    [{ allowHttpUrls: 'true' }, 'allowHttpUrls'],
    [{ tableName: 'x' }, '(root)'],
    [{ events: { allowedSources: ['aws.s3'] } }, 'events.allowedSources.0'],
    [{ events: { allowedSources: ['a.b', 'a.b'] } }, 'events.allowedSources'],
    [{ events: { targetRetryAttempts: 186 } }, 'events.targetRetryAttempts'],
    [{ delivery: { retryScheduleSeconds: [] } }, 'delivery.retryScheduleSeconds'],
    [{ delivery: { retryScheduleSeconds: [5, -1] } }, 'delivery.retryScheduleSeconds.1'],
    [{ delivery: { batchSize: 11 } }, 'delivery.batchSize'],
    [{ delivery: { maxConcurrency: 1 } }, 'delivery.maxConcurrency'],
    [{ delivery: { requestTimeoutMs: 20_000 } }, 'delivery.requestTimeoutMs'],
    [{ router: { maxConcurrency: 1001 } }, 'router.maxConcurrency'],
    [{ deliveryQueue: { maxReceiveCount: 4 } }, 'deliveryQueue.maxReceiveCount'],
    [{ eventsQueue: { maxReceiveCount: 4 } }, 'eventsQueue.maxReceiveCount'],
    [{ monitoring: { alarmEmail: 'ops' } }, 'monitoring.alarmEmail'],
    [{ monitoring: { maxOldestMessageAgeSeconds: 59 } }, 'monitoring.maxOldestMessageAgeSeconds'],
    [{ monitoring: { maxOldestMessageAgeSeconds: 86_401 } }, 'monitoring.maxOldestMessageAgeSeconds'],
    [{ monitoring: { minSuccessRatePercent: 0 } }, 'monitoring.minSuccessRatePercent'],
    [{ monitoring: { minSuccessRatePercent: 100.5 } }, 'monitoring.minSuccessRatePercent'],
    [{ monitoring: { alarmEmial: 'ops@example.com' } }, 'monitoring'],
  ])('rejects %o, naming %s', (raw, path) => {
    expect(() => parseStageConfig(raw)).toThrow(new RegExp(`${path.replace(/[.()]/g, '\\$&')}: `));
  });

  it('rejects context that is not JSON', () => {
    expect(() => parseStageConfig('{name:')).toThrow(/not JSON/);
  });
});

describe('stage config: the rule’s sources', () => {
  it('rejects an empty allowedSources: the rule would match the event types from any producer', () => {
    expect(() => parseStageConfig({ events: { allowedSources: [] } })).toThrow(
      /events\.allowedSources: must list at least one source/,
    );
  });
});

describe('stage config: queues and the functions polling them', () => {
  it('rejects a delivery queue visibility timeout under 6x the worker timeout, saying what it must be', () => {
    expect(() =>
      parseStageConfig({ delivery: { timeoutSeconds: 40 }, deliveryQueue: { visibilityTimeoutSeconds: 200 } }),
    ).toThrow(/deliveryQueue\.visibilityTimeoutSeconds: is 200 but must be at least 6x delivery\.timeoutSeconds \(6 x 40 = 240\)/);
  });

  it('rejects an events queue visibility timeout under 6x the router timeout', () => {
    expect(() => parseStageConfig({ router: { timeoutSeconds: 31 } })).toThrow(
      /eventsQueue\.visibilityTimeoutSeconds: is 180 but must be at least 6x router\.timeoutSeconds \(6 x 31 = 186\)/,
    );
  });

  it('accepts exactly 6x', () => {
    expect(() =>
      parseStageConfig({
        router: { timeoutSeconds: 20 },
        eventsQueue: { visibilityTimeoutSeconds: 120 },
        delivery: { timeoutSeconds: 60 },
        deliveryQueue: { visibilityTimeoutSeconds: 360 },
      }),
    ).not.toThrow();
  });

  it('rejects a worker timeout that one request to a receiver could outlast', () => {
    expect(() => parseStageConfig({ delivery: { timeoutSeconds: 20, requestTimeoutMs: 15_000 } })).toThrow(
      /delivery\.timeoutSeconds: is 20 but must be at least .* \(25\)/,
    );
  });
});

describe('stage config: retries parked on the delivery queue', () => {
  it('counts 3 receives to park the default schedule’s longest wait (24 h + 20 % jitter, 12 h per receive)', () => {
    expect(parkingReceives(DEFAULT_RETRY_DELAYS_SECONDS)).toBe(3);
    expect(parkingReceives([5, 300, 900 / 1.2])).toBe(0);
  });

  it('rejects a maxReceiveCount that parking would use up before the attempt', () => {
    // 48 h + 20 % = 57.6 h: 5 receives of parking, plus the attempt's 3.
    expect(() =>
      parseStageConfig({ delivery: { retryScheduleSeconds: [60, 172_800] }, deliveryQueue: { maxReceiveCount: 7 } }),
    ).toThrow(/deliveryQueue\.maxReceiveCount: is 7 but must be at least 8/);
  });

  it('rejects a retry delay the delivery queue’s 4-day retention would not outlast', () => {
    expect(() =>
      parseStageConfig({ delivery: { retryScheduleSeconds: [300_000] }, deliveryQueue: { maxReceiveCount: 20 } }),
    ).toThrow(/delivery\.retryScheduleSeconds: the longest delay with jitter \(360000 s\)/);
  });
});

describe('stage config: monitoring', () => {
  it('takes an alarm e-mail and thresholds', () => {
    const config = parseStageConfig({
      monitoring: { alarmEmail: 'oncall@example.com', maxOldestMessageAgeSeconds: 300, minSuccessRatePercent: 99.9 },
    });

    expect(config.monitoring).toEqual({
      alarmEmail: 'oncall@example.com',
      maxOldestMessageAgeSeconds: 300,
      minSuccessRatePercent: 99.9,
    });
  });

  it('gives the delivery queue’s age alarm the longest retry wait on top of the allowed lag', () => {
    // 24 h + 20 % jitter = 103 680 s of legitimate waiting, then 900 s of lag.
    expect(deliveryQueueMaxAgeSeconds(DEFAULT_RETRY_DELAYS_SECONDS, 900)).toBe(104_580);
    expect(deliveryQueueMaxAgeSeconds([5, 60], 300)).toBe(72 + 300);
  });

  it('rejects an allowed lag that would put the delivery queue’s age alarm past the queue’s retention', () => {
    // 70 h + 20 % = 84 h of waiting, plus 12 h of lag = the 4-day retention: SQS drops the message first.
    expect(() =>
      parseStageConfig({
        delivery: { retryScheduleSeconds: [60, 252_000] },
        deliveryQueue: { maxReceiveCount: 20 },
        monitoring: { maxOldestMessageAgeSeconds: 43_200 },
      }),
    ).toThrow(/monitoring\.maxOldestMessageAgeSeconds: with the longest retry wait \(302400 s\) the delivery queue's age alarm/);
  });
});

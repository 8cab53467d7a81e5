import { parseStageConfig } from '../../lib/config/stage-config.js';

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
      deliveryQueue: { visibilityTimeoutSeconds: 180 },
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

  it.each([
    [{ logRetentionDays: 10 }, 'logRetentionDays'],
    [{ api: { throttlingRateLimit: 100, throttlingBurstLimit: 10 } }, 'api.throttlingBurstLimit'],
    [{ endpoints: { dynamodb: 'not a url' } }, 'endpoints.dynamodb'],
    [{ name: 'has spaces' }, 'name'],
    [{ allowHttpUrls: 'true' }, 'allowHttpUrls'],
    [{ tableName: 'x' }, '(root)'],
  ])('rejects %o, naming %s', (raw, path) => {
    expect(() => parseStageConfig(raw)).toThrow(new RegExp(`${path.replace(/[.()]/g, '\\$&')}: `));
  });

  it('rejects context that is not JSON', () => {
    expect(() => parseStageConfig('{name:')).toThrow(/not JSON/);
  });
});

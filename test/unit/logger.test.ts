import type { UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { CompactLogFormatter } from '../../functions/handlers/logger.js';

/** The log line's own attributes: what CloudWatch already says is left out, and nothing a reader needs. */
const attributes = {
  logLevel: 'INFO',
  message: 'delivery attempt',
  timestamp: new Date('2026-06-01T00:00:00.000Z'),
  serviceName: 'delivery-worker',
  sampleRateValue: 0,
  xRayTraceId: '1-5759e988-bd862e3fe1be46a994272793',
  environment: '',
  lambdaContext: {
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    coldStart: false,
    functionName: 'delivery-worker',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:delivery-worker',
    memoryLimitInMB: '256',
  },
} as unknown as UnformattedAttributes;

const TRACE_ENV = '_X_AMZN_TRACE_ID';
const traceHeader = (sampled: 0 | 1) => `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=${sampled}`;

describe('the log line', () => {
  const previousTrace = process.env[TRACE_ENV];
  afterEach(() => {
    if (previousTrace === undefined) delete process.env[TRACE_ENV];
    else process.env[TRACE_ENV] = previousTrace;
  });

  it('on Lambda: level, message and request id, then the fields; no time (CloudWatch stamps it), service or sampling rate', () => {
    process.env[TRACE_ENV] = traceHeader(0);
    const line = new CompactLogFormatter(true).formatAttributes(attributes, { deliveryId: 'dlv_1', attempt: 1 });
    line.prepareForPrint();
    expect(JSON.stringify(line.getAttributes())).toBe(
      JSON.stringify({
        level: 'INFO',
        message: 'delivery attempt',
        function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
        deliveryId: 'dlv_1',
        attempt: 1,
      }),
    );
  });

  it('on Lambda, in a sampled invocation: the X-Ray trace id too, which leads to the trace', () => {
    process.env[TRACE_ENV] = traceHeader(1);
    const line = new CompactLogFormatter(true).formatAttributes(attributes, { attempt: 1 });
    line.prepareForPrint();
    expect(JSON.stringify(line.getAttributes())).toBe(
      JSON.stringify({
        level: 'INFO',
        message: 'delivery attempt',
        xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
        function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
        attempt: 1,
      }),
    );
  });

  it('in local mode, where every function writes to one stream, keeps the time and names the function', () => {
    const { lambdaContext: _context, xRayTraceId: _trace, ...local } = attributes;
    const line = new CompactLogFormatter(false).formatAttributes(local as UnformattedAttributes, { attempt: 1 });
    line.prepareForPrint();
    expect(JSON.stringify(line.getAttributes())).toBe(
      JSON.stringify({
        level: 'INFO',
        message: 'delivery attempt',
        timestamp: '2026-06-01T00:00:00.000Z',
        service: 'delivery-worker',
        attempt: 1,
      }),
    );
  });
});

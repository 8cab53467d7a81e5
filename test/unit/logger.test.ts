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

describe('the log line', () => {
  it('on Lambda: level, message, time, trace and request ids, then the fields; no service, no sampling rate', () => {
    const line = new CompactLogFormatter(false).formatAttributes(attributes, { deliveryId: 'dlv_1', attempt: 1 });
    expect(JSON.stringify(line.getAttributes())).toBe(
      JSON.stringify({
        level: 'INFO',
        message: 'delivery attempt',
        timestamp: '2026-06-01T00:00:00.000Z',
        xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
        function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
        deliveryId: 'dlv_1',
        attempt: 1,
      }),
    );
  });

  it('in local mode, where every function writes to one stream, names the function', () => {
    const { lambdaContext: _context, xRayTraceId: _trace, ...local } = attributes;
    const line = new CompactLogFormatter(true).formatAttributes(local as UnformattedAttributes, { attempt: 1 });
    line.prepareForPrint();
    expect(line.getAttributes()).toEqual({
      level: 'INFO',
      message: 'delivery attempt',
      timestamp: '2026-06-01T00:00:00.000Z',
      service: 'delivery-worker',
      attempt: 1,
    });
  });
});

import { LogFormatter, LogItem, Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/**
 * Powertools' log line without what CloudWatch already says: no `sampling_rate` (no sampling is configured), and on
 * Lambda no `service` (each function has a log group of its own). Local mode, where every function writes to one
 * stream, keeps `service`. The level, message, time, X-Ray trace id and request id stay.
 */
export class CompactLogFormatter extends LogFormatter {
  constructor(private readonly withService: boolean) {
    super();
  }

  formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        ...(this.withService && { service: attributes.serviceName }),
        xray_trace_id: attributes.xRayTraceId,
        function_request_id: attributes.lambdaContext?.awsRequestId,
      },
    }).addAttributes(additionalLogAttributes);
  }
}

/** Structured JSON logs (Powertools), one logger per function, created at cold start. */
export const createLogger = (serviceName: string) =>
  new Logger({ serviceName, logFormatter: new CompactLogFormatter(process.env.AWS_LAMBDA_FUNCTION_NAME === undefined) });

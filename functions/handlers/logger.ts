import { isRequestXRaySampled } from '@aws-lambda-powertools/commons/utils/env';
import { LogFormatter, LogItem, Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/**
 * Powertools' log line without what CloudWatch already says, since every delivery attempt is a line of its own:
 * - no `sampling_rate` (no sampling is configured);
 * - on Lambda, no `service` (each function has a log group of its own) and no `timestamp` (CloudWatch stamps each
 *   log event, to the millisecond, as the runtime hands it over), and the X-Ray trace id only when the invocation
 *   is sampled (an unsampled trace id leads to no trace);
 * - in local mode, where every function writes to one stream, `timestamp` and `service` stay.
 * The level, the message, the Lambda request id when a context is attached, and the fields always stay.
 */
export class CompactLogFormatter extends LogFormatter {
  constructor(private readonly onLambda: boolean) {
    super();
  }

  formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        ...(this.onLambda
          ? { xray_trace_id: isRequestXRaySampled() ? attributes.xRayTraceId : undefined }
          : { timestamp: this.formatTimestamp(attributes.timestamp), service: attributes.serviceName }),
        function_request_id: attributes.lambdaContext?.awsRequestId,
      },
    }).addAttributes(additionalLogAttributes);
  }
}

/** Structured JSON logs (Powertools), one logger per function, created at cold start. */
export const createLogger = (serviceName: string) =>
  new Logger({ serviceName, logFormatter: new CompactLogFormatter(process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined) });

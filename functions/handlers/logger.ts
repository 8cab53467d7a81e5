import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs (Powertools), one logger per function, created at cold start. */
export const createLogger = (serviceName: string) => new Logger({ serviceName });

import { SQSClient } from '@aws-sdk/client-sqs';
import type { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';

/** The real SQS client talking to an embedded SQS server (`useQueueUrlAsEndpoint: false`, as local mode wires it). */
export const sqsClientFor = (server: EmbeddedSqs, region = 'us-east-1') =>
  new SQSClient({
    region,
    endpoint: server.endpoint,
    useQueueUrlAsEndpoint: false,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

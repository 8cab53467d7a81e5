import { SQSClient } from '@aws-sdk/client-sqs';
import type { EmbeddedSqs } from '../../local/embedded-sqs/embedded-sqs.js';
import { InProcessRequestHandler } from '../../local/in-process-transport.js';

/** How a client reaches the embedded SQS: its loopback port, or in process as local mode's own clients do. */
export type EmbeddedTransport = 'over HTTP' | 'in process';

/** The real SQS client talking to an embedded SQS server (`useQueueUrlAsEndpoint: false`, as local mode wires it). */
export const sqsClientFor = (server: EmbeddedSqs, transport: EmbeddedTransport = 'over HTTP') =>
  new SQSClient({
    region: 'us-east-1',
    endpoint: server.endpoint,
    useQueueUrlAsEndpoint: false,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(transport === 'in process' && { requestHandler: new InProcessRequestHandler().register(server.endpoint, server.service) }),
  });

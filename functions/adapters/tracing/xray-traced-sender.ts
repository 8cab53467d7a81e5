import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { OutboundRequest, SendResult, WebhookSender } from '../../domain/delivery/sender.port.js';

/**
 * X-Ray subsegments for outbound deliveries, sent to the X-Ray daemon over UDP as the X-Ray SDKs do. Written
 * by hand because the X-Ray SDK (through Powertools Tracer) adds about 100 ms to the delivery function's cold
 * start; the delivery path needs only this one subsegment. Lambda's active tracing supplies the trace header
 * (`_X_AMZN_TRACE_ID`, per invocation) and the daemon address; without them, or when the trace is not sampled,
 * nothing is sent.
 */
const DAEMON_HEADER = '{"format":"json","version":1}\n';

interface TraceContext {
  readonly root: string;
  readonly parent: string;
}

const traceContext = (env: NodeJS.ProcessEnv): TraceContext | undefined => {
  const fields = new Map(
    (env._X_AMZN_TRACE_ID ?? '').split(';').map((part) => part.split('=') as [string, string | undefined]),
  );
  const root = fields.get('Root');
  const parent = fields.get('Parent');
  return root && parent && fields.get('Sampled') === '1' ? { root, parent } : undefined;
};

const daemonAddress = (env: NodeJS.ProcessEnv): { host: string; port: number } | undefined => {
  // "host:port", or "tcp:host:port udp:host:port"; segments go over UDP.
  const value = env.AWS_XRAY_DAEMON_ADDRESS;
  if (!value) return undefined;
  const udp = value.split(' ').find((part) => part.startsWith('udp:'))?.slice(4) ?? value;
  const [host, port] = udp.split(':');
  return host && port ? { host, port: Number(port) } : undefined;
};

/** The URL as traced: origin and path only, since receivers put tokens in query strings. */
const tracedUrl = (url: string) => {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'invalid-url';
  }
};

export const withXRaySubsegments = (sender: WebhookSender, env: NodeJS.ProcessEnv = process.env): WebhookSender => {
  let socket: Socket | undefined;
  const emit = (document: object, address: { host: string; port: number }) => {
    socket ??= createSocket('udp4').unref();
    socket.send(DAEMON_HEADER + JSON.stringify(document), address.port, address.host);
  };

  return {
    async send(request: OutboundRequest): Promise<SendResult> {
      const context = traceContext(env);
      const address = daemonAddress(env);
      const startTime = Date.now() / 1000;
      const result = await sender.send(request);
      if (!context || !address) return result;
      const status = result.kind === 'response' ? result.statusCode : undefined;
      emit(
        {
          id: randomBytes(8).toString('hex'),
          trace_id: context.root,
          parent_id: context.parent,
          type: 'subsegment',
          name: new URL(request.url).host,
          namespace: 'remote',
          start_time: startTime,
          end_time: Date.now() / 1000,
          http: {
            request: { method: 'POST', url: tracedUrl(request.url) },
            ...(status !== undefined && { response: { status } }),
          },
          ...(status !== undefined && status >= 400 && status < 500 && { error: true }),
          ...(status === 429 && { throttle: true }),
          ...((result.kind === 'error' || (status !== undefined && status >= 500)) && { fault: true }),
          ...(result.kind === 'error' && { cause: { exceptions: [{ id: randomBytes(8).toString('hex'), message: result.errorClass }] } }),
        },
        address,
      );
      return result;
    },
  };
};

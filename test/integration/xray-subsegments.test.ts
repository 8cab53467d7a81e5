import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpSender } from '../../functions/adapters/http/http-sender.js';
import { withXRaySubsegments } from '../../functions/adapters/tracing/xray-traced-sender.js';
import { eventually } from '../support/eventually.js';

/** The outbound POST as an X-Ray subsegment, received by a stand-in for the X-Ray daemon (UDP on loopback). */
let receiver: Server;
let receiverUrl: string;
const daemon = createSocket('udp4');
const documents: string[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => response.writeHead(request.url?.startsWith('/down') ? 503 : 200).end());
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  daemon.on('message', (message) => documents.push(message.toString()));
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  daemon.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

const sampledEnv = () => ({
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
});

const nextDocument = async () => {
  const raw = await eventually(async () => documents.shift(), 5_000, 'a segment at the daemon', 20);
  const [header, body] = raw.split('\n');
  return { header: JSON.parse(header!), segment: JSON.parse(body!) };
};

it('sends a subsegment for each POST, under the invocation’s trace, without the query string', async () => {
  const inner = createHttpSender({ allowPrivateDestinations: true, allowHttp: true });
  const sender = withXRaySubsegments(inner, sampledEnv());

  await sender.send({ url: `${receiverUrl}/down/hook?token=secret-token`, headers: {}, body: '{}' });

  const { header, segment } = await nextDocument();
  expect(header).toEqual({ format: 'json', version: 1 });
  expect(segment).toMatchObject({
    type: 'subsegment',
    trace_id: '1-5759e988-bd862e3fe1be46a994272793',
    parent_id: '53995c3f42cd8ad8',
    namespace: 'remote',
    http: { request: { method: 'POST', url: `${receiverUrl}/down/hook` }, response: { status: 503 } },
    fault: true,
  });
  expect(segment.id).toMatch(/^[0-9a-f]{16}$/);
  expect(segment.end_time).toBeGreaterThanOrEqual(segment.start_time);
  expect(JSON.stringify(segment)).not.toContain('secret-token');
  await inner.close();
});

it('sends nothing when the trace is not sampled', async () => {
  const inner = createHttpSender({ allowPrivateDestinations: true, allowHttp: true });
  const notSampled = { ...sampledEnv(), _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0' };

  await withXRaySubsegments(inner, notSampled).send({ url: `${receiverUrl}/hook`, headers: {}, body: '{}' });
  // A sampled POST after it, to the same daemon over loopback: once its segment is in, one sent before would be too.
  await withXRaySubsegments(inner, sampledEnv()).send({ url: `${receiverUrl}/sampled-hook`, headers: {}, body: '{}' });

  const { segment } = await nextDocument();
  expect(segment.http.request.url).toBe(`${receiverUrl}/sampled-hook`);
  expect(documents).toEqual([]);
  await inner.close();
});

it('passes the result through untouched when no daemon address is set', async () => {
  const inner = createHttpSender({ allowPrivateDestinations: true, allowHttp: true });
  const { AWS_XRAY_DAEMON_ADDRESS: _none, ...noDaemon } = sampledEnv();

  const result = await withXRaySubsegments(inner, noDaemon).send({ url: `${receiverUrl}/down/hook`, headers: {}, body: '{}' });

  expect(result).toMatchObject({ kind: 'response', statusCode: 503 });
  await inner.close();
});

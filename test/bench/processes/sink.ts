import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent } from '../lib/child.js';
import { cpuMs, epochMs } from '../lib/stats.js';

/**
 * The receiving end: a keep-alive node:http server answering every POST 200 once its body is read, except under
 * `/hang`, where it reads the request and never answers (a zombie endpoint). It counts requests and, when asked,
 * records when each `webhook-id` arrived (end-to-end latency).
 */
let received = 0;
let recording = false;
let arrivals: [string, number][] = [];
/** Every answered POST while recording: path, webhook-id, webhook-delivery-id. */
let ledger: [string, string, string][] = [];
const server = createServer((request, response) => {
  request.on('data', () => undefined);
  request.on('end', () => {
    received += 1;
    if (request.url?.startsWith('/hang')) return;
    if (recording) {
      arrivals.push([String(request.headers['webhook-id'] ?? ''), epochMs()]);
      ledger.push([request.url ?? '', String(request.headers['webhook-id'] ?? ''), String(request.headers['webhook-delivery-id'] ?? '')]);
    }
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    response.end('ok');
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

serveParent({
  url: () => url,
  count: () => received,
  cpu: () => cpuMs(),
  record: (on: boolean) => {
    recording = on;
    return null;
  },
  /** The arrivals recorded since the last call. */
  arrivals: () => {
    const taken = arrivals;
    arrivals = [];
    return taken;
  },
  /** The ledger entries recorded since the last call. */
  ledger: () => {
    const taken = ledger;
    ledger = [];
    return taken;
  },
});

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/**
 * A real HTTP receiver on a free loopback port whose answer depends on the path's prefix; it records every request
 * it reads. `/ok` 200, `/fail` 500, `/gone` 410, `/redirect` 302, `/toggle` and `/flip` 200 or 500 as `toggle`
 * says, `/slow` 200 after 3 s, `/throttled` 429 (Retry-After: 2) on its first hit then 200, `/reset` drops the
 * connection unread; anything else 404.
 */
export const startWebhookReceiver = async () => {
  const received: ReceivedRequest[] = [];
  const toggle = { healthy: false, flipHealthy: false };
  const hits = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    if (path.startsWith('/reset')) {
      request.socket.destroy();
      return;
    }
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ path, headers: request.headers, body, at: Date.now() });
      if (path.startsWith('/ok')) return void response.end('thanks');
      if (path.startsWith('/fail')) return void response.writeHead(500).end('receiver exploded');
      if (path.startsWith('/gone')) return void response.writeHead(410).end();
      if (path.startsWith('/redirect')) return void response.writeHead(302, { location: '/redirect-target' }).end();
      if (path.startsWith('/toggle')) return void response.writeHead(toggle.healthy ? 200 : 500).end();
      if (path.startsWith('/flip')) return void response.writeHead(toggle.flipHealthy ? 200 : 500).end();
      if (path.startsWith('/slow')) return void setTimeout(() => response.end('late'), 3000);
      if (path.startsWith('/throttled')) {
        return hit === 1 ? void response.writeHead(429, { 'retry-after': '2' }).end() : void response.end('ok');
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path: string) => `${base}${path}`,
    toggle,
    received,
    hits: (path: string) => hits.get(path) ?? 0,
    at: (path: string) => received.filter((request) => request.path === path),
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

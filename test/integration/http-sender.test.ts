import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import {
  createHttpSender,
  type HttpSender,
  type HttpSenderOptions,
} from '../../functions/adapters/http/http-sender.js';

interface ReceivedRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  /** Name, value, name, value…: as sent, repeats included (node:http keeps only the first User-Agent in `headers`). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

interface TestServer {
  readonly origin: string;
  readonly port: number;
  /** Requests fully received, in order. */
  readonly requests: ReceivedRequest[];
  /** Request counts by path, counted as soon as the headers arrive. */
  readonly hits: Map<string, number>;
  /** TCP connections accepted. */
  connections: number;
  close(): Promise<void>;
}

/** A real node:http server on 127.0.0.1 that records what reaches it. */
async function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void,
): Promise<TestServer> {
  const server = http.createServer();
  const state: TestServer = {
    origin: '',
    port: 0,
    requests: [],
    hits: new Map(),
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    state.connections += 1;
  });
  server.on('request', (req, res) => {
    const path = req.url ?? '';
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      state.requests.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { port, origin: `http://127.0.0.1:${port}` });
}

/** A port nothing listens on: bind one, then let it go. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const servers: TestServer[] = [];
const senders: HttpSender[] = [];

async function serve(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

function sender(options: HttpSenderOptions = {}): HttpSender {
  const created = createHttpSender({
    allowPrivateDestinations: true,
    allowHttp: true,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 5000,
    ...options,
  });
  senders.push(created);
  return created;
}

const post = (url: string, body = '{}', headers: Record<string, string> = {}) => ({
  url,
  body,
  headers: { 'content-type': 'application/json', ...headers },
});

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('HTTP sender against real local servers', () => {
  it('returns a 200 with a snippet capped at 1 KB without waiting for the rest of a large body', async () => {
    const payload = 'abcdefghij'.repeat(10 * 1024); // 100 KB
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(payload); // ...and never end: the sender must not wait for the end
    });
    const client = sender({ requestTimeoutMs: 10_000 });

    const started = performance.now();
    const result = await client.send(post(`${server.origin}/hook`));
    const elapsed = performance.now() - started;

    expect(result).toMatchObject({ kind: 'response', statusCode: 200 });
    if (result.kind !== 'response') throw new Error('expected a response');
    expect(result.bodySnippet.length).toBeLessThanOrEqual(1024);
    expect(result.bodySnippet).toBe(payload.slice(0, 1024));
    expect(result.headers['content-type']).toBe('text/plain');
    expect(elapsed).toBeLessThan(2000);
  });

  it('cuts the snippet at maxResponseBytes without splitting a multi-byte character', async () => {
    const server = await serve((_req, res) => res.end('é'.repeat(100))); // 2 bytes each
    const client = sender({ maxResponseBytes: 7 });

    const result = await client.send(post(`${server.origin}/hook`));

    expect(result).toMatchObject({ kind: 'response', bodySnippet: 'ééé' });
  });

  it('returns a 302 as a response and never requests the Location', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/hook') {
        res.writeHead(302, { location: '/target' });
        res.end();
      } else {
        res.end('followed');
      }
    });
    const client = sender();

    const result = await client.send(post(`${server.origin}/hook`));

    expect(result).toMatchObject({ kind: 'response', statusCode: 302, headers: { location: '/target' } });
    expect(server.hits.get('/hook')).toBe(1);
    expect(server.hits.get('/target')).toBeUndefined();
  });

  it('returns a 500 as a response with its body snippet', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom');
    });
    const client = sender();

    const result = await client.send(post(`${server.origin}/hook`));

    expect(result).toMatchObject({ kind: 'response', statusCode: 500, bodySnippet: 'boom' });
  });

  it('lower-cases response header names and joins repeated values', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('X-Receiver-Id', 'r-1');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end();
    });
    const client = sender();

    const result = await client.send(post(`${server.origin}/hook`));

    if (result.kind !== 'response') throw new Error('expected a response');
    expect(result.headers['x-receiver-id']).toBe('r-1');
    expect(result.headers['set-cookie']).toBe('a=1, b=2');
  });

  it("classifies a server slower than requestTimeoutMs as 'timeout'", async () => {
    const server = await serve((_req, res) => {
      setTimeout(() => res.end('too late'), 3000).unref();
    });
    const client = sender({ requestTimeoutMs: 300 });

    const result = await client.send(post(`${server.origin}/hook`));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'timeout', message: 'request timed out after 300 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(2000);
  });

  describe('a deadline for the answer (the shared lane’s)', () => {
    it("abandons a request with no answer by then as 'cut_off', not as a failure", async () => {
      const server = await serve((_req, res) => {
        setTimeout(() => res.end('too late'), 3000).unref();
      });
      const client = sender({ requestTimeoutMs: 2000 });

      const result = await client.send({ ...post(`${server.origin}/hook`), deadlineMs: 200 });

      expect(result.kind).toBe('cut_off');
      expect(result.durationMs).toBeGreaterThanOrEqual(150);
      expect(result.durationMs).toBeLessThan(1500);
    });

    it('returns an answer that came in time, even when its body is still arriving at the deadline', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(200);
        res.write('first part');
        setTimeout(() => res.end(', the rest'), 600).unref();
      });
      const client = sender({ requestTimeoutMs: 2000 });

      const result = await client.send({ ...post(`${server.origin}/hook`), deadlineMs: 200 });

      expect(result).toMatchObject({ kind: 'response', statusCode: 200, bodySnippet: 'first part, the rest' });
    });

    it("abandons a request as 'cut_off' when its cutOff signal aborts before the answer", async () => {
      const server = await serve((_req, res) => {
        setTimeout(() => res.end('too late'), 3000).unref();
      });
      const client = sender({ requestTimeoutMs: 2000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);

      const result = await client.send({ ...post(`${server.origin}/hook`), cutOff: controller.signal });

      expect(result.kind).toBe('cut_off');
      expect(result.durationMs).toBeLessThan(1500);
    });

    it("leaves the request to the sender's own timeout when the deadline is not shorter", async () => {
      const server = await serve((_req, res) => {
        setTimeout(() => res.end('too late'), 3000).unref();
      });
      const client = sender({ requestTimeoutMs: 300 });

      const result = await client.send({ ...post(`${server.origin}/hook`), deadlineMs: 300 });

      expect(result).toMatchObject({ kind: 'error', errorClass: 'timeout', message: 'request timed out after 300 ms' });
    });
  });

  it("classifies a connection whose TLS handshake never completes as 'timeout' at connectTimeoutMs", async () => {
    // Accepts TCP and never answers the ClientHello.
    const silent = net.createServer();
    const sockets: net.Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const client = sender({ connectTimeoutMs: 300, requestTimeoutMs: 5000 });

    try {
      const result = await client.send(post(`https://127.0.0.1:${port}/hook`));

      expect(result).toMatchObject({ kind: 'error', errorClass: 'timeout', message: 'ETIMEDOUT: connect timed out after 300 ms' });
      expect(result.durationMs).toBeGreaterThanOrEqual(250);
      expect(result.durationMs).toBeLessThan(4000);
      expect(sockets).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('gives a pooled connection no connect timeout: a slow answer on it waits for the request timeout', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls += 1;
      if (calls === 1) res.end('first');
      else setTimeout(() => res.end('second'), 400).unref();
    });
    const client = sender({ connectTimeoutMs: 100, requestTimeoutMs: 5000 });

    const first = await client.send(post(`${server.origin}/a`));
    const second = await client.send(post(`${server.origin}/b`));

    expect(first).toMatchObject({ kind: 'response', statusCode: 200, bodySnippet: 'first' });
    expect(second).toMatchObject({ kind: 'response', statusCode: 200, bodySnippet: 'second' });
    expect(server.connections).toBe(1);
  });

  it("classifies a refused connection as 'connection'", async () => {
    const port = await closedPort();
    const client = sender();

    const result = await client.send(post(`http://127.0.0.1:${port}/hook`));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'connection' });
    if (result.kind !== 'error') throw new Error('expected an error');
    expect(result.message).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it("classifies a socket destroyed mid-request as 'connection'", async () => {
    const server = await serve((req) => req.socket.destroy());
    const client = sender();

    const result = await client.send(post(`${server.origin}/hook`));

    expect(result).toMatchObject({
      kind: 'error',
      errorClass: 'connection',
      message: 'ECONNRESET: socket hang up',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('reuses one keep-alive connection for sequential sends to the same origin', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const client = sender();

    const first = await client.send(post(`${server.origin}/a`));
    const second = await client.send(post(`${server.origin}/b`));

    expect(first).toMatchObject({ kind: 'response', statusCode: 200 });
    expect(second).toMatchObject({ kind: 'response', statusCode: 200 });
    expect(server.requests).toHaveLength(2);
    expect(server.connections).toBe(1);
  });

  it('keeps working after a truncated body closed its connection', async () => {
    const server = await serve((_req, res) => res.end('x'.repeat(100 * 1024)));
    const client = sender();

    const first = await client.send(post(`${server.origin}/a`));
    const second = await client.send(post(`${server.origin}/b`));

    expect(first).toMatchObject({ kind: 'response', statusCode: 200, bodySnippet: 'x'.repeat(1024) });
    expect(second).toMatchObject({ kind: 'response', statusCode: 200, bodySnippet: 'x'.repeat(1024) });
    expect(server.requests).toHaveLength(2);
  });

  it('sends a POST carrying exactly the given headers and body bytes', async () => {
    const server = await serve((_req, res) => res.end());
    const client = sender({ userAgent: 'webhook-platform/test' });
    const body = '{"type":"order.created","data":{"note":"héllo ✓ \\u0000"}}';

    await client.send(
      post(`${server.origin}/hooks/in?tenant=t1`, body, {
        'webhook-id': 'msg_123',
        'webhook-timestamp': '1700000000',
        'webhook-signature': 'v1,c2lnbmF0dXJl',
      }),
    );

    expect(server.requests).toHaveLength(1);
    const [received] = server.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe('/hooks/in?tenant=t1');
    expect(received?.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(received?.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'webhook-id': 'msg_123',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,c2lnbmF0dXJl',
      'user-agent': 'webhook-platform/test',
    });
  });

  it('keeps a User-Agent the request already carries, among its other headers', async () => {
    const server = await serve((_req, res) => res.end());
    const client = sender({ userAgent: 'default-agent' });

    await client.send(post(`${server.origin}/hook`, '{}', { 'User-Agent': 'custom/1', 'x-other': 'kept' }));

    expect(server.requests[0]?.headers).toMatchObject({ 'user-agent': 'custom/1', 'x-other': 'kept' });
    const raw = server.requests[0]!.rawHeaders;
    const userAgents = raw.filter((_value, index) => index % 2 === 1 && raw[index - 1]!.toLowerCase() === 'user-agent');
    expect(userAgents).toEqual(['custom/1']);
  });

  it('describes every address a host name was refused on', async () => {
    const port = await closedPort();
    const client = sender();

    const result = await client.send(post(`http://localhost:${port}/hook`));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'connection' });
    if (result.kind !== 'error') throw new Error('expected an error');
    expect(result.message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('returns a durationMs for every result', async () => {
    const server = await serve((_req, res) => res.end());
    const client = sender();

    const result = await client.send(post(`${server.origin}/hook`));

    expect(result.durationMs).toBeGreaterThan(0);
  });
});

describe('HTTP sender with the SSRF guard on', () => {
  it.each([
    ['an IP literal', (port: number) => `http://127.0.0.1:${port}/hook`],
    ['a host name resolving to loopback', (port: number) => `http://localhost:${port}/hook`],
    ['an IPv4-mapped IPv6 literal', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`],
    ['an https host name resolving to loopback', (port: number) => `https://localhost:${port}/hook`],
  ])("refuses %s as 'destination_blocked' without reaching the server", async (_name, url) => {
    const server = await serve((_req, res) => res.end('reached'));
    const client = sender({ allowPrivateDestinations: false });

    const result = await client.send(post(url(server.port)));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'destination_blocked' });
    if (result.kind !== 'error') throw new Error('expected an error');
    expect(result.message).toMatch(/^destination (127\.0\.0\.1|localhost|::ffff:7f00:1) blocked: .*loopback address$/);
    expect(server.requests).toHaveLength(0);
    expect(server.connections).toBe(0);
  });

  it("refuses plain http as 'destination_blocked' when allowHttp is false, and lets https through", async () => {
    const server = await serve((_req, res) => res.end('reached'));
    const client = sender({ allowPrivateDestinations: true, allowHttp: false });

    const result = await client.send(post(`${server.origin}/hook`));
    const https = await client.send(post(`https://127.0.0.1:${await closedPort()}/hook`));

    expect(result).toEqual(expect.objectContaining({ kind: 'error', errorClass: 'destination_blocked', message: 'scheme http: is not allowed' }));
    expect(server.connections).toBe(0);
    expect(https).toMatchObject({ kind: 'error', errorClass: 'connection' }); // tried, and refused by the network
  });

  it('refuses plain http by default, as on AWS', async () => {
    const server = await serve((_req, res) => res.end('reached'));
    const client = createHttpSender();
    senders.push(client);

    const result = await client.send(post(`${server.origin}/hook`));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'destination_blocked', message: 'scheme http: is not allowed' });
    expect(server.connections).toBe(0);
  });

  it.each([
    ['another scheme, even where http is allowed', 'ftp://127.0.0.1/hook', 'scheme ftp: is not allowed'],
    ['a URL it cannot parse', 'not a url', 'invalid URL: not a url'],
  ])("refuses %s as 'destination_blocked', saying why", async (_name, url, message) => {
    const client = sender({ allowPrivateDestinations: true, allowHttp: true });

    expect(await client.send(post(url))).toEqual(expect.objectContaining({ kind: 'error', errorClass: 'destination_blocked', message }));
  });
});

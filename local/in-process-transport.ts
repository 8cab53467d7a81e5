import { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { type HttpRequest, HttpResponse } from '@smithy/core/transport';
import type { HttpHandlerOptions } from '@smithy/types';

/** One HTTP request as an embedded service reads it: header names in lower case, the body as text. */
export interface ServiceRequest {
  readonly method: string;
  /** The path and query string, as in a request line. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Aborted when the client gives up on the request (a stopped long poll). */
  readonly signal: AbortSignal;
}

export interface ServiceResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What an embedded service answers to a request, without a socket. */
export type EmbeddedService = (request: ServiceRequest) => Promise<ServiceResponse>;

/**
 * The SDK's request handler for clients of the embedded services (local mode): each request, serialised and signed
 * by the SDK as for AWS, goes to the service registered for its endpoint's host and port in this process, and the
 * answer comes back to the SDK's deserialisers as an HTTP response would. What it saves is the sockets and the
 * HTTP framing on both sides. A request for any other host fails: nothing leaves the process through it.
 */
export class InProcessRequestHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly services = new Map<string, EmbeddedService>();

  /** Serves the requests for `endpoint` (an origin such as http://127.0.0.1:4566) with `service`. */
  register(endpoint: string, service: EmbeddedService): this {
    this.services.set(new URL(endpoint).host, service);
    return this;
  }

  async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    const host = request.port === undefined ? request.hostname : `${request.hostname}:${request.port}`;
    const service = this.services.get(host);
    if (!service) throw new Error(`No embedded service is registered for ${host}`);
    const signal = (options.abortSignal as AbortSignal | undefined) ?? new AbortController().signal;
    if (signal.aborted) throw abortError();
    const answer = service({
      method: request.method,
      url: request.path + queryString(request.query),
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value])),
      body: bodyText(request.body),
      signal,
    });
    // As the SDK's Node handler does, an aborted request rejects at once; the service sees the signal too. The
    // listener goes when the request ends: a poller's one signal serves all its requests.
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortError());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const { status, headers, body } = await Promise.race([answer, aborted]);
      return { response: new HttpResponse({ statusCode: status, headers: { ...headers }, body: Buffer.from(body, 'utf8') }) };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

/**
 * A Node request listener (an `http.createServer` callback) as an embedded service: the request is a readable
 * stream with the method, URL and headers, the response records its status, headers and body until `end`. Enough
 * for a listener that reads the whole body and answers with `setHeader`/`writeHead` and `end`, as dynalite does.
 */
export const serviceOfRequestListener =
  (listener: RequestListener): EmbeddedService =>
  (request) =>
    new Promise((resolve, reject) => {
      const incoming = Object.assign(Readable.from([Buffer.from(request.body, 'utf8')]), {
        method: request.method,
        url: request.url,
        headers: { ...request.headers },
      });
      const headers: Record<string, string> = {};
      const outgoing = Object.assign(new EventEmitter(), {
        statusCode: 200,
        headersSent: false,
        setHeader: (name: string, value: number | string | readonly string[]) => {
          headers[name.toLowerCase()] = String(value);
          return outgoing;
        },
        getHeader: (name: string) => headers[name.toLowerCase()],
        writeHead: (status: number, values: Record<string, number | string> = {}) => {
          outgoing.statusCode = status;
          for (const [name, value] of Object.entries(values)) outgoing.setHeader(name, value);
          return outgoing;
        },
        end: (body?: string | Buffer) => {
          outgoing.headersSent = true;
          resolve({ status: outgoing.statusCode, headers, body: body === undefined ? '' : body.toString() });
          outgoing.emit('close');
          return outgoing;
        },
      });
      try {
        listener(incoming as unknown as IncomingMessage, outgoing as unknown as ServerResponse);
      } catch (error) {
        reject(error as Error);
      }
    });

const abortError = () => Object.assign(new Error('The request was aborted'), { name: 'AbortError' });

const bodyText = (body: unknown): string => {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  throw new Error('The in-process transport takes a string or byte body, not a stream');
};

const queryString = (query: HttpRequest['query']): string => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, one ?? '');
  }
  const text = search.toString();
  return text ? `?${text}` : '';
};

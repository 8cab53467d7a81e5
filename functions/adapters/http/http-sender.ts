/**
 * The `WebhookSender` over node:http and node:https, the HTTP stack the AWS SDK uses too: one POST per delivery on
 * a keep-alive connection pool per origin.
 *
 * Create the sender once (module scope in the Lambda) and reuse it: its agents keep connections to each receiver
 * open between deliveries. Redirects are never followed (a 3xx is just a response); the response body is read only
 * up to `maxResponseBytes` for the snippet, then dropped. Receiver-side failures are results, never exceptions:
 * 'timeout', 'connection' or 'destination_blocked'.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { setImmediate as nextLoopTurn } from 'node:timers/promises';
import type {
  OutboundRequest,
  SendResult,
  TransportErrorClass,
  WebhookSender,
} from '../../domain/delivery/sender.port.js';
import { checkUrlHost, guardedLookup, isDestinationBlockedError } from './destination-guard.js';

export interface HttpSenderOptions {
  /**
   * Time allowed for DNS resolution, TCP connect and the TLS handshake.
   * @default 5000
   */
  readonly connectTimeoutMs?: number;
  /**
   * Time allowed for the whole request, from the call until the response headers (and the snippet) are read.
   * @default 15000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Bytes of the response body kept for `bodySnippet`; reading stops at the chunk that reaches them.
   * @default 1024
   */
  readonly maxResponseBytes?: number;
  /**
   * Skip the SSRF guard (local mode, tests). When false, every connection goes through `guardedLookup` and IP-literal
   * hosts are checked before connecting.
   * @default false
   */
  readonly allowPrivateDestinations?: boolean;
  /**
   * Allow plain `http:` URLs.
   * @default false
   */
  readonly allowHttp?: boolean;
  /** `User-Agent` sent unless the request carries one. */
  readonly userAgent?: string;
}

export interface HttpSender extends WebhookSender {
  /** Closes the pooled connections, and with them any request still in flight. */
  close(): Promise<void>;
}

/** The abort reason of the whole-request timer, so a timeout is told apart from other aborts by identity. */
class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`request timed out after ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** What destroys a new connection that is not ready (resolved, connected, TLS done) within the connect timeout. */
class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(timeoutMs: number) {
    super(`connect timed out after ${timeoutMs} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ABORT_ERR']);
/** DOMException names (no string code): an abort or `AbortSignal.timeout` firing. Only our timer aborts requests. */
const TIMEOUT_NAMES = new Set(['AbortError', 'TimeoutError']);

type CreateConnection = (options: unknown, callback: unknown) => Socket;

/**
 * Gives each new connection of `agent` `timeoutMs` to resolve, connect and, for TLS, finish its handshake; a pooled
 * connection being reused is ready already.
 */
function withConnectTimeout<A extends http.Agent>(agent: A, readyEvent: 'connect' | 'secureConnect', timeoutMs: number): A {
  const pooled = agent as unknown as { createConnection: CreateConnection };
  const create = pooled.createConnection.bind(agent);
  pooled.createConnection = (options, callback) => {
    const socket = create(options, callback);
    const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(timeoutMs)), timeoutMs);
    const ready = () => clearTimeout(timer);
    socket.once(readyEvent, ready);
    socket.once('close', ready);
    return socket;
  };
  return agent;
}

export function createHttpSender(options: HttpSenderOptions = {}): HttpSender {
  const {
    connectTimeoutMs = 5000,
    requestTimeoutMs = 15000,
    maxResponseBytes = 1024,
    allowPrivateDestinations = false,
    allowHttp = false,
    userAgent,
  } = options;

  // Every new connection resolves its host through the guard, which hands net.connect the addresses it checked.
  const agentOptions: http.AgentOptions = { keepAlive: true, ...(!allowPrivateDestinations && { lookup: guardedLookup }) };
  const agents = {
    'http:': withConnectTimeout(new http.Agent(agentOptions), 'connect', connectTimeoutMs),
    'https:': withConnectTimeout(new https.Agent(agentOptions), 'secureConnect', connectTimeoutMs),
  };

  async function send(request: OutboundRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000;
    const failed = (errorClass: TransportErrorClass, message: string): SendResult => ({
      kind: 'error',
      errorClass,
      message,
      durationMs: elapsed(),
    });

    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return failed('destination_blocked', `invalid URL: ${request.url}`);
    }
    if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
      return failed('destination_blocked', `scheme ${url.protocol} is not allowed`);
    }
    if (!allowPrivateDestinations) {
      // net.connect skips `lookup` for IP literals, so guardedLookup never sees them.
      const blocked = checkUrlHost(url);
      if (blocked) return failed('destination_blocked', blocked.message);
    }

    const timeoutReason = new RequestTimeoutError(requestTimeoutMs);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timeoutReason), requestTimeoutMs);
    // The caller's deadline for an answer (the status line), when it comes before the timeout, or its signal: a
    // cut-off, not a failure.
    let cutOff = false;
    const cut = () => {
      cutOff = true;
      controller.abort(new Error('cut off before an answer'));
    };
    const deadline =
      request.deadlineMs !== undefined && request.deadlineMs < requestTimeoutMs ? setTimeout(cut, request.deadlineMs) : undefined;
    if (request.cutOff?.aborted) cut();
    request.cutOff?.addEventListener('abort', cut, { once: true });

    try {
      let response: http.IncomingMessage;
      try {
        response = await post(url, withUserAgent(request.headers, userAgent), request.body, controller.signal);
      } catch (error) {
        const chain = [...errorChain(error)];
        const blocked = chain.find(isDestinationBlockedError);
        if (blocked) return failed('destination_blocked', blocked.message);
        if (cutOff) return { kind: 'cut_off', durationMs: elapsed() };
        if (chain.includes(timeoutReason)) return failed('timeout', timeoutReason.message);
        return failed(classify(chain), describeError(error));
      } finally {
        clearTimeout(deadline);
        request.cutOff?.removeEventListener('abort', cut);
      }

      // The status is the receiver's answer; a body that fails or stalls after it only shortens the snippet.
      const { text: bodySnippet, complete } = await readSnippet(response, maxResponseBytes);
      if (complete) {
        // node:http hands a keep-alive socket back to its pool on a later tick than the body's end. Wait for it, so
        // a send that follows at once reuses the connection instead of opening a second one.
        await nextLoopTurn();
      }
      return {
        kind: 'response',
        statusCode: response.statusCode ?? 0,
        headers: flattenHeaders(response.rawHeaders),
        bodySnippet,
        durationMs: elapsed(),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** One POST; resolves with the response once its status line and headers are in. */
  function post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const outgoing = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          agent: agents[secure ? 'https:' : 'http:'],
          headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
          signal,
        },
        resolve,
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  return {
    send,
    close: async () => {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

function withUserAgent(
  headers: Readonly<Record<string, string>>,
  userAgent: string | undefined,
): Record<string, string> {
  if (userAgent === undefined || Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent')) {
    return { ...headers };
  }
  return { ...headers, 'user-agent': userAgent };
}

/**
 * Keeps the first `maxBytes` of the body as UTF-8 text and stops reading at the chunk that reaches them (chunks are
 * at most 64 KB), then destroys the stream: that closes the connection when more was pending, while a body read to
 * its end (`complete`) leaves the connection in the pool. A multi-byte character cut at the limit is dropped rather
 * than turned into U+FFFD.
 */
async function readSnippet(
  body: http.IncomingMessage,
  maxBytes: number,
): Promise<{ text: string; complete: boolean }> {
  const decoder = new TextDecoder('utf-8');
  let text = '';
  let remaining = maxBytes;
  let complete = false;
  try {
    let truncated = false;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const bytes = chunk.byteLength > remaining ? chunk.subarray(0, remaining) : chunk;
      text += decoder.decode(bytes, { stream: true });
      remaining -= bytes.byteLength;
      if (remaining <= 0) {
        truncated = true;
        break; // `break` destroys the body stream, and with it the connection when more was pending
      }
    }
    complete = !truncated;
  } catch {
    // Reset, timeout or abort while reading: keep what arrived.
  } finally {
    if (!body.destroyed) body.destroy();
  }
  return { text, complete };
}

/** Lower-case names; a header sent more than once has its values joined with ", ". */
function flattenHeaders(rawHeaders: readonly string[]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const key = rawHeaders[index]!.toLowerCase();
    const value = rawHeaders[index + 1]!;
    flat[key] = key in flat ? `${flat[key]}, ${value}` : value;
  }
  return flat;
}

/**
 * Every error in the chain: the error itself, its `cause`s and an AggregateError's members (happy eyeballs).
 * Duck-typed, not `instanceof`: errors raised by Node core can come from another realm (Jest's VM context).
 */
function* errorChain(error: unknown, depth = 0): Generator<unknown> {
  if (typeof error !== 'object' || error === null || depth > 5) return;
  yield error;
  const { errors, cause } = error as { errors?: unknown; cause?: unknown };
  if (Array.isArray(errors)) {
    for (const inner of errors) yield* errorChain(inner, depth + 1);
  }
  if (cause !== undefined) yield* errorChain(cause, depth + 1);
}

/** Timeout or connection failure, from the error's chain (see errorChain). */
function classify(chain: readonly unknown[]): 'timeout' | 'connection' {
  const isTimeout = chain.some((e) => {
    const { code, name } = e as { code?: unknown; name?: unknown };
    return (
      (typeof code === 'string' && TIMEOUT_CODES.has(code)) || (typeof name === 'string' && TIMEOUT_NAMES.has(name))
    );
  });
  // Refused, reset, DNS failure, TLS failure, socket closed, and anything else the transport raised.
  return isTimeout ? 'timeout' : 'connection';
}

function describeError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { code, name, message, errors } = error as Partial<Record<'code' | 'name' | 'message' | 'errors', unknown>>;
  let text = typeof message === 'string' ? message : '';
  if (!text && Array.isArray(errors)) text = errors.map(describeError).join('; ');
  if (!text) text = typeof name === 'string' ? name : String(error);
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}

/**
 * The outbound side of a delivery: one HTTP POST to a receiver. Implemented by functions/adapters/http; the
 * domain decides what an outcome means (delivered, retry, give up).
 */
export interface OutboundRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /**
   * Give up on an answer after this long, when it is shorter than the sender's own timeout: the result is then
   * `cut_off`, which is no failure of the receiver's.
   */
  readonly deadlineMs?: number;
  /** Give up on an answer as at the deadline, `cut_off`, when this aborts first. */
  readonly cutOff?: AbortSignal;
}

/** Why a request got no HTTP response. */
export type TransportErrorClass =
  /** Connect or whole-request timeout. */
  | 'timeout'
  /** Refused, reset, DNS failure, TLS failure. */
  | 'connection'
  /** The destination resolved to an address the SSRF guard refuses. */
  | 'destination_blocked';

export type SendResult =
  | {
      readonly kind: 'response';
      readonly statusCode: number;
      /** Lower-case header names. */
      readonly headers: Readonly<Record<string, string>>;
      /** At most the first 1 KB of the response body, as text. */
      readonly bodySnippet: string;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'error';
      readonly errorClass: TransportErrorClass;
      readonly message: string;
      readonly durationMs: number;
    }
  /** No answer within the request's `deadlineMs`; the request was abandoned, and the receiver may still act on it. */
  | { readonly kind: 'cut_off'; readonly durationMs: number };

export interface WebhookSender {
  /** Never throws for receiver-side problems: they are results. Redirects are never followed. */
  send(request: OutboundRequest): Promise<SendResult>;
}

/** Subscribe-time check of a webhook URL against the SSRF policy. */
export interface DestinationPolicy {
  /** Resolves to undefined when the URL may be used, else to the reason it may not. */
  check(url: string): Promise<string | undefined>;
}

/**
 * What the HTTP server hands its handler and takes back: a request, an answer, the
 * handler between them.
 *
 * @module
 */

/** A request as the handler sees it: the head, the whole body, the peer. */
export interface HttpRequest {
  /** The method, e.g. `GET`. */
  method: string;
  /** The path, percent-encoded as sent. */
  path: string;
  /** The query after `?`, without it; empty when none. */
  query: string;
  /** Header fields by lower-case name. */
  headers: Map<string, string>;
  /** The body (empty when none). */
  body: Uint8Array;
  /** The peer's IP address. */
  remoteAddress: string;
}

/**
 * An answer: a status, header fields, and a body given whole or as pieces made on demand
 * (each piece is asked for only once the previous ones were handed to the socket).
 */
export interface HttpAnswer {
  status: number;
  /** Header fields (lower-case names); `content-length` and framing are the server's. */
  headers: Record<string, string>;
  body: string | Iterable<string>;
}

/**
 * Answers a request; called once per request, never for two of one connection at once.
 * Lookups answer at once; an answer from elsewhere (another thread) comes as a promise.
 */
export type HttpHandler = (request: HttpRequest) => HttpAnswer | Promise<HttpAnswer>;

/**
 * The bounds of the HTTP server: connections, deadlines, head and body sizes, and their
 * defaults.
 *
 * @module
 */

/** The bounds of an {@linkcode HttpServer}. */
export interface HttpLimits {
  /** Connections open at once; a connection beyond is answered 503 and closed. */
  maxConnections: number;
  /**
   * Time a connection has to send a whole request head, from its opening or from the end
   * of its previous answer (so it also bounds an idle keep-alive connection).
   */
  headerTimeoutMs: number;
  /**
   * Time a connection has for a whole request, from the request's first byte to the end
   * of its answer: the head, the body and the answer's writing (a client that does not
   * read its answer is closed at this deadline).
   */
  requestTimeoutMs: number;
  /** Largest request head (request line and header fields); larger ones get 431. */
  maxHeadBytes: number;
  /** Largest request body; larger ones get 413. */
  maxBodyBytes: number;
}

/** The default connection cap. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/** The default limits: see {@linkcode HttpLimits}. */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // A GET of 1000 IPv6 addresses (`ip=<39 characters>&` each) fits.
  maxHeadBytes: 64 * 1024,
  maxBodyBytes: 64 * 1024,
});

/**
 * The connection cap for a process with a given soft limit on open files:
 * {@linkcode DEFAULT_MAX_CONNECTIONS}, or half the limit when that is lower, so that HTTP
 * alone cannot use every file descriptor the ZeroMQ side needs.
 *
 * @example
 * ```ts
 * import { defaultMaxConnections } from "./http_limits.ts";
 * console.log(defaultMaxConnections(256), defaultMaxConnections(1_048_576)); // 128 1024
 * ```
 *
 * @param openFileLimit the soft limit on open files, or undefined when unknown
 * @returns the cap
 */
export function defaultMaxConnections(openFileLimit: number | undefined): number {
  if (openFileLimit === undefined) return DEFAULT_MAX_CONNECTIONS;
  return Math.max(1, Math.min(DEFAULT_MAX_CONNECTIONS, Math.floor(openFileLimit / 2)));
}

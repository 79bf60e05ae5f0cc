/**
 * One open HTTP connection as the server sees it: the socket, the deadlines its sweep
 * checks, and why the server closed it.
 *
 * @module
 */

import type { HttpDropReason } from "../metrics/mod.ts";
import type { HttpLimits } from "./http_limits.ts";

/** A connection, plain or TLS. */
export type Conn = Deno.TcpConn | Deno.TlsConn;

/** The state of one open connection, as the deadline sweep sees it. */
export class Connection {
  readonly conn: Conn;
  /** When the head must have arrived (Infinity once it has). */
  headDeadline = Infinity;
  /** When the answer must have been written. */
  requestDeadline = Infinity;
  /** Whether the connection waits for a request with nothing of it received yet. */
  idle = true;
  /** Why the server closed it, once it did. */
  droppedFor: HttpDropReason | undefined;
  #closed = false;

  constructor(conn: Conn) {
    this.conn = conn;
  }

  /**
   * Sets the deadlines of the next request: its head from now; the whole request from now
   * when some of it was already received (pipelined), else from its first byte.
   */
  awaitRequest(idle: boolean, limits: HttpLimits): void {
    const now = performance.now();
    this.headDeadline = now + limits.headerTimeoutMs;
    this.idle = idle;
    // The request's clock starts with its first byte (pipelined: at once).
    this.requestDeadline = idle ? Infinity : now + limits.requestTimeoutMs;
  }

  /** The first byte of a request came: its whole-request deadline starts. */
  requestBegan(requestTimeoutMs: number): void {
    if (!this.idle) return;
    this.idle = false;
    this.requestDeadline = performance.now() + requestTimeoutMs;
  }

  /** @returns why it is overdue at `now`, or undefined when it is not */
  overdue(now: number): HttpDropReason | undefined {
    if (now > this.headDeadline) return "header_timeout";
    if (now > this.requestDeadline) return "request_timeout";
    return undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * A small, strict HTTP/1.1 server on `Deno.listen`, with every resource a client can make
 * it hold bounded: connections (a cap; the excess is answered 503 and closed), the time
 * to send a request head and a whole request (deadlines; a slow client is closed), the
 * bytes of a head and of a body, and what is held for a client that does not read (one
 * request at a time per connection, the answer written in pieces of at most
 * `WRITE_PIECE_BYTES`, the next piece made only once the last one was taken).
 * An accept that fails (e.g. EMFILE, too many open files) is counted, waited out and
 * retried: it never ends the process.
 *
 * This file holds the accept loop and one connection's conversation; the pieces it calls
 * are named after their jobs: `http_listener.ts`, `http_connection.ts` (deadlines),
 * `request_framing.ts`, `answer_writer.ts`, `write_pacer.ts` and `refusals.ts`.
 *
 * Why not `Deno.serve`: measured with Deno 2.9.6, it has no header-read timeout (a
 * slowloris connection was still open after 40 s), no connection cap, and an accept
 * failure at the open-file limit rejects a promise nothing can catch, ending the process.
 *
 * @module
 */

import { ConnReader } from "./conn_reader.ts";
import { type AnswerFraming, writeAnswer } from "./answer_writer.ts";
import { type Conn, Connection } from "./http_connection.ts";
import type { HttpLimits } from "./http_limits.ts";
import { closeQuietly, listenAgain, type Listener, openListener } from "./http_listener.ts";
import type { HttpAnswer, HttpHandler } from "./http_messages.ts";
import { HeadError, parseRequestHead, type RequestHead } from "./request_head.ts";
import { BodyError } from "./request_body.ts";
import { readBody, readHead, type ReceivedRequest } from "./request_framing.ts";
import { answerAndLinger, Refusal, refuseConnection } from "./refusals.ts";
import type { HttpDropReason } from "../metrics/mod.ts";
import type { TlsPem } from "./tls_files.ts";
import { WritePacer } from "./write_pacer.ts";

/** What the server reports as it goes. */
export interface HttpServerEvents {
  /** A connection was refused or closed by the server; see `HTTP_DROP_REASONS` in lib/metrics. */
  dropped?(reason: HttpDropReason): void;
  /** An accept failed (the server waits and retries). */
  acceptFailed?(error: unknown): void;
  /** The number of open connections changed. */
  connections?(open: number): void;
}

/** What {@linkcode HttpServer.listen} needs. */
export interface HttpServerOptions {
  hostname: string;
  port: number;
  limits: HttpLimits;
  handler: HttpHandler;
  /**
   * Listen with `SO_REUSEPORT`, so that other threads may listen on the same address and
   * the kernel spreads connections among them (needs `--unstable-net`).
   */
  reusePort?: boolean;
  /** Makes the JSON error answers of the server's own refusals (400, 413, 431, 503...). */
  problem: (status: number, message: string, headers?: Record<string, string>) => HttpAnswer;
  /**
   * Header fields to add to every answer to a request whose head was read, the server's
   * own refusals included (e.g. CORS), from the request's header fields.
   */
  extraHeaders?: (headers: ReadonlyMap<string, string>) => Record<string, string>;
  /** Serve HTTPS with this certificate chain and key (see `replaceTls`). */
  tls?: TlsPem;
  events?: HttpServerEvents;
}

/** How long the server waits after a failed accept, at first and at most. */
const ACCEPT_RETRY_MS = { first: 10, most: 1000 };
/** How long a stop lets requests in flight finish before it closes their connections. */
const STOP_GRACE_MS = 2000;

/**
 * The server. {@linkcode HttpServer.listen} starts it; {@linkcode HttpServer.shutdown}
 * stops it.
 */
export class HttpServer {
  /** Where it listens (the port actually bound). */
  readonly addr: { hostname: string; port: number };
  #listener: Listener;
  readonly #options: HttpServerOptions;
  readonly #open = new Set<Connection>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #accepting: Promise<void>;
  #stopping = false;
  readonly #pacer = new WritePacer();
  #wakeAcceptRetry: (() => void) | undefined;
  /** The accept waiting on the listener now. */
  #pendingAccept: Promise<Conn> | undefined;
  /** Settles once a listener being replaced (without `reusePort`) has its successor. */
  #replacing: Promise<void> | undefined;
  #allClosed: PromiseWithResolvers<void> | undefined;

  private constructor(listener: Listener, options: HttpServerOptions) {
    this.#listener = listener;
    this.#options = options;
    const addr = listener.addr as Deno.NetAddr;
    this.addr = { hostname: addr.hostname, port: addr.port };
    const { headerTimeoutMs, requestTimeoutMs } = options.limits;
    const every = Math.max(10, Math.min(1000, Math.min(headerTimeoutMs, requestTimeoutMs) / 4));
    this.#sweep = setInterval(() => this.#closeOverdue(), every);
    this.#accepting = this.#acceptLoop();
  }

  /**
   * Listens and starts serving.
   *
   * @param options where, with what limits, what to answer
   * @returns the running server
   * @throws {Deno.errors.AddrInUse} and the like when it cannot listen
   */
  static listen(options: HttpServerOptions): HttpServer {
    return new HttpServer(
      openListener(options, { port: options.port, tls: options.tls }),
      options,
    );
  }

  /**
   * Serves new connections with another certificate and key (a server started with
   * `tls` only): a new listener on the same port takes over (opened beside the old one
   * when listening with `reusePort`, else just after it closed); connections already
   * open keep theirs.
   *
   * @param pem the certificate chain and key
   * @throws {Error} when the pair is refused or the port cannot be listened on again (the
   *   old pair stays in force)
   */
  async replaceTls(pem: TlsPem): Promise<void> {
    if (this.#options.tls === undefined) throw new Error("this server does not serve TLS");
    if (this.#stopping) return;
    const old = this.#listener;
    const on = { port: this.addr.port, tls: pem };
    if (this.#options.reusePort === true) {
      this.#listener = openListener(this.#options, on);
      closeQuietly(old);
      return;
    }
    // Check the pair on a port of its own first: a bad pair must not lose the port.
    closeQuietly(
      openListener({ ...this.#options, hostname: this.addr.hostname }, { ...on, port: 0 }),
    );
    const replaced = Promise.withResolvers<void>();
    this.#replacing = replaced.promise;
    try {
      closeQuietly(old);
      // The port is free once the pending accept on the old listener has ended.
      await this.#pendingAccept?.catch(() => {});
      this.#listener = await listenAgain(this.#options, on);
    } finally {
      this.#replacing = undefined;
      replaced.resolve();
    }
  }

  /** Connections open now. */
  get connections(): number {
    return this.#open.size;
  }

  /**
   * Stops accepting, closes idle connections, lets requests in flight finish for up to
   * 2 s, then closes every connection.
   */
  async shutdown(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      closeQuietly(this.#listener);
      this.#wakeAcceptRetry?.();
      for (const connection of this.#open) if (connection.idle) connection.close();
    }
    await this.#accepting;
    if (this.#open.size > 0) {
      this.#allClosed ??= Promise.withResolvers();
      const timer = setTimeout(() => {
        for (const connection of this.#open) connection.close();
      }, STOP_GRACE_MS);
      await this.#allClosed.promise;
      clearTimeout(timer);
    }
    clearInterval(this.#sweep);
  }

  async #acceptLoop(): Promise<void> {
    let retryMs = ACCEPT_RETRY_MS.first;
    while (!this.#stopping) {
      let conn: Conn;
      if (this.#replacing !== undefined) await this.#replacing;
      const listener = this.#listener;
      try {
        this.#pendingAccept = listener.accept();
        conn = await this.#pendingAccept;
        retryMs = ACCEPT_RETRY_MS.first;
      } catch (error) {
        if (this.#stopping) return;
        // The listener is being replaced (a new TLS certificate): accept on the new one.
        if (listener !== this.#listener || this.#replacing !== undefined) continue;
        // EMFILE and the like: the connection waits in the backlog; try again soon.
        this.#options.events?.acceptFailed?.(error);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          this.#wakeAcceptRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wakeAcceptRetry = undefined;
        retryMs = Math.min(ACCEPT_RETRY_MS.most, retryMs * 2);
        continue;
      }
      if (this.#open.size >= this.#options.limits.maxConnections) {
        this.#refuse(conn);
        continue;
      }
      this.#serve(conn);
    }
  }

  /** Answers a connection over the cap with 503 and closes it. */
  #refuse(conn: Conn): void {
    this.#options.events?.dropped?.("max_connections");
    refuseConnection(
      conn,
      this.#options.problem(503, "too many connections; try again later", { "retry-after": "1" }),
    );
  }

  #closeOverdue(): void {
    const now = performance.now();
    for (const connection of this.#open) {
      const reason = connection.overdue(now);
      if (reason === undefined) continue;
      connection.droppedFor = reason;
      connection.close();
    }
  }

  #serve(conn: Conn): void {
    const connection = new Connection(conn);
    this.#open.add(connection);
    this.#options.events?.connections?.(this.#open.size);
    this.#converse(connection).catch(() => {}).finally(() => {
      connection.close();
      this.#open.delete(connection);
      const { events } = this.#options;
      if (connection.droppedFor !== undefined) events?.dropped?.(connection.droppedFor);
      events?.connections?.(this.#open.size);
      if (this.#open.size === 0) this.#allClosed?.resolve();
    });
  }

  /** One connection's requests, one at a time, until it closes or must be closed. */
  async #converse(connection: Connection): Promise<void> {
    if (!await this.#begin(connection)) return;
    const reader = new ConnReader(connection.conn);
    for (;;) {
      connection.awaitRequest(reader.start === reader.end, this.#options.limits);
      let request: ReceivedRequest | undefined = await this.#receive(connection, reader);
      if (request === undefined) return;
      if (this.#stopping) request.head.keepAlive = false;
      const written = await this.#answerFor(connection, request);
      // Nothing of the request is kept while the answer is written: a client that never
      // reads would hold it as long as the answer.
      request = undefined;
      await writeAnswer(connection.conn, written);
      if (!written.framing.keepAlive || this.#stopping) return;
    }
  }

  /** Readies a new connection: the TLS handshake, or no delay on plain TCP. */
  async #begin(connection: Connection): Promise<boolean> {
    const { conn } = connection;
    if ("handshake" in conn) {
      // The handshake is bounded by the head's deadline; a client that does not speak
      // TLS (plain HTTP to the HTTPS port) fails it and is closed.
      connection.headDeadline = performance.now() + this.#options.limits.headerTimeoutMs;
      try {
        await conn.handshake();
      } catch {
        connection.droppedFor ??= "bad_request";
        return false;
      }
    } else {
      try {
        conn.setNoDelay(true);
      } catch {
        // Not a TCP socket any more.
      }
    }
    return true;
  }

  /**
   * The next request, whole; undefined when the connection is to end: closed by the
   * peer, or a request refused (answered here, the connection closing).
   */
  async #receive(
    connection: Connection,
    reader: ConnReader,
  ): Promise<ReceivedRequest | undefined> {
    const { limits } = this.#options;
    let head: RequestHead | undefined;
    try {
      const headBytes = await readHead(connection, { reader, limits });
      if (headBytes === undefined) return undefined;
      connection.headDeadline = Infinity;
      head = parseRequestHead(headBytes);
      const body = await readBody(connection, { reader, head, limits });
      // No read buffer is kept while the answer is written (a client that never reads
      // would hold it as long as the answer), unless a pipelined request waits in it.
      reader.release();
      return { head, body };
    } catch (error) {
      if (error instanceof Refusal || error instanceof HeadError || error instanceof BodyError) {
        connection.droppedFor = "bad_request";
        const refused = this.#problem(error.status, error.message);
        const answer = this.#withExtraHeaders(refused, head?.headers);
        await answerAndLinger(connection, { reader, answer });
      }
      return undefined;
    }
  }

  /** The handler's answer to a request (500 when it throws), and its framing. */
  async #answerFor(
    connection: Connection,
    request: ReceivedRequest,
  ): Promise<{ answer: HttpAnswer; framing: AnswerFraming }> {
    const { head, body } = request;
    let answer: HttpAnswer;
    try {
      const given = this.#options.handler({
        method: head.method,
        path: head.path,
        query: head.query,
        headers: head.headers,
        body,
        remoteAddress: connection.conn.remoteAddr.hostname,
      });
      answer = given instanceof Promise ? await given : given;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      answer = this.#problem(500, `internal error: ${reason.replace(/[\r\n]+/g, " ")}`);
    }
    const framing = {
      head: head.method === "HEAD",
      keepAlive: head.keepAlive,
      chunked: head.version === "1.1",
      pace: () => this.#pacer.pace(),
    };
    return { answer: this.#withExtraHeaders(answer, head.headers), framing };
  }

  #problem(status: number, message: string): HttpAnswer {
    return this.#options.problem(status, message);
  }

  /** The answer with the extra headers for its request. */
  #withExtraHeaders(
    answer: HttpAnswer,
    headers: ReadonlyMap<string, string> | undefined,
  ): HttpAnswer {
    const { extraHeaders } = this.#options;
    return extraHeaders === undefined || headers === undefined
      ? answer
      : { ...answer, headers: { ...answer.headers, ...extraHeaders(headers) } };
  }
}

/**
 * A small, strict HTTP/1.1 server on `Deno.listen`, with every resource a client can make
 * it hold bounded: connections (a cap; the excess is answered 503 and closed), the time
 * to send a request head and a whole request (deadlines; a slow client is closed), the
 * bytes of a head and of a body, and what is held for a client that does not read (one
 * request at a time per connection, the answer written in pieces of at most
 * {@linkcode WRITE_PIECE_BYTES}, the next piece made only once the last one was taken).
 * An accept that fails (e.g. EMFILE, too many open files) is counted, waited out and
 * retried: it never ends the process.
 *
 * Why not `Deno.serve`: measured with Deno 2.9.6, it has no header-read timeout (a
 * slowloris connection was still open after 40 s), no connection cap, and an accept
 * failure at the open-file limit rejects a promise nothing can catch, ending the process.
 *
 * @module
 */

import type { HttpDropReason } from "../metrics/mod.ts";
import { ConnReader } from "./conn_reader.ts";
import { HeadError, parseRequestHead, type RequestHead } from "./request_head.ts";
import { BodyError, readRequestBody } from "./request_body.ts";
import type { TlsPem } from "./tls_files.ts";

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
 * import { defaultMaxConnections } from "./http_server.ts";
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

/** Most bytes of an answer handed to the socket at once. */
export const WRITE_PIECE_BYTES = 4 * 1024;

/**
 * Most bytes of a long answer a connection holds encoded at once (its write budget): a
 * piece larger than this is written in several chunks.
 */
export const WRITE_BUDGET_BYTES = 8 * 1024;

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

/** A listener of plain TCP or of TLS connections. */
type Listener = Deno.Listener<Deno.TcpConn> | Deno.TlsListener;
/** A connection, plain or TLS. */
type Conn = Deno.TcpConn | Deno.TlsConn;

const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");
const NO_BYTES = new Uint8Array(0);
/** How long the server waits after a failed accept, at first and at most. */
const ACCEPT_RETRY_MS = { first: 10, most: 1000 };
/** How long connections may keep the event loop before one lets it turn, ms. */
const TURN_MS = 5;
/** Queued connections that write one piece each per turn of the event loop. */
const PACE_BATCH = 32;
/** How long a stop lets requests in flight finish before it closes their connections. */
const STOP_GRACE_MS = 2000;
/** Bytes kept before a chunk's data for its size line (8 hex digits, CRLF). */
const SIZE_LINE_ROOM = 10;
/** Bytes kept after a chunk's data for its CRLF and the last chunk. */
const TRAILER_ROOM = 7;
/** How often, and how far apart, a replaced listener's port is asked for again. */
const RELISTEN = { attempts: 50, waitMs: 20 };
/** What a closing connection reads and drops so the client sees its answer, at most. */
const LINGER = { bytes: 256 * 1024, ms: 1000 };

/** The state of one open connection, as the deadline sweep sees it. */
class Connection {
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

/** A request the server answers itself and then closes the connection. */
class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

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
  /** When paced connections last let the event loop turn. */
  #lastTurn = performance.now();
  /** Connections waiting for their turn to write the next piece of an answer. */
  readonly #paced: (() => void)[] = [];
  #pacing = false;
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
    return new HttpServer(openListener(options, options.port, options.tls), options);
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
    if (this.#options.reusePort === true) {
      this.#listener = openListener(this.#options, this.addr.port, pem);
      closeQuietly(old);
      return;
    }
    // Check the pair on a port of its own first: a bad pair must not lose the port.
    closeQuietly(openListener({ ...this.#options, hostname: this.addr.hostname }, 0, pem));
    const replaced = Promise.withResolvers<void>();
    this.#replacing = replaced.promise;
    try {
      closeQuietly(old);
      // The port is free once the pending accept on the old listener has ended.
      await this.#pendingAccept?.catch(() => {});
      for (let attempt = 1;; attempt++) {
        try {
          this.#listener = openListener(this.#options, this.addr.port, pem);
          return;
        } catch (error) {
          if (!(error instanceof Deno.errors.AddrInUse) || attempt >= RELISTEN.attempts) {
            throw new Error(`Cannot listen on port ${this.addr.port} again: ${error}`);
          }
          await new Promise((resolve) => setTimeout(resolve, RELISTEN.waitMs));
        }
      }
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
    const answer = this.#options.problem(503, "too many connections; try again later", {
      "retry-after": "1",
    });
    const bytes = encodeWhole(answer, { head: false, keepAlive: false });
    // A few hundred bytes on a new connection: the socket takes them at once.
    conn.write(bytes).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch {
        // Closed.
      }
    });
  }

  /**
   * Lets the event loop turn (accepts, reads, timers) between the pieces of long answers.
   * A write the socket takes at once resolves without a turn, so connections whose
   * answers fill the socket buffers of clients that never read would otherwise keep
   * every other client waiting. After {@linkcode TURN_MS} without a turn, or whenever
   * others already wait, a connection queues; each turn lets {@linkcode PACE_BATCH} of
   * the queue go on, in order, for one piece each.
   */
  #pace(): Promise<void> | undefined {
    if (this.#paced.length === 0 && performance.now() - this.#lastTurn < TURN_MS) {
      return undefined;
    }
    const turn = Promise.withResolvers<void>();
    this.#paced.push(turn.resolve);
    this.#schedulePaced();
    return turn.promise;
  }

  #schedulePaced(): void {
    if (this.#pacing) return;
    this.#pacing = true;
    setTimeout(() => {
      this.#pacing = false;
      this.#lastTurn = performance.now();
      for (const resume of this.#paced.splice(0, PACE_BATCH)) resume();
      if (this.#paced.length > 0) this.#schedulePaced();
    }, 0);
  }

  #closeOverdue(): void {
    const now = performance.now();
    for (const connection of this.#open) {
      if (now > connection.headDeadline) {
        connection.droppedFor = "header_timeout";
        connection.close();
      } else if (now > connection.requestDeadline) {
        connection.droppedFor = "request_timeout";
        connection.close();
      }
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
    const { conn } = connection;
    const { limits, handler, extraHeaders } = this.#options;
    if ("handshake" in conn) {
      // The handshake is bounded by the head's deadline; a client that does not speak
      // TLS (plain HTTP to the HTTPS port) fails it and is closed.
      connection.headDeadline = performance.now() + limits.headerTimeoutMs;
      try {
        await conn.handshake();
      } catch {
        connection.droppedFor ??= "bad_request";
        return;
      }
    } else {
      try {
        conn.setNoDelay(true);
      } catch {
        // Not a TCP socket any more.
      }
    }
    const reader = new ConnReader(conn);
    const remoteAddress = conn.remoteAddr.hostname;
    /** The answer with the extra headers for its request. */
    const finish = (answer: HttpAnswer, headers: ReadonlyMap<string, string> | undefined) =>
      extraHeaders === undefined || headers === undefined
        ? answer
        : { ...answer, headers: { ...answer.headers, ...extraHeaders(headers) } };
    for (;;) {
      const now = performance.now();
      connection.headDeadline = now + limits.headerTimeoutMs;
      connection.idle = reader.start === reader.end;
      // The request's clock starts with its first byte (pipelined: at once).
      connection.requestDeadline = connection.idle ? Infinity : now + limits.requestTimeoutMs;
      let head: RequestHead | undefined;
      let body: Uint8Array;
      try {
        const headBytes = await this.#readHead(reader, connection);
        if (headBytes === undefined) return;
        connection.headDeadline = Infinity;
        head = parseRequestHead(headBytes);
        if (head.expectContinue && head.body.kind !== "none") {
          if (head.body.kind === "length" && head.body.length > limits.maxBodyBytes) {
            throw new Refusal(413, `request body larger than ${limits.maxBodyBytes} bytes`);
          }
          await writeAll(conn, CONTINUE);
        }
        body = await readRequestBody(reader, {
          framing: head.body,
          maxBodyBytes: limits.maxBodyBytes,
        });
        // No read buffer is kept while the answer is written (a client that never reads
        // would hold it as long as the answer), unless a pipelined request waits in it.
        reader.release();
      } catch (error) {
        if (
          error instanceof Refusal || error instanceof HeadError || error instanceof BodyError
        ) {
          connection.droppedFor = "bad_request";
          const answer = finish(this.#options.problem(error.status, error.message), head?.headers);
          await this.#answerAndLinger(connection, reader, answer);
        }
        return;
      }
      if (this.#stopping) head.keepAlive = false;
      let answer: HttpAnswer;
      try {
        const given = handler({
          method: head.method,
          path: head.path,
          query: head.query,
          headers: head.headers,
          body,
          remoteAddress,
        });
        answer = given instanceof Promise ? await given : given;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        answer = this.#options.problem(
          500,
          `internal error: ${reason.replace(/[\r\n]+/g, " ")}`,
        );
      }
      const written = finish(answer, head.headers);
      const framing = {
        head: head.method === "HEAD",
        keepAlive: head.keepAlive,
        chunked: head.version === "1.1",
        pace: () => this.#pace(),
      };
      // Nothing of the request is kept while the answer is written: a client that never
      // reads would hold it as long as the answer.
      head = undefined;
      body = NO_BYTES;
      await writeAnswer(conn, written, framing);
      if (!framing.keepAlive || this.#stopping) return;
    }
  }

  /** The next request's head, or undefined when the peer closed before one began. */
  async #readHead(reader: ConnReader, connection: Connection): Promise<Uint8Array | undefined> {
    const { maxHeadBytes } = this.#options.limits;
    // Bytes after reader.start already searched (reading may move reader.start).
    let checked = 0;
    for (;;) {
      const end = reader.headEnd(reader.start + checked);
      if (end >= 0) {
        if (end - reader.start > maxHeadBytes) {
          throw new Refusal(431, `request head larger than ${maxHeadBytes} bytes`);
        }
        // A view, not a copy: the head is parsed before the buffer is read into again.
        const head = reader.bytes.subarray(reader.start, end);
        reader.start = end + 4;
        return head;
      }
      checked = Math.max(0, reader.end - reader.start - 3);
      if (reader.end - reader.start > maxHeadBytes) {
        throw new Refusal(431, `request head larger than ${maxHeadBytes} bytes`);
      }
      const wasEmpty = reader.start === reader.end;
      if (!await reader.fill(maxHeadBytes + 4)) {
        if (wasEmpty) return undefined;
        throw new Refusal(400, "connection ended inside a request head");
      }
      if (connection.idle) {
        connection.idle = false;
        connection.requestDeadline = performance.now() + this.#options.limits.requestTimeoutMs;
      }
    }
  }

  /**
   * Answers a request the server refuses, then closes: its write side first, reading and
   * dropping what the client still sends for a moment, so that the client reads the
   * answer instead of a reset.
   */
  async #answerAndLinger(
    connection: Connection,
    reader: ConnReader,
    answer: HttpAnswer,
  ): Promise<void> {
    const { conn } = connection;
    await writeAnswer(conn, answer, {
      head: false,
      keepAlive: false,
      chunked: false,
      pace: () => undefined,
    });
    try {
      await conn.closeWrite();
    } catch {
      return;
    }
    connection.requestDeadline = Math.min(
      connection.requestDeadline,
      performance.now() + LINGER.ms,
    );
    let dropped = 0;
    reader.start = reader.end = 0;
    while (dropped < LINGER.bytes) {
      const n = await conn.read(reader.bytes);
      if (n === null) return;
      dropped += n;
    }
  }
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // Closed already.
  }
}

/** Listens as the options say, on a port, with TLS when given a pair. */
function openListener(
  options: Pick<HttpServerOptions, "hostname" | "reusePort">,
  port: number,
  tls: TlsPem | undefined,
): Listener {
  const where = {
    hostname: options.hostname,
    port,
    ...(options.reusePort === true ? { reusePort: true } : {}),
  };
  return tls === undefined ? Deno.listen(where) : Deno.listenTls({ ...where, ...tls });
}

async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
}

function headerLines(headers: Record<string, string>): string {
  let text = "";
  for (const name in headers) text += `${name}: ${headers[name]}\r\n`;
  return text;
}

/** An answer with a whole body, as the bytes to write. */
function encodeWhole(
  answer: HttpAnswer,
  options: { head: boolean; keepAlive: boolean },
): Uint8Array {
  const body = encoder.encode(answer.body as string);
  const head = statusLine(answer.status) + headerLines(answer.headers) +
    (answer.status === 204 ? "" : `content-length: ${body.length}\r\n`) +
    (options.keepAlive ? "" : "connection: close\r\n") + "\r\n";
  if (options.head) return encoder.encode(head);
  const bytes = new Uint8Array(head.length + body.length);
  encoder.encodeInto(head, bytes);
  bytes.set(body, head.length);
  return bytes;
}

/**
 * Writes an answer. A whole body goes in one write; pieces are gathered up to
 * {@linkcode WRITE_PIECE_BYTES} and written one chunk at a time (chunked encoding, or the
 * bytes as they are for an HTTP/1.0 client, whose connection then closes).
 */
async function writeAnswer(
  conn: Conn,
  answer: HttpAnswer,
  options: {
    head: boolean;
    keepAlive: boolean;
    chunked: boolean;
    pace: () => Promise<void> | undefined;
  },
): Promise<void> {
  if (typeof answer.body === "string") {
    await writeAll(conn, encodeWhole(answer, options));
    return;
  }
  const chunked = options.chunked;
  const keepAlive = options.keepAlive && chunked;
  const head = statusLine(answer.status) + headerLines(answer.headers) +
    (chunked && !options.head ? "transfer-encoding: chunked\r\n" : "") +
    (keepAlive ? "" : "connection: close\r\n") + "\r\n";
  if (options.head) {
    await writeAll(conn, encoder.encode(head));
    return;
  }
  let prefix = head;
  let pending = "";
  // The connection's write budget: one buffer of WRITE_BUDGET_BYTES for every piece of
  // this answer, each write awaited before the next is encoded into it. A client that
  // does not read holds this buffer, its request's leftovers, and no more.
  let out: Uint8Array | undefined;
  const send = async (last: boolean) => {
    out ??= new Uint8Array(WRITE_BUDGET_BYTES);
    let text = pending;
    pending = "";
    let at = 0;
    if (prefix !== "") {
      const bytes = encoder.encode(prefix);
      prefix = "";
      if (bytes.length > WRITE_BUDGET_BYTES / 2) await writeAll(conn, bytes);
      else {
        out.set(bytes);
        at = bytes.length;
      }
    }
    const room = chunked ? SIZE_LINE_ROOM : 0;
    for (;;) {
      const dataStart = at + room;
      const { read, written } = encoder.encodeInto(
        text,
        out.subarray(dataStart, WRITE_BUDGET_BYTES - TRAILER_ROOM),
      );
      text = read === text.length ? "" : text.slice(read);
      const sizeLine = chunked && written > 0 ? `${written.toString(16)}\r\n` : "";
      // The head (first piece only) moves up against the chunk's size line.
      const begin = dataStart - sizeLine.length - at;
      if (at > 0) out.copyWithin(begin, 0, at);
      encoder.encodeInto(sizeLine, out.subarray(dataStart - sizeLine.length));
      let end = dataStart + written;
      if (chunked && written > 0) end += encoder.encodeInto("\r\n", out.subarray(end)).written;
      if (chunked && last && text === "") {
        end += encoder.encodeInto("0\r\n\r\n", out.subarray(end)).written;
      }
      if (end > begin) await writeAll(conn, out.subarray(begin, end));
      at = 0;
      if (text === "") return;
    }
  };
  for (const piece of answer.body) {
    pending += piece;
    // At most 3 bytes a character: a piece stays near WRITE_PIECE_BYTES.
    if (pending.length * 3 >= WRITE_PIECE_BYTES) {
      await send(false);
      await options.pace();
    }
  }
  await send(true);
}

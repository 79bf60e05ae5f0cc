/**
 * HTTP clients that start a chunked request body and never finish it: each connection
 * sends `POST /json` with `Transfer-Encoding: chunked`, then many one-byte chunks, and
 * neither the last chunk nor anything else. The service must hold such a body in one
 * buffer bounded by its body limit, and end it at its request timeout. Used by the attack
 * bench (`http-chunked-unfinished`) and by its scaled-down test.
 *
 * @example
 * ```ts ignore
 * const bodies = await UnfinishedChunkedBodies.open({ port: 8080, connections: 20 });
 * await sleep(5000); // measure the service meanwhile
 * bodies.close();
 * console.log(bodies.bytesSent, bodies.closedByServer);
 * ```
 *
 * @module
 */

import { writeAll } from "./bytes.ts";

const encoder = new TextEncoder();

/** Options of {@linkcode UnfinishedChunkedBodies.open}. */
export interface UnfinishedChunkedOptions {
  /** The HTTP port on 127.0.0.1. */
  port: number;
  /** How many connections (default 100). */
  connections?: number;
  /** One-byte chunks each connection sends (default 65,536: a 64 KiB body in 393 KB). */
  chunks?: number;
}

/** What one connection sends: the head, then `chunks` chunks of one byte, never the last. */
function unfinishedRequest(chunks: number): Uint8Array {
  const head = encoder.encode(
    "POST /json HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n" +
      "Content-Type: application/json\r\n\r\n",
  );
  const chunk = encoder.encode("1\r\n \r\n");
  const request = new Uint8Array(head.length + chunks * chunk.length);
  request.set(head);
  for (let i = 0; i < chunks; i++) request.set(chunk, head.length + i * chunk.length);
  return request;
}

/** Connections holding unfinished chunked bodies; {@linkcode close} ends them all. */
export class UnfinishedChunkedBodies {
  /** Connections made. */
  opened = 0;
  /** Connections that could not be made. */
  failed = 0;
  /** Bytes written, over all connections. */
  bytesSent = 0;
  /** Connections the server ended (a read came back empty or failed) before the close. */
  closedByServer = 0;
  /** Connections whose whole request (head and every chunk) was written. */
  written = 0;
  readonly #conns: Deno.Conn[] = [];
  #closed = false;

  private constructor() {}

  /**
   * Opens the connections and starts writing; resolves once every connection is open
   * (the writes go on in the background until the server stops reading or the close).
   *
   * @param options the port, connections and chunks
   * @returns the running clients
   */
  static async open(options: UnfinishedChunkedOptions): Promise<UnfinishedChunkedBodies> {
    const bodies = new UnfinishedChunkedBodies();
    const request = unfinishedRequest(options.chunks ?? 65_536);
    const connections = options.connections ?? 100;
    for (let opened = 0; opened < connections && !bodies.#closed; opened += 50) {
      const batch = Math.min(50, connections - opened);
      await Promise.all(Array.from({ length: batch }, () => bodies.#start(options.port, request)));
    }
    return bodies;
  }

  async #start(port: number, request: Uint8Array): Promise<void> {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch {
      this.failed++;
      return;
    }
    if (this.#closed) {
      conn.close();
      return;
    }
    this.opened++;
    this.#conns.push(conn);
    conn.read(new Uint8Array(4096)).then((read) => {
      if (read === null && !this.#closed) this.closedByServer++;
    }, () => {
      if (!this.#closed) this.closedByServer++;
    });
    (async () => {
      // In pieces, so the count says how far each got when the server stopped reading.
      for (let at = 0; at < request.length && !this.#closed; at += 16 * 1024) {
        const piece = request.subarray(at, Math.min(request.length, at + 16 * 1024));
        await writeAll(conn, piece);
        this.bytesSent += piece.length;
      }
      if (!this.#closed) this.written++;
    })().catch(() => {
      // Closed by the server, or by close().
    });
  }

  /** Closes every connection. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    this.#conns.length = 0;
  }
}

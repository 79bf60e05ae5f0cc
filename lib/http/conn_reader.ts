/**
 * The read side of one HTTP connection: one buffer, grown only as far as a caller allows,
 * dropped while nothing is unread.
 *
 * @module
 */

/** Bytes read from the socket at once, and the buffer's size to begin with. */
export const READ_BYTES = 16 * 1024;
const NO_BYTES = new Uint8Array(0);

/**
 * Reads from a connection into one bounded buffer. `bytes[start, end)` is what was read
 * and not yet taken; callers take by moving `start`.
 *
 * @example
 * ```ts
 * import { ConnReader } from "./conn_reader.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * await client.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
 * const reader = new ConnReader(server);
 * while (reader.lineEnd() < 0) await reader.fill(1024);
 * console.log(reader.lineEnd() - reader.start); // 14
 * client.close();
 * server.close();
 * listener.close();
 * ```
 */
export class ConnReader {
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array;
  /** Where the unread bytes begin. */
  start = 0;
  /** Where they end. */
  end = 0;

  /** @param conn the connection to read */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#buffer = new Uint8Array(READ_BYTES);
  }

  /** Drops the buffer while nothing is unread (it is made again by the next read). */
  release(): void {
    if (this.start === this.end) {
      this.#buffer = NO_BYTES;
      this.start = this.end = 0;
    }
  }

  /** The buffer; the unread bytes are `bytes.subarray(start, end)`. */
  get bytes(): Uint8Array {
    return this.#buffer;
  }

  /**
   * Reads more, keeping at most `capacity` unread bytes.
   *
   * @param capacity the most unread bytes the buffer may grow to hold
   * @returns false at the end of the stream
   */
  async fill(capacity: number): Promise<boolean> {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.#buffer.length === 0) this.#buffer = new Uint8Array(READ_BYTES);
    if (this.end === this.#buffer.length) {
      const unread = this.end - this.start;
      if (this.start > 0) {
        this.#buffer.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.min(Math.max(capacity, unread + 1), unread * 2));
        grown.set(this.#buffer.subarray(this.start, this.end));
        this.#buffer = grown;
      }
      this.start = 0;
      this.end = unread;
    }
    const n = await this.#conn.read(this.#buffer.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /**
   * @param from where to begin looking
   * @returns the index of the first CRLF CRLF at or after `from`, or -1
   */
  headEnd(from: number): number {
    const b = this.#buffer;
    for (let i = Math.max(this.start, from); i + 3 < this.end; i++) {
      if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
    }
    return -1;
  }

  /** @returns the index of the first CRLF at or after `start`, or -1 */
  lineEnd(): number {
    const b = this.#buffer;
    for (let i = this.start; i + 1 < this.end; i++) {
      if (b[i] === 13 && b[i + 1] === 10) return i;
    }
    return -1;
  }
}

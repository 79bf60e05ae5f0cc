/**
 * A keep-alive HTTP/1.1 client whose connection starts from a chosen loopback address
 * (`node:net`'s `localAddress`; `fetch` and `Deno.connect` cannot choose it), for the
 * per-address rate limit's checks. It sends one `GET` at a time and reads the answer's
 * status and `Content-Length` body; that is all the service's short answers need.
 *
 * @example
 * ```ts ignore
 * const client = await SourceBoundHttp.connect({ port: 8080, source: "127.0.0.4" });
 * console.log(await client.get("/geoip/81.2.69.160")); // 200
 * client.close();
 * ```
 *
 * @module
 */

import net from "node:net";
import { Buffer } from "node:buffer";

/** Options of {@linkcode SourceBoundHttp.connect}. */
export interface SourceBoundHttpOptions {
  /** The HTTP port on 127.0.0.1. */
  port: number;
  /** The loopback address the connection starts from. */
  source: string;
}

const HEAD_END = Buffer.from("\r\n\r\n");

/** One keep-alive connection from a chosen address. */
export class SourceBoundHttp {
  readonly #socket: net.Socket;
  #pending: Buffer = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #ended = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (data: Buffer) => {
      this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
      this.#wake();
    });
    const end = () => {
      this.#ended = true;
      this.#wake();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }

  /**
   * Connects.
   *
   * @param options the port and the source address
   * @returns the connected client
   * @throws {Error} when the connection cannot be made
   */
  static connect(options: SourceBoundHttpOptions): Promise<SourceBoundHttp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: "127.0.0.1",
        port: options.port,
        localAddress: options.source,
      });
      socket.once("connect", () => resolve(new SourceBoundHttp(socket)));
      socket.once("error", reject);
    });
  }

  /**
   * Sends a `GET` and reads its answer.
   *
   * @param path e.g. `/geoip/81.2.69.160`
   * @param timeoutMs how long to wait for the whole answer (default 2000 ms)
   * @returns the status, or null when the connection ended or the time ran out
   */
  async get(path: string, timeoutMs = 2000): Promise<number | null> {
    if (this.#ended) return null;
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const answer = this.#takeAnswer();
      if (answer !== undefined) return answer;
      if (this.#ended || performance.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - performance.now()));
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The status of a whole answer in the buffer (removed from it), if there is one. */
  #takeAnswer(): number | undefined {
    const headEnd = this.#pending.indexOf(HEAD_END);
    if (headEnd < 0) return undefined;
    const head = this.#pending.subarray(0, headEnd).toString("latin1");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
    if (!Number.isFinite(status) || !Number.isFinite(length)) {
      throw new Error(`an answer this client cannot read: ${JSON.stringify(head)}`);
    }
    const end = headEnd + HEAD_END.length + length;
    if (this.#pending.length < end) return undefined;
    this.#pending = this.#pending.subarray(end);
    return status;
  }

  /** Closes the connection. */
  close(): void {
    this.#ended = true;
    this.#socket.destroy();
  }
}

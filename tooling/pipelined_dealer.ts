/**
 * A ZeroMQ DEALER for hostile-but-honest clients of the attack bench and its tests: it
 * reads everything (libzmq's I/O thread drains the connection whatever the caller does),
 * keeps several requests in flight, and tells replies apart by an envelope frame of its
 * own (the service returns every frame before the empty delimiter). Its connection can
 * start from a chosen loopback address (libzmq's `tcp://source:0;host:port` endpoints),
 * so one process can be many clients to a per-address rate limit. Waiting polls with
 * `ZMQ_DONTWAIT` and timers, so the event loop keeps running.
 *
 * @example
 * ```ts ignore
 * await using dealer = PipelinedDealer.open({ endpoint: "tcp://127.0.0.1:5555", source: "127.0.0.3" });
 * dealer.send("1", "ping");
 * console.log(await dealer.next(2000)); // { id: "1", reply: "pong", bytes: 4 }
 * ```
 *
 * @module
 */

import {
  bundledLibzmqPath,
  Libzmq,
  SocketOption,
  SocketType,
  ZmqContext,
  type ZmqSocket,
} from "../lib/zmq/mod.ts";
import { tcpAddress } from "./zmtp_speaker.ts";

const decoder = new TextDecoder();

/** Options of {@linkcode PipelinedDealer.open}. */
export interface PipelinedDealerOptions {
  /** Where the service listens, `tcp://host:port`. */
  endpoint: string;
  /** The loopback address the connection starts from (default: the system's choice). */
  source?: string;
  /** A context to open the socket in (default: one of its own, terminated with it). */
  context?: ZmqContext;
}

/** One reply: the id it was sent with, its text (the last frame), its size in bytes. */
export interface DealerReply {
  id: string;
  reply: string;
  bytes: number;
}

/**
 * The endpoint that makes libzmq connect from `source` (any free port) to `endpoint`.
 *
 * @example
 * ```ts
 * import { sourceBoundEndpoint } from "./pipelined_dealer.ts";
 * console.log(sourceBoundEndpoint("tcp://127.0.0.1:5555", "127.0.0.3"));
 * // tcp://127.0.0.3:0;127.0.0.1:5555
 * ```
 *
 * @param endpoint `tcp://host:port`
 * @param source the local address to connect from
 * @returns the source-bound endpoint
 */
export function sourceBoundEndpoint(endpoint: string, source: string): string {
  const { hostname, port } = tcpAddress(endpoint);
  return `tcp://${source}:0;${hostname}:${port}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A DEALER with requests in flight, told apart by id. */
export class PipelinedDealer implements AsyncDisposable {
  readonly #socket: ZmqSocket;
  readonly #ownContext: ZmqContext | undefined;
  #closed = false;

  private constructor(socket: ZmqSocket, ownContext: ZmqContext | undefined) {
    this.#socket = socket;
    this.#ownContext = ownContext;
  }

  /**
   * Opens and connects the socket (the connection itself is made in the background).
   *
   * @param options the endpoint, the source address, the context
   * @returns the dealer
   */
  static open(options: PipelinedDealerOptions): PipelinedDealer {
    const ownContext = options.context === undefined
      ? ZmqContext.create(Libzmq.open(bundledLibzmqPath()))
      : undefined;
    const socket = (options.context ?? ownContext!).socket(SocketType.DEALER);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.SNDTIMEO, 2000);
    socket.connect(
      options.source === undefined
        ? options.endpoint
        : sourceBoundEndpoint(options.endpoint, options.source),
    );
    return new PipelinedDealer(socket, ownContext);
  }

  /**
   * Sends a request with an id of its own; its reply comes back with the id.
   *
   * @param id at most 255 bytes
   * @param request the request text
   */
  send(id: string, request: string | Uint8Array): void {
    this.#socket.send([id, "", request]);
  }

  /**
   * Waits for the next reply.
   *
   * @param timeoutMs how long to wait
   * @returns the reply, or null when none came in time
   */
  async next(timeoutMs: number): Promise<DealerReply | null> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const frames = this.#socket.receive({ dontWait: true });
      if (frames !== null) {
        const last = frames.at(-1) ?? new Uint8Array(0);
        return {
          id: frames.length > 2 ? decoder.decode(frames[0]) : "",
          reply: decoder.decode(last),
          bytes: last.length,
        };
      }
      if (performance.now() >= deadline) return null;
      await sleep(1);
    }
  }

  /** Closes the socket (and its own context). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    await this.#ownContext?.terminate();
  }

  /** Closes the socket (and its own context). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

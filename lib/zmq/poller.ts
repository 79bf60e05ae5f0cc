/**
 * `zmq_poll` over several sockets, for one thread driving many.
 *
 * @module
 */

import { ZMQ_POLLIN, ZMQ_POLLOUT } from "./constants.ts";
import type { Libzmq } from "./library.ts";
import type { ZmqSocket } from "./socket.ts";

const POLL_ITEM_SIZE = 16;

/**
 * Waits on several sockets at once with `zmq_poll`, for one thread driving many sockets
 * (a load generator, a client with a timeout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq, SocketType, ZmqContext, ZmqPoller } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const context = ZmqContext.create(lib);
 * const a = context.socket(SocketType.PAIR);
 * const b = context.socket(SocketType.PAIR);
 * const peer = context.socket(SocketType.PAIR);
 * a.bind("inproc://a");
 * b.bind("inproc://b");
 * peer.connect("inproc://b");
 * peer.send("hello b");
 * const poller = new ZmqPoller(lib, [a, b]);
 * assert.equal(poller.poll(1000), 1); // one socket is readable:
 * assert.equal(poller.readable(0), false);
 * assert.equal(poller.readable(1), true);
 * [a, b, peer].forEach((socket) => socket.close());
 * await context.terminate();
 * ```
 */
export class ZmqPoller {
  readonly #lib: Libzmq;
  readonly #items: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  readonly #count: number;

  /**
   * @param lib the library the sockets belong to
   * @param sockets the sockets to watch for incoming messages
   */
  constructor(lib: Libzmq, sockets: ZmqSocket[]) {
    this.#lib = lib;
    this.#count = sockets.length;
    this.#items = new Uint8Array(POLL_ITEM_SIZE * sockets.length);
    this.#view = new DataView(this.#items.buffer);
    sockets.forEach((socket, i) => {
      const at = i * POLL_ITEM_SIZE;
      this.#view.setBigUint64(at, BigInt(Deno.UnsafePointer.value(socket.pointer)), true);
      this.#view.setInt16(at + 12, ZMQ_POLLIN, true);
    });
  }

  /**
   * Blocks until a socket has a message or the time runs out.
   *
   * @param timeoutMs milliseconds to wait; -1 waits forever
   * @returns how many sockets are readable
   */
  poll(timeoutMs: number): number {
    for (let i = 0; i < this.#count; i++) this.#view.setInt16(i * POLL_ITEM_SIZE + 14, 0, true);
    const ready = this.#lib.symbols.zmq_poll(this.#items, this.#count, BigInt(timeoutMs));
    if (ready < 0) throw this.#lib.lastError("zmq_poll");
    return ready;
  }

  /**
   * Chooses what the next polls wait for on one socket (all start with `ZMQ_POLLIN`).
   *
   * @param index the socket's position in the constructor's list
   * @param events `ZMQ_POLLIN`, `ZMQ_POLLOUT`, both (`|`), or 0 to leave it out
   */
  watch(index: number, events: number): void {
    this.#view.setInt16(index * POLL_ITEM_SIZE + 12, events, true);
  }

  /**
   * @param index the socket's position in the constructor's list
   * @returns whether the last poll found room to send on it (when `ZMQ_POLLOUT` was watched)
   */
  writable(index: number): boolean {
    return (this.#view.getInt16(index * POLL_ITEM_SIZE + 14, true) & ZMQ_POLLOUT) !== 0;
  }

  /**
   * @param index the socket's position in the constructor's list
   * @returns whether the last poll found a message waiting on it
   */
  readable(index: number): boolean {
    return (this.#view.getInt16(index * POLL_ITEM_SIZE + 14, true) & ZMQ_POLLIN) !== 0;
  }
}

/**
 * Watching a socket's connections (`zmq_socket_monitor`): libzmq sends an event for each
 * connection accepted, made or lost to a `PAIR` socket, with the connection's file
 * descriptor as the event's value.
 *
 * @module
 */

import { SocketOption, SocketType, ZMQ_DONTWAIT } from "./constants.ts";
import { cString } from "./library.ts";
import type { Libzmq } from "./library.ts";
import type { ZmqContext } from "./context.ts";
import type { ZmqSocket } from "./socket.ts";

/** One monitor event. */
export interface MonitorEventRecord {
  /** The event, a {@linkcode MonitorEvent} value. */
  event: number;
  /** Its value: the connection's file descriptor for accepted, closed and lost ones. */
  value: number;
}

/** Event frames are 6 bytes: a 16-bit event number, then a 32-bit value. */
const EVENT_FRAME_BYTES = 6;

/**
 * The receiving end of a socket's monitor. Create it on the thread that owns the
 * monitored socket; read it there with {@linkcode SocketMonitor.next}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   MonitorEvent,
 *   openLibzmq,
 *   SocketMonitor,
 *   SocketOption,
 *   SocketType,
 *   ZmqContext,
 * } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const context = ZmqContext.create(lib);
 * const server = context.socket(SocketType.ROUTER);
 * const monitor = SocketMonitor.start(context, server, MonitorEvent.ACCEPTED);
 * const port = server.bind("tcp://127.0.0.1:*");
 * const client = context.socket(SocketType.DEALER);
 * client.connect(port);
 * let event = monitor.next();
 * for (let tries = 0; event === null && tries < 100; tries++) {
 *   await new Promise((resolve) => setTimeout(resolve, 10));
 *   event = monitor.next();
 * }
 * assert.equal(event?.event, MonitorEvent.ACCEPTED);
 * assert.ok(event!.value > 2); // the accepted connection's descriptor
 * for (const socket of [client, server]) socket.setOption(SocketOption.LINGER, 0);
 * client.close();
 * monitor.close();
 * server.close();
 * await context.terminate();
 * ```
 */
export class SocketMonitor {
  readonly #lib: Libzmq;
  readonly #pair: ZmqSocket;
  readonly #frame = new Uint8Array(EVENT_FRAME_BYTES);
  readonly #view = new DataView(this.#frame.buffer);
  readonly #address = new Uint8Array(256);

  private constructor(lib: Libzmq, pair: ZmqSocket) {
    this.#lib = lib;
    this.#pair = pair;
  }

  /**
   * Starts monitoring a socket.
   *
   * @param context the context of the monitored socket
   * @param socket the socket to watch
   * @param events the {@linkcode MonitorEvent} values wanted, or-ed together
   * @returns the monitor, whose events can be read at once
   * @throws {ZmqError} when libzmq refuses the monitor
   */
  static start(context: ZmqContext, socket: ZmqSocket, events: number): SocketMonitor {
    const lib = context.lib;
    const endpoint = `inproc://geoipmq-monitor-${socket.address.toString(16)}`;
    if (lib.symbols.zmq_socket_monitor(socket.pointer, cString(endpoint), events) !== 0) {
      throw lib.lastError("zmq_socket_monitor");
    }
    const pair = context.socket(SocketType.PAIR);
    pair.setOption(SocketOption.LINGER, 0);
    pair.connect(endpoint);
    return new SocketMonitor(lib, pair);
  }

  /**
   * @returns the next event waiting, or null when none is (it never waits)
   */
  next(): MonitorEventRecord | null {
    const pair = this.#pair;
    const size = pair.tryReceiveFrameInto(this.#frame, ZMQ_DONTWAIT);
    if (size < 0) return null;
    // The second frame is the endpoint's address: read and drop it.
    while (pair.hasMore()) pair.receiveFrameInto(this.#address, 0);
    if (size !== EVENT_FRAME_BYTES) return { event: 0, value: -1 };
    const little = true; // libzmq writes the numbers in host order; Linux x86-64 and arm64
    return {
      event: this.#view.getUint16(0, little),
      value: this.#view.getUint32(2, little) | 0,
    };
  }

  /** Closes the receiving end (the monitored socket's side ends with it). */
  close(): void {
    this.#pair.close();
  }

  /** The library, for callers that need libc calls on the descriptors. */
  get lib(): Libzmq {
    return this.#lib;
  }
}

/**
 * Watching a socket's connections (`zmq_socket_monitor`): libzmq sends an event for each
 * connection accepted, made or lost to a `PAIR` socket, with the connection's file
 * descriptor as the event's value.
 *
 * @module
 */

import { SocketOption, SocketType, ZMQ_DONTWAIT } from "./constants.ts";
import type { Libzmq } from "./library.ts";
import type { ZmqContext } from "./context.ts";
import { ZmqSocket } from "./socket.ts";

/** One monitor event. */
export interface MonitorEventRecord {
  /** The event, a {@linkcode MonitorEvent} value. */
  event: number;
  /** Its value: the connection's file descriptor for accepted, closed and lost ones. */
  value: number;
  /** The endpoint it concerns, as libzmq writes it (e.g. `tcp://127.0.0.1:5556`). */
  address: string;
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
  readonly #address = new Uint8Array(1024);
  readonly #decoder = new TextDecoder();

  private constructor(lib: Libzmq, pair: ZmqSocket) {
    this.#lib = lib;
    this.#pair = pair;
  }

  /**
   * Starts monitoring a socket. libzmq allows one monitor per socket: a second replaces
   * the first. Start it before the socket binds or connects, to miss no connection.
   *
   * @param context the context of the monitored socket
   * @param socket the socket to watch
   * @param events the {@linkcode MonitorEvent} values wanted, or-ed together
   * @returns the monitor, whose events can be read at once
   * @throws {ZmqError} when libzmq refuses the monitor
   */
  static start(context: ZmqContext, socket: ZmqSocket, events: number): SocketMonitor {
    const endpoint = `inproc://geoipmq-monitor-${crypto.randomUUID()}`;
    socket.monitor(endpoint, events);
    const pair = context.socket(SocketType.PAIR);
    try {
      pair.setOption(SocketOption.LINGER, 0);
      pair.connect(endpoint);
    } catch (error) {
      pair.close();
      throw error;
    }
    return new SocketMonitor(context.lib, pair);
  }

  /**
   * Takes over, on another thread, a monitor started elsewhere (its events wait for it).
   *
   * @param lib the library, opened on this thread
   * @param address the other side's {@linkcode SocketMonitor.address}
   * @returns the monitor
   */
  static adopt(lib: Libzmq, address: bigint): SocketMonitor {
    return new SocketMonitor(lib, ZmqSocket.adopt(lib, address));
  }

  /** The socket events arrive on (to close it when the monitor is never adopted). */
  get socket(): ZmqSocket {
    return this.#pair;
  }

  /** The address of the socket events arrive on, to hand the monitor to a Worker. */
  get address(): bigint {
    return this.#pair.address;
  }

  /**
   * @returns the next event waiting, or null when none is (it never waits)
   */
  next(): MonitorEventRecord | null {
    const pair = this.#pair;
    const size = pair.tryReceiveFrameInto(this.#frame, ZMQ_DONTWAIT);
    if (size < 0) return null;
    // The second frame is the endpoint's address.
    let length = 0;
    while (pair.hasMore()) length = pair.receiveFrameInto(this.#address, 0);
    const address = this.#decoder.decode(
      this.#address.subarray(0, Math.min(length, this.#address.length)),
    );
    if (size !== EVENT_FRAME_BYTES) return { event: 0, value: -1, address };
    const little = true; // libzmq writes the numbers in host order; Linux x86-64 and arm64
    return {
      event: this.#view.getUint16(0, little),
      value: this.#view.getUint32(2, little) | 0,
      address,
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

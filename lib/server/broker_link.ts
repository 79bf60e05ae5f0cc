/**
 * Whether an instance started with `--connect` is connected to its brokers: a socket
 * monitor on the ROUTER reports each connection the ROUTER makes (`CONNECTED`, with its
 * file descriptor) and each that ends (`DISCONNECTED`); the main thread reads them
 * without blocking (`zmq_poll` on another thread). libzmq reconnects by itself after a
 * broker goes away (`CONNECT_RETRIED` says it will), but not after a protocol error; when a
 * lost connection is not retried within {@linkcode STUCK_MS} and no broker is connected,
 * `onStuck` is told, to connect again.
 *
 * @module
 */

import {
  isInterrupted,
  isTerminated,
  type Libzmq,
  MonitorEvent,
  SocketOption,
  SocketType,
  ZMQ_POLLIN,
  type ZmqContext,
  type ZmqSocket,
} from "../zmq/mod.ts";

/** How long after a connection is lost libzmq must have said it will try again. */
export const STUCK_MS = 1000;

/** Who is told what, for {@linkcode BrokerLink.watch}. */
export interface BrokerLinkHandlers {
  /** Told when a connection is lost and when one is back. */
  onEvent?: (event: BrokerLinkEvent) => void;
  /** Told (again every {@linkcode STUCK_MS}) while libzmq has given every broker up. */
  onStuck?: () => void;
  /** Told the number of connections up whenever it changes. */
  onCount?: (connected: number) => void;
}

/** A change of the connections to the brokers. */
export interface BrokerLinkEvent {
  /** "lost" when a connection ended, "back" when one came up after a loss. */
  type: "lost" | "back";
  /**
   * The broker: its `--connect` endpoint when there is one, else the address libzmq gives
   * (e.g. `tcp://127.0.0.1:5556`).
   */
  address: string;
  /** Brokers connected now. */
  connected: number;
}

/**
 * Watches the connections of a ROUTER that connects to brokers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq, SocketType, ZmqContext } from "../zmq/mod.ts";
 * import { BrokerLink } from "./broker_link.ts";
 * const lib = openLibzmq(undefined);
 * const context = ZmqContext.create(lib);
 * const broker = context.socket(SocketType.DEALER);
 * const endpoint = broker.bind("tcp://127.0.0.1:*");
 * const router = context.socket(SocketType.ROUTER);
 * const link = BrokerLink.watch(context, router, [endpoint]);
 * router.connect(endpoint);
 * while (link.connected === 0) await new Promise((resolve) => setTimeout(resolve, 10));
 * assert.deepEqual(link.health(), { ok: true, reason: "" });
 * router.close();
 * broker.close();
 * context.shutdown();
 * await link.stopped;
 * await context.terminate();
 * ```
 */
export class BrokerLink {
  /** The endpoints connected to (`--connect`). */
  readonly endpoints: readonly string[];
  /** Settles when the context is shut down and the monitor's socket is closed. */
  readonly stopped: Promise<void>;
  readonly #open = new Map<number, string>();
  readonly #handlers: BrokerLinkHandlers;
  #lost = false;
  #retried = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    lib: Libzmq,
    pair: ZmqSocket,
    endpoints: readonly string[],
    handlers: BrokerLinkHandlers,
  ) {
    this.endpoints = endpoints;
    this.#handlers = handlers;
    this.stopped = this.#read(lib, pair);
  }

  /**
   * Starts monitoring a socket before it connects (call it on the thread that owns the
   * socket, before handing it over). The reading ends when the context is shut down.
   *
   * @param context the socket's context
   * @param router the socket that will connect to `endpoints`
   * @param endpoints the endpoints it connects to
   * @param handlers told when a connection is lost or back, and when libzmq gave up
   * @returns the link
   */
  static watch(
    context: ZmqContext,
    router: ZmqSocket,
    endpoints: readonly string[],
    handlers: BrokerLinkHandlers = {},
  ): BrokerLink {
    const endpoint = `inproc://geoipmq-monitor-${crypto.randomUUID()}`;
    router.monitor(
      endpoint,
      MonitorEvent.CONNECTED | MonitorEvent.DISCONNECTED | MonitorEvent.CONNECT_RETRIED,
    );
    const pair = context.socket(SocketType.PAIR);
    try {
      pair.setOption(SocketOption.LINGER, 0);
      pair.connect(endpoint);
    } catch (error) {
      pair.close();
      throw error;
    }
    return new BrokerLink(context.lib, pair, endpoints, handlers);
  }

  /** How many connections to brokers are up. */
  get connected(): number {
    return this.#open.size;
  }

  /** @returns whether every broker is connected, and if not, which are missing */
  health(): { ok: boolean; reason: string } {
    const missing = this.endpoints.length - this.#open.size;
    if (missing <= 0) return { ok: true, reason: "" };
    return {
      ok: false,
      reason: this.endpoints.length === 1
        ? `not connected to the broker at ${this.endpoints[0]}`
        : `connected to ${this.#open.size} of ${this.endpoints.length} brokers ` +
          `(${this.endpoints.join(", ")})`,
    };
  }

  async #read(lib: Libzmq, pair: ZmqSocket): Promise<void> {
    const items = new Uint8Array(16);
    const view = new DataView(items.buffer);
    view.setBigUint64(0, BigInt(Deno.UnsafePointer.value(pair.pointer)), true);
    view.setInt16(12, ZMQ_POLLIN, true);
    try {
      while (true) {
        view.setInt16(14, 0, true);
        // -1 for ever: the context's shutdown ends the wait (ETERM, found out below).
        await lib.pollAsync(items, 1, -1);
        try {
          let frames: Uint8Array[] | null;
          while ((frames = pair.receive({ dontWait: true })) !== null) this.#take(frames);
        } catch (error) {
          if (isTerminated(error)) return;
          if (!isInterrupted(error)) throw error;
        }
      }
    } finally {
      clearTimeout(this.#timer);
      pair.close();
    }
  }

  #take(frames: Uint8Array[]): void {
    const head = frames[0];
    if (head === undefined || head.length < 6) return;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const event = view.getUint16(0, true);
    const fd = view.getUint32(2, true);
    // Named as given when there is one (libzmq may write 127.0.0.1 as ::ffff:127.0.0.1).
    const address = this.endpoints.length === 1
      ? this.endpoints[0]!
      : new TextDecoder().decode(frames[1] ?? new Uint8Array(0));
    if (event === MonitorEvent.CONNECTED) {
      this.#open.set(fd, address);
      this.#handlers.onCount?.(this.#open.size);
      if (this.#lost) {
        if (this.#open.size >= this.endpoints.length) this.#lost = false;
        this.#handlers.onEvent?.({ type: "back", address, connected: this.#open.size });
      }
    } else if (event === MonitorEvent.CONNECT_RETRIED) {
      this.#retried = true;
    } else if (event === MonitorEvent.DISCONNECTED && this.#open.has(fd)) {
      // Only the connections this socket made: accepted ones never were in the map.
      const known = this.#open.get(fd)!;
      this.#open.delete(fd);
      this.#handlers.onCount?.(this.#open.size);
      this.#lost = true;
      this.#handlers.onEvent?.({ type: "lost", address: known, connected: this.#open.size });
      this.#retried = false;
      this.#watchRetry();
    }
  }

  /**
   * After a loss: unless libzmq says it will try again, or a broker is connected, within
   * {@linkcode STUCK_MS}, asks for a new connection (and looks again after as long).
   */
  #watchRetry(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#retried || this.#open.size > 0) return;
      this.#handlers.onStuck?.();
      this.#watchRetry();
    }, STUCK_MS);
    Deno.unrefTimer(this.#timer);
  }
}

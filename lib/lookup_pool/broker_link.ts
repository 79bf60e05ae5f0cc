/**
 * Whether an instance started with `--connect` is connected to its brokers: the ROUTER's
 * socket monitor (read by the router worker, which owns the ROUTER, and passed on to the
 * main thread) reports each connection the ROUTER makes (`CONNECTED`, with its file
 * descriptor) and each that ends (`DISCONNECTED`). libzmq reconnects by itself after a
 * broker goes away (`CONNECT_RETRIED` says it will), but not after a protocol error;
 * when a lost connection is not retried within {@linkcode STUCK_MS} and no broker is
 * connected, `onStuck` is told, to connect again.
 *
 * @module
 */

import { MonitorEvent } from "../zmq/mod.ts";

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
 * Follows the connections of a ROUTER that connects to brokers, from its monitor's
 * events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MonitorEvent } from "../zmq/mod.ts";
 * import { BrokerLink } from "./broker_link.ts";
 * const events: string[] = [];
 * const link = new BrokerLink(["tcp://127.0.0.1:5556"], {
 *   onEvent: (event) => events.push(`${event.type} ${event.connected}`),
 * });
 * assert.equal(link.health().ok, false);
 * link.take(MonitorEvent.CONNECTED, 12, "tcp://127.0.0.1:5556");
 * assert.deepEqual(link.health(), { ok: true, reason: "" });
 * link.take(MonitorEvent.DISCONNECTED, 12, "tcp://127.0.0.1:5556");
 * link.take(MonitorEvent.CONNECT_RETRIED, 100, "tcp://127.0.0.1:5556");
 * link.take(MonitorEvent.CONNECTED, 13, "tcp://127.0.0.1:5556");
 * assert.deepEqual(events, ["lost 0", "back 1"]);
 * link.close();
 * ```
 */
export class BrokerLink {
  /** The endpoints connected to (`--connect`). */
  readonly endpoints: readonly string[];
  readonly #open = new Map<number, string>();
  readonly #handlers: BrokerLinkHandlers;
  #lost = false;
  #retried = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param endpoints the endpoints the ROUTER connects to
   * @param handlers told when a connection is lost or back, and when libzmq gave up
   */
  constructor(endpoints: readonly string[], handlers: BrokerLinkHandlers = {}) {
    this.endpoints = endpoints;
    this.#handlers = handlers;
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

  /**
   * Takes one event of the ROUTER's monitor.
   *
   * @param event a {@linkcode MonitorEvent} value
   * @param fd its value (the connection's descriptor, for connections)
   * @param endpoint the endpoint libzmq names
   */
  take(event: number, fd: number, endpoint: string): void {
    // Named as given when there is one (libzmq may write 127.0.0.1 as ::ffff:127.0.0.1).
    const address = this.endpoints.length === 1 ? this.endpoints[0]! : endpoint;
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

  /** Stops its timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
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

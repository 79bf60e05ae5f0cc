/**
 * The scale-out broker: a ROUTER that front ends connect to and a DEALER that geoipmq
 * instances connect to (`geoipmq --connect`), joined by libzmq's own `zmq_proxy`. The
 * DEALER spreads requests over the instances connected at the moment, so instances can
 * come and go; a request lost with an instance is retried by the client (Lazy Pirate).
 *
 * @module
 */

import { type Libzmq, SocketOption, SocketType, ZmqContext, type ZmqSocket } from "../zmq/mod.ts";

/** Options for {@linkcode GeoipBroker.start}. */
export interface BrokerOptions {
  /** The loaded libzmq. */
  lib: Libzmq;
  /** Endpoints front ends connect to. */
  frontend: string[];
  /** Endpoints geoipmq instances connect to. */
  backend: string[];
  /**
   * The largest frame a front end may send (`ZMQ_MAXMSGSIZE` on the front end; default
   * 65,536, the instances' own default): a larger one cuts that front end off at the
   * broker, so it never reaches, and never disconnects, an instance.
   */
  maxRequestBytes?: number;
}

/** The default largest frame through the broker: an instance's default request limit. */
export const BROKER_MAX_REQUEST_BYTES = 64 * 1024;

/**
 * A running broker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "../cli/mod.ts";
 * import { Logger } from "../log/mod.ts";
 * import { startService } from "../server/mod.ts";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { GeoipBroker, GeoipClient } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const endpoints = ["tcp://127.0.0.1:*"]; // e.g. ["tcp://*:5555"] and ["tcp://*:5556"]
 * const broker = GeoipBroker.start({ lib, frontend: endpoints, backend: endpoints });
 * // An instance connects to the back end: `geoipmq --connect tcp://broker:5556`.
 * const serve = parseCommand(["--connect", broker.backendEndpoints[0]!, "--workers", "1"], {});
 * if (serve.name !== "serve") throw new Error("not serve");
 * const service = await startService(serve.options, { log: new Logger({ write: () => {} }) });
 * // Clients connect to the front end.
 * const client = new GeoipClient({ endpoints: [...broker.frontendEndpoints], lib });
 * assert.equal((await client.lookup("81.2.69.160"))?.countryCode, "GB");
 * await client.close();
 * await service.stop();
 * await broker.stop();
 * ```
 */
export class GeoipBroker {
  /** The front-end endpoints bound. */
  readonly frontendEndpoints: readonly string[];
  /** The back-end endpoints bound. */
  readonly backendEndpoints: readonly string[];
  readonly #context: ZmqContext;
  readonly #sockets: ZmqSocket[];
  readonly #proxy: Promise<void>;
  #stopping: Promise<void> | undefined;

  private constructor(
    context: ZmqContext,
    sockets: [ZmqSocket, ZmqSocket],
    endpoints: [string[], string[]],
  ) {
    this.#context = context;
    this.#sockets = sockets;
    this.frontendEndpoints = endpoints[0];
    this.backendEndpoints = endpoints[1];
    this.#proxy = context.proxy(sockets[0], sockets[1]);
  }

  /**
   * Binds both sides and starts forwarding (on a libzmq thread).
   *
   * @param options the library and the endpoints
   * @returns the running broker
   * @throws {ZmqError} when an endpoint cannot be bound; nothing is left running
   */
  static start(options: BrokerOptions): GeoipBroker {
    const context = ZmqContext.create(options.lib);
    const sockets: ZmqSocket[] = [];
    try {
      const frontend = context.socket(SocketType.ROUTER);
      sockets.push(frontend);
      frontend.setMaxMessageSize(options.maxRequestBytes ?? BROKER_MAX_REQUEST_BYTES);
      const backend = context.socket(SocketType.DEALER);
      sockets.push(backend);
      const bind = (socket: ZmqSocket, endpoints: string[]) =>
        endpoints.map((endpoint) => {
          socket.setOption(SocketOption.LINGER, 0);
          socket.setOption(SocketOption.IPV6, /^tcp:\/\/(\[|\*:)/.test(endpoint) ? 1 : 0);
          return socket.bind(endpoint);
        });
      const bound: [string[], string[]] = [
        bind(frontend, options.frontend),
        bind(backend, options.backend),
      ];
      return new GeoipBroker(context, [frontend, backend], bound);
    } catch (error) {
      for (const socket of sockets) socket.close();
      context.terminate();
      throw error;
    }
  }

  /**
   * Stops forwarding and closes everything.
   *
   * @returns a promise that settles when the context is gone
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#context.shutdown();
      await this.#proxy;
      for (const socket of this.#sockets) socket.close();
      await this.#context.terminate();
    })();
    return this.#stopping;
  }
}

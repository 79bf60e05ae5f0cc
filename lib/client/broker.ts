/**
 * The scale-out broker: a ROUTER that front ends connect to and a DEALER that geoipmq
 * instances connect to (`geoipmq --connect`), joined by a forwarding loop on a worker
 * thread (`broker_loop.ts`). The DEALER spreads requests over the instances connected at
 * the moment, so instances can come and go; a request lost with an instance is retried by
 * the client (Lazy Pirate). A request an instance would refuse is answered `ERROR` by the
 * broker and never forwarded.
 *
 * @module
 */

import {
  type Libzmq,
  SocketOption,
  SocketType,
  wantsIpv6,
  ZmqContext,
  type ZmqSocket,
} from "../zmq/mod.ts";
import { type Update, WorkerHandle } from "../worker/mod.ts";
import type { BrokerTally } from "./broker_loop.ts";
import type { BrokerSetup } from "./broker_worker.ts";

/** Options for {@linkcode GeoipBroker.start}. */
export interface BrokerOptions {
  /** The loaded libzmq. */
  lib: Libzmq;
  /** Endpoints front ends connect to. */
  frontend: string[];
  /** Endpoints geoipmq instances connect to. */
  backend: string[];
  /**
   * The largest frame passed on to an instance (default 65,536, the instances' own
   * default). A request with a larger frame is answered `ERROR` by the broker; a frame
   * more than {@linkcode BROKER_CUTOFF_MARGIN} bytes larger cuts its sender off
   * (`ZMQ_MAXMSGSIZE` on the front end), before the broker holds it.
   */
  maxRequestBytes?: number;
}

/** The default largest frame through the broker: an instance's default request limit. */
export const BROKER_MAX_REQUEST_BYTES = 64 * 1024;

/**
 * How far over the limit a frame may be and still be answered `ERROR`; a larger one cuts
 * its sender off at the broker.
 */
export const BROKER_CUTOFF_MARGIN = 1024 * 1024;

const STOP_TIMEOUT_MS = 5000;

/**
 * A running broker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "../cli/mod.ts";
 * import { Logger } from "../log/mod.ts";
 * import { startService } from "../service/mod.ts";
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
  /** Settles with a message if the forwarding loop fails (it does not when stopped). */
  readonly failed: Promise<string>;
  readonly #context: ZmqContext;
  /** The two sockets, closed here only if the worker that owns them never stopped. */
  readonly #sockets: [ZmqSocket, ZmqSocket];
  readonly #worker: WorkerHandle<BrokerSetup, Update, BrokerTally>;
  #tally: BrokerTally = { forwarded: 0, refused: 0, dropped: 0 };
  #stopping: Promise<void> | undefined;

  private constructor(
    context: ZmqContext,
    sockets: [ZmqSocket, ZmqSocket],
    endpoints: [string[], string[]],
    maxRequestBytes: number,
  ) {
    this.#context = context;
    this.#sockets = sockets;
    this.frontendEndpoints = endpoints[0];
    this.backendEndpoints = endpoints[1];
    // The worker owns both sockets from here on, and closes them.
    this.#worker = WorkerHandle.spawn(new URL("./broker_worker.ts", import.meta.url), {
      libzmqPath: context.lib.path,
      frontendAddress: sockets[0].address,
      backendAddress: sockets[1].address,
      maxRequestBytes,
    }, { name: "broker", onEvent: (tally) => this.#tally = tally });
    this.failed = this.#worker.failed;
  }

  /** What the broker counted; complete once {@linkcode GeoipBroker.stop} has settled. */
  get tally(): BrokerTally {
    return this.#tally;
  }

  /**
   * Binds both sides and starts forwarding (on a worker thread).
   *
   * @param options the library and the endpoints
   * @returns the running broker
   * @throws {ZmqError} when an endpoint cannot be bound; nothing is left running
   */
  static start(options: BrokerOptions): GeoipBroker {
    const context = ZmqContext.create(options.lib);
    const sockets: ZmqSocket[] = [];
    try {
      const maxRequestBytes = options.maxRequestBytes ?? BROKER_MAX_REQUEST_BYTES;
      const frontend = context.socket(SocketType.ROUTER);
      sockets.push(frontend);
      frontend.setMaxMessageSize(maxRequestBytes + BROKER_CUTOFF_MARGIN);
      const backend = context.socket(SocketType.DEALER);
      sockets.push(backend);
      const bind = (socket: ZmqSocket, endpoints: string[]) =>
        endpoints.map((endpoint) => {
          socket.setOption(SocketOption.LINGER, 0);
          socket.setOption(SocketOption.IPV6, wantsIpv6(endpoint) ? 1 : 0);
          return socket.bind(endpoint);
        });
      const bound: [string[], string[]] = [
        bind(frontend, options.frontend),
        bind(backend, options.backend),
      ];
      return new GeoipBroker(context, [frontend, backend], bound, maxRequestBytes);
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
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = await Promise.race([
        this.#worker.stopped.then(() => true),
        new Promise<boolean>((resolve) =>
          timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS)
        ),
      ]);
      clearTimeout(timer);
      this.#worker.terminate();
      // A worker that did not stop in time (on a loaded machine it may not even have
      // started) never closed its sockets, and the context's end would wait for them forever.
      if (!stopped) { for (const socket of this.#sockets) socket.close(); }
      await this.#context.terminate();
    })();
    return this.#stopping;
  }
}

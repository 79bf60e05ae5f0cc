/**
 * The geoipmq server, after the ZeroMQ Guide's multithreaded server: a ROUTER bound to
 * every endpoint, an `inproc://` DEALER to a pool of REP workers, and lookup workers (Web
 * Workers with blocking receive loops) that share one copy of the database.
 *
 * Unlike the Guide's version there is no proxy thread: worker 0 owns the ROUTER and
 * answers small requests itself, which spares every such request two thread hand-offs,
 * and passes larger ones (batches) to the pool. See `front_end_loop.ts`.
 *
 * @module
 */

import type { GeoDatabase } from "./geo_database.ts";
import { type Libzmq, SocketOption, SocketType, ZmqContext, type ZmqSocket } from "./libzmq.ts";
import type { WorkerEvent, WorkerSetup } from "./lookup_worker.ts";
import type { RequestLimits } from "./protocol.ts";

/** Options for {@linkcode GeoipServer.start}. */
export interface ServerOptions {
  /** The loaded libzmq. */
  lib: Libzmq;
  /** The database to serve; its bytes must be in a `SharedArrayBuffer`. */
  database: GeoDatabase;
  /** Endpoints to bind, e.g. `tcp://127.0.0.1:5555`; `tcp://127.0.0.1:*` picks a port. */
  bind: string[];
  /** How many lookup workers to run. */
  workers: number;
  /** Request bounds. */
  limits: RequestLimits;
  /** Entries in each worker's caches of rendered answers; 0 disables them. */
  cacheEntries: number;
  /** geoipmq's version, for `info`. */
  version: string;
}

const STOP_TIMEOUT_MS = 5000;
/** The most characters each cache of a worker holds (8 Mi: 8 to 16 MiB of strings). */
export const CACHE_MAX_CHARS = 8 * 1024 * 1024;

/**
 * A running server. Start it with {@linkcode GeoipServer.start}, stop it with
 * {@linkcode GeoipServer.stop}; several can run in one process.
 *
 * @example
 * ```ts ignore
 * const server = await GeoipServer.start({ lib, database, bind: ["tcp://127.0.0.1:*"],
 *   workers: 2, limits: DEFAULT_LIMITS, cacheEntries: 100_000, version: VERSION });
 * console.log(server.endpoints); // ["tcp://127.0.0.1:41234"]
 * await server.stop();
 * ```
 */
export class GeoipServer {
  /** The endpoints bound, with the ports actually chosen. */
  readonly endpoints: readonly string[];
  /** How many workers serve. */
  readonly workerCount: number;
  readonly #context: ZmqContext;
  readonly #workers: Worker[];
  readonly #stopped: Promise<void>[];
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    endpoints: string[];
    context: ZmqContext;
    workers: Worker[];
    stopped: Promise<void>[];
  }) {
    this.endpoints = parts.endpoints;
    this.workerCount = parts.workers.length;
    this.#context = parts.context;
    this.#workers = parts.workers;
    this.#stopped = parts.stopped;
  }

  /**
   * Binds every endpoint, starts the workers and waits until all of them are ready.
   * The sockets are made and bound here, so a bad endpoint fails the start; then the
   * ROUTER and the pool's DEALER are handed to worker 0, the front end.
   *
   * @param options what to serve and where
   * @returns the running server
   * @throws {ZmqError} when an endpoint cannot be bound; nothing is left running
   */
  static async start(options: ServerOptions): Promise<GeoipServer> {
    const context = ZmqContext.create(options.lib);
    const sockets: ZmqSocket[] = [];
    const workers: Worker[] = [];
    try {
      const router = context.socket(SocketType.ROUTER);
      sockets.push(router);
      router.setOption(SocketOption.LINGER, 0);
      const endpoints = options.bind.map((endpoint) => {
        router.setOption(SocketOption.IPV6, wantsIpv6(endpoint) ? 1 : 0);
        return router.bind(endpoint);
      });
      const poolEndpoint = `inproc://geoipmq-pool-${crypto.randomUUID()}`;
      let pool: ZmqSocket | null = null;
      if (options.workers > 1) {
        pool = context.socket(SocketType.DEALER);
        sockets.push(pool);
        pool.setOption(SocketOption.LINGER, 0);
        pool.bind(poolEndpoint);
      }

      const common: Omit<WorkerSetup, "worker"> = {
        libzmqPath: options.lib.path,
        contextAddress: context.address,
        databaseBytes: options.database.bytes as Uint8Array<SharedArrayBuffer>,
        databaseSource: options.database.source,
        limits: options.limits,
        server: {
          version: options.version,
          libzmqVersion: options.lib.version(),
          startedAt: Date.now(),
        },
        cache: { maxEntries: options.cacheEntries, maxChars: CACHE_MAX_CHARS },
      };
      const ready: Promise<void>[] = [];
      const stopped: Promise<void>[] = [];
      for (let i = 0; i < options.workers; i++) {
        const worker = new Worker(new URL("./lookup_worker.ts", import.meta.url), {
          type: "module",
          name: `geoipmq-worker-${i}`,
        });
        workers.push(worker);
        const events = watchWorker(worker);
        ready.push(events.ready);
        stopped.push(events.stopped);
        const role: Partial<WorkerSetup> = i === 0
          ? { frontEnd: { routerAddress: router.address, poolAddress: pool?.address ?? 0n } }
          : { poolEndpoint };
        worker.postMessage({ ...common, ...role, worker: i } satisfies WorkerSetup);
      }
      // The front end owns the ROUTER and the DEALER from here on, and closes them.
      sockets.length = 0;
      await Promise.all(ready);
      return new GeoipServer({ endpoints, context, workers, stopped });
    } catch (error) {
      context.shutdown();
      for (const socket of sockets) socket.close();
      for (const worker of workers) worker.terminate();
      await context.terminate();
      throw error;
    }
  }

  /**
   * Stops serving: shuts the context down (every worker's receive fails with `ETERM`,
   * and each closes its sockets), ends the workers and destroys the context. Calling it
   * again returns the same promise.
   *
   * @returns a promise that settles when everything is closed
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#context.shutdown();
    await withTimeout(Promise.allSettled(this.#stopped), STOP_TIMEOUT_MS);
    for (const worker of this.#workers) worker.terminate();
    await this.#context.terminate();
  }
}

/**
 * Whether a TCP endpoint needs `ZMQ_IPV6`: an IPv6 literal, or a wildcard (dual stack).
 *
 * @param endpoint e.g. `tcp://[::1]:5555`
 * @returns true when the socket should accept IPv6
 */
function wantsIpv6(endpoint: string): boolean {
  return /^tcp:\/\/(\[|\*:)/.test(endpoint);
}

function watchWorker(worker: Worker): { ready: Promise<void>; stopped: Promise<void> } {
  const ready = Promise.withResolvers<void>();
  const stopped = Promise.withResolvers<void>();
  worker.onmessage = (event: MessageEvent<WorkerEvent>) => {
    const message = event.data;
    if (message.type === "ready") ready.resolve();
    else if (message.type === "stopped") stopped.resolve();
    else {
      const error = new Error(`Lookup worker failed: ${message.message}`);
      ready.reject(error);
      stopped.resolve();
    }
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    ready.reject(new Error(`Lookup worker failed: ${event.message}`));
    stopped.resolve();
  };
  return { ready: ready.promise, stopped: stopped.promise };
}

async function withTimeout(promise: Promise<unknown>, milliseconds: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, milliseconds));
  await Promise.race([promise, timeout]);
  clearTimeout(timer);
}

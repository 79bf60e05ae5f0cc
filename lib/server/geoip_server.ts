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

import type { GeoDatabase } from "../database/geo_database.ts";
import {
  Errno,
  type Libzmq,
  SocketBytesOption,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqError,
  type ZmqSocket,
} from "../zmq/libzmq.ts";
import { LoopControl } from "./loop_control.ts";
import type { DatabaseSwitch, WorkerEvent, WorkerSetup } from "./lookup_worker.ts";
import type { RequestLimits } from "../protocol/request.ts";
import { ServiceMetrics } from "../metrics/service_metrics.ts";
import { type Refusal, ZapAuthenticator } from "../curve/zap_authenticator.ts";

/** Options for {@linkcode GeoipServer.start}. */
export interface ServerOptions {
  /** The loaded libzmq. */
  lib: Libzmq;
  /** The database to serve; its bytes must be in a `SharedArrayBuffer`. */
  database: GeoDatabase;
  /** Endpoints to bind, e.g. `tcp://127.0.0.1:5555`; `tcp://127.0.0.1:*` picks a port. */
  bind: string[];
  /** Endpoints to connect to, e.g. a broker's back end (default none). */
  connect?: string[];
  /** How many lookup workers to run. */
  workers: number;
  /** Request bounds. */
  limits: RequestLimits;
  /** Entries in each worker's caches of rendered answers; 0 disables them. */
  cacheEntries: number;
  /** Characters each of a worker's caches may hold (default {@linkcode CACHE_MAX_CHARS}). */
  cacheChars?: number;
  /** geoipmq's version, for `info`. */
  version: string;
  /** The lookup worker's module (default `lookup_worker.ts`; tests swap in a faulty one). */
  workerModule?: URL;
  /** Told when a worker fails and when a pool worker has been replaced. */
  onWorkerEvent?: (event: WorkerLifeEvent) => void;
  /** Where the workers count requests (default: a new one). */
  metrics?: ServiceMetrics;
  /**
   * Messages queued per client connection each way (`ZMQ_SNDHWM`, `ZMQ_RCVHWM` on the
   * ROUTER; default {@linkcode DEFAULT_HWM}).
   */
  hwm?: number;
  /** CURVE on every endpoint, with an allow-list of clients; default: off. */
  curve?: CurveOptions;
}

/** CURVE settings of a server. */
export interface CurveOptions {
  /** The server's secret key, 32 bytes. */
  secretKey: Uint8Array;
  /** The client public keys let in, in Z85. */
  allowList: readonly string[];
  /** Called for refused clients, at most once per key per 10 s. */
  onRefused?: (refusal: Refusal) => void;
}

/** The default high-water mark: libzmq's own. */
export const DEFAULT_HWM = 1000;

/** The ZAP domain of the ROUTER, as ZAP requests name it. */
export const ZAP_DOMAIN = "geoipmq";

/**
 * What CURVE adds to each frame on the wire: the `MESSAGE` command name (8 bytes), its
 * nonce (8), the box's authenticator (16) and the frame's flags byte (1).
 */
export const CURVE_FRAME_OVERHEAD = 33;

/**
 * The smallest `ZMQ_MAXMSGSIZE` set: the limit applies to the handshake's commands too,
 * and a CURVE INITIATE with a 255-byte routing id is about 540 bytes.
 */
export const MIN_FRAME_LIMIT = 1024;

/**
 * The `ZMQ_MAXMSGSIZE` for a request limit. libzmq applies it to every frame as read from
 * the wire, before buffering it, and drops the connection of a peer that sends a larger
 * one; so a request of `maxRequestBytes` passes and one byte more cuts the peer off
 * (under CURVE the limit allows for the encryption's overhead). Envelope frames (the
 * empty delimiter) are far smaller. Limits below {@linkcode MIN_FRAME_LIMIT} leave the
 * handshake room: requests between the limit and that size get an `ERROR` reply.
 *
 * @example
 * ```ts
 * import { frameLimit } from "./geoip_server.ts";
 * console.log(frameLimit(65536, false)); // 65536
 * console.log(frameLimit(65536, true)); // 65569
 * console.log(frameLimit(100, false)); // 1024
 * ```
 *
 * @param maxRequestBytes the largest request accepted
 * @param curve whether CURVE is on
 * @returns the largest frame a peer may send
 */
export function frameLimit(maxRequestBytes: number, curve: boolean): number {
  return Math.max(maxRequestBytes + (curve ? CURVE_FRAME_OVERHEAD : 0), MIN_FRAME_LIMIT);
}

const STOP_TIMEOUT_MS = 8000;
const SWITCH_TIMEOUT_MS = 10_000;
/** The default most characters (or bytes) each cache of a worker holds: 8 Mi. */
export const CACHE_MAX_CHARS = 8 * 1024 * 1024;

/** A worker failed (and, for a pool worker, was replaced). */
export interface WorkerLifeEvent {
  type: "failed" | "replaced";
  /** The worker's number: 0 is the front end, which is not replaced. */
  worker: number;
  /** Why it failed. */
  message: string;
}

/** One worker as the main thread sees it. */
interface WorkerHandle {
  worker: Worker;
  ready: Promise<void>;
  stopped: Promise<void>;
  alive: boolean;
  switched: (generation: number) => Promise<void>;
  /** Settles with the reason when the worker ends with a failure. */
  failed: Promise<string>;
}

/**
 * A running server. Start it with {@linkcode GeoipServer.start}, switch its database with
 * {@linkcode GeoipServer.switchDatabase}, stop it with {@linkcode GeoipServer.stop};
 * several can run in one process.
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
  /** Where the workers count requests. */
  readonly metrics: ServiceMetrics;
  /** The ZAP handler checking CURVE clients, or undefined when CURVE is off. */
  readonly authenticator: ZapAuthenticator | undefined;
  readonly #context: ZmqContext;
  readonly #workers: WorkerHandle[];
  readonly #control: LoopControl;
  #database: GeoDatabase;
  #switching: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    spawnPoolWorker: (worker: number, database: DatabaseSwitch) => WorkerHandle;
    onWorkerEvent: (event: WorkerLifeEvent) => void;
    firstDatabase: DatabaseSwitch;
    endpoints: string[];
    context: ZmqContext;
    workers: WorkerHandle[];
    control: LoopControl;
    metrics: ServiceMetrics;
    database: GeoDatabase;
    authenticator: ZapAuthenticator | undefined;
  }) {
    this.endpoints = parts.endpoints;
    this.authenticator = parts.authenticator;
    this.workerCount = parts.workers.length;
    this.#context = parts.context;
    this.#workers = parts.workers;
    this.#control = parts.control;
    this.metrics = parts.metrics;
    this.#database = parts.database;
    this.#spawnPoolWorker = parts.spawnPoolWorker;
    this.#onWorkerEvent = parts.onWorkerEvent;
    this.#current = parts.firstDatabase;
    this.frontEndFailed = parts.workers[0]!.failed;
    this.#workers.forEach((_, i) => this.#watchFailure(i));
  }

  /** Settles with the reason if the front-end worker fails: the service cannot go on. */
  readonly frontEndFailed: Promise<string>;
  readonly #spawnPoolWorker: (worker: number, database: DatabaseSwitch) => WorkerHandle;
  readonly #onWorkerEvent: (event: WorkerLifeEvent) => void;
  #current: DatabaseSwitch;

  /** Replaces a pool worker that fails (the front end owns the ROUTER and is not). */
  #watchFailure(index: number): void {
    this.#workers[index]!.failed.then(async (message) => {
      if (this.#stopping !== undefined) return;
      this.#onWorkerEvent({ type: "failed", worker: index, message });
      this.metrics.setWorkersAlive(this.workersAlive);
      if (index === 0) return;
      this.#workers[index]!.worker.terminate();
      const handle = this.#spawnPoolWorker(index, this.#current);
      this.#workers[index] = handle;
      this.#watchFailure(index);
      try {
        await handle.ready;
      } catch {
        return; // its own failure is reported by its own watch
      }
      this.metrics.setWorkersAlive(this.workersAlive);
      this.#onWorkerEvent({ type: "replaced", worker: index, message });
    });
  }

  /**
   * Binds every endpoint, starts the workers and waits until all of them are ready.
   * The sockets are made and bound here, so a bad endpoint fails the start; then the
   * ROUTER and the pool's DEALER are handed to worker 0, the front end. With CURVE, the
   * ZAP handler is bound first, so no client gets in unchecked.
   *
   * @param options what to serve and where
   * @returns the running server
   * @throws {ZmqError} when an endpoint cannot be bound; nothing is left running
   * @throws {Error} when CURVE is asked of a libzmq without it
   */
  static async start(options: ServerOptions): Promise<GeoipServer> {
    if (options.curve !== undefined && !options.lib.has("curve")) {
      throw new Error(
        `libzmq ${options.lib.version()} from "${options.lib.path}" has no CURVE support`,
      );
    }
    const context = ZmqContext.create(options.lib);
    const sockets: ZmqSocket[] = [];
    const handles: WorkerHandle[] = [];
    const control = LoopControl.create();
    const metrics = options.metrics ?? ServiceMetrics.create({ version: options.version });
    let authenticator: ZapAuthenticator | undefined;
    try {
      if (options.curve !== undefined) {
        authenticator = await ZapAuthenticator.start({
          lib: options.lib,
          context,
          domain: ZAP_DOMAIN,
          allowList: options.curve.allowList,
          ...(options.curve.onRefused === undefined ? {} : { onRefused: options.curve.onRefused }),
        });
      }
      const router = context.socket(SocketType.ROUTER);
      sockets.push(router);
      router.setOption(SocketOption.LINGER, 0);
      limitRouter(router, options);
      if (options.curve !== undefined) secureRouter(router, options.curve);
      const endpoints = options.bind.map((endpoint) => {
        router.setOption(SocketOption.IPV6, wantsIpv6(endpoint) ? 1 : 0);
        return router.bind(endpoint);
      });
      // An instance behind a broker: its ROUTER connects to the broker's DEALER, which
      // hands it requests; replies go back the same way, envelopes and all.
      for (const endpoint of options.connect ?? []) {
        router.setOption(SocketOption.IPV6, 1);
        router.connect(endpoint);
      }
      const poolEndpoint = `inproc://geoipmq-pool-${crypto.randomUUID()}`;
      let pool: ZmqSocket | null = null;
      if (options.workers > 1) {
        pool = context.socket(SocketType.DEALER);
        sockets.push(pool);
        pool.setOption(SocketOption.LINGER, 0);
        pool.bind(poolEndpoint);
      }

      const common: Omit<WorkerSetup, "worker"> = {
        type: "setup",
        libzmqPath: options.lib.path,
        contextAddress: context.address,
        database: databaseSwitch(options.database, control.generation),
        limits: options.limits,
        server: {
          version: options.version,
          libzmqVersion: options.lib.version(),
          startedAt: Date.now(),
        },
        workers: options.workers,
        cache: {
          maxEntries: options.cacheEntries,
          maxChars: options.cacheChars ?? CACHE_MAX_CHARS,
        },
        control: control.buffer,
        metrics: metrics.buffer,
      };
      const workerModule = options.workerModule ?? new URL("./lookup_worker.ts", import.meta.url);
      for (let i = 0; i < options.workers; i++) {
        const role: Partial<WorkerSetup> = i === 0
          ? { frontEnd: { routerAddress: router.address, poolAddress: pool?.address ?? 0n } }
          : { poolEndpoint };
        handles.push(spawnWorker(workerModule, { ...common, ...role, worker: i }));
      }
      // The front end owns the ROUTER and the DEALER from here on, and closes them.
      sockets.length = 0;
      await Promise.all(handles.map((handle) => handle.ready));
      metrics.setWorkersAlive(handles.length);
      return new GeoipServer({
        spawnPoolWorker: (worker, database) =>
          spawnWorker(workerModule, { ...common, poolEndpoint, database, worker }),
        onWorkerEvent: options.onWorkerEvent ?? (() => {}),
        firstDatabase: common.database,
        endpoints,
        context,
        workers: handles,
        control,
        metrics,
        database: options.database,
        authenticator,
      });
    } catch (error) {
      context.shutdown();
      for (const socket of sockets) socket.close();
      for (const handle of handles) handle.worker.terminate();
      if (authenticator !== undefined) {
        await withTimeout(authenticator.stopped, STOP_TIMEOUT_MS);
        authenticator.terminate();
      }
      await context.terminate();
      throw error;
    }
  }

  /** The database now serving. */
  get database(): GeoDatabase {
    return this.#database;
  }

  /** How many workers are running. */
  get workersAlive(): number {
    return this.#workers.filter((handle) => handle.alive).length;
  }

  /**
   * Switches every worker to another database at once: each takes the new database,
   * then all wait for each other and switch together, so no reply after the first one
   * from the new database comes from the old. Requests that arrive meanwhile wait in
   * the sockets; none is lost. Switches run one after another.
   *
   * @param database the new database, already opened and checked
   * @returns a promise that settles once every worker has switched
   */
  switchDatabase(database: GeoDatabase): Promise<void> {
    const run = async () => {
      const generation = this.#control.generation + 1;
      const message = databaseSwitch(database, generation);
      const live = this.#workers.filter((handle) => handle.alive);
      const switched = live.map((handle) => handle.switched(generation));
      for (const handle of live) handle.worker.postMessage(message);
      this.#control.announceSwitch();
      this.#current = message;
      await withTimeout(Promise.all(switched), SWITCH_TIMEOUT_MS);
      this.#database = database;
    };
    this.#switching = this.#switching.then(run, run);
    return this.#switching;
  }

  /**
   * Stops serving: the front end takes no new requests and passes on the replies still
   * due from the pool; then the context is shut down (every worker's receive fails with
   * `ETERM` and each closes its sockets), the workers end and the context is destroyed.
   * Calling it again returns the same promise.
   *
   * @returns a promise that settles when everything is closed
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#control.announceStop();
    const front = this.#workers[0]!;
    await withTimeout(front.stopped, STOP_TIMEOUT_MS);
    this.#context.shutdown();
    await withTimeout(
      Promise.allSettled([
        ...this.#workers.map((handle) => handle.stopped),
        ...(this.authenticator === undefined ? [] : [this.authenticator.stopped]),
      ]),
      STOP_TIMEOUT_MS,
    );
    for (const handle of this.#workers) handle.worker.terminate();
    this.authenticator?.terminate();
    await this.#context.terminate();
  }
}

/**
 * Bounds what one client can make the ROUTER hold: frames over the request limit cut the
 * client off before they are buffered, and at most `hwm` messages wait each way.
 */
function limitRouter(router: ZmqSocket, options: ServerOptions): void {
  router.setMaxMessageSize(frameLimit(options.limits.maxRequestBytes, options.curve !== undefined));
  router.setOption(SocketOption.SNDHWM, options.hwm ?? DEFAULT_HWM);
  router.setOption(SocketOption.RCVHWM, options.hwm ?? DEFAULT_HWM);
}

/**
 * Makes the ROUTER a CURVE server whose handshakes go to the ZAP handler. Where libzmq
 * has `ZMQ_ZAP_ENFORCE_DOMAIN` (its draft API), a handshake also fails when the handler
 * is gone, rather than letting the client in.
 */
function secureRouter(router: ZmqSocket, curve: CurveOptions): void {
  router.setOption(SocketOption.CURVE_SERVER, 1);
  router.setBytesOption(SocketBytesOption.CURVE_SECRETKEY, curve.secretKey);
  router.setBytesOption(SocketBytesOption.ZAP_DOMAIN, ZAP_DOMAIN);
  try {
    router.setOption(SocketOption.ZAP_ENFORCE_DOMAIN, 1);
  } catch (error) {
    if (!(error instanceof ZmqError && error.errno === Errno.EINVAL)) throw error;
  }
}

function databaseSwitch(database: GeoDatabase, generation: number): DatabaseSwitch {
  return {
    type: "database",
    generation,
    bytes: database.bytes as Uint8Array<SharedArrayBuffer>,
    source: database.source,
  };
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

function spawnWorker(module: URL, setup: WorkerSetup): WorkerHandle {
  const worker = new Worker(module, { type: "module", name: `geoipmq-worker-${setup.worker}` });
  const handle = watchWorker(worker);
  worker.postMessage(setup);
  return handle;
}

function watchWorker(worker: Worker): WorkerHandle {
  const ready = Promise.withResolvers<void>();
  const stopped = Promise.withResolvers<void>();
  const failed = Promise.withResolvers<string>();
  const waiting = new Map<number, () => void>();
  const handle: WorkerHandle = {
    worker,
    ready: ready.promise,
    stopped: stopped.promise,
    alive: true,
    switched: (generation) => new Promise((resolve) => waiting.set(generation, resolve)),
    failed: failed.promise,
  };
  const end = (error?: Error) => {
    handle.alive = false;
    if (error !== undefined) {
      ready.reject(error);
      failed.resolve(error.message);
    }
    stopped.resolve();
    for (const resolve of waiting.values()) resolve();
  };
  worker.onmessage = (event: MessageEvent<WorkerEvent>) => {
    const message = event.data;
    if (message.type === "ready") ready.resolve();
    else if (message.type === "switched") {
      waiting.get(message.generation)?.();
      waiting.delete(message.generation);
    } else if (message.type === "stopped") end();
    else end(new Error(`Lookup worker failed: ${message.message}`));
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    end(new Error(`Lookup worker failed: ${event.message}`));
  };
  return handle;
}

async function withTimeout(promise: Promise<unknown>, milliseconds: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, milliseconds));
  await Promise.race([promise, timeout]);
  clearTimeout(timer);
}

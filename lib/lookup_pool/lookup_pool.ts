/**
 * The lookup pool, after the ZeroMQ Guide's multithreaded server: a ROUTER bound to
 * every endpoint, an `inproc://` DEALER to a pool of REP workers, and lookup workers (Web
 * Workers with blocking receive loops) that share one copy of each database.
 *
 * Unlike the Guide's version there is no proxy thread: worker 0 owns the ROUTER and
 * answers small requests itself, which spares every such request two thread hand-offs,
 * and passes larger ones (batches) to the pool. See `router_loop.ts`.
 *
 * @module
 */

import type { GeoDatabase } from "../database/mod.ts";
import { ZapAuthenticator } from "../curve/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import { NO_CLIENT_LIMITS } from "../protocol/mod.ts";
import { withTimeout, WorkerHandle } from "../worker/mod.ts";
import { type Libzmq, SocketOption, SocketType, ZmqContext, type ZmqSocket } from "../zmq/mod.ts";
import {
  type DatabaseUpdate,
  databaseUpdate,
  runSwitch,
  SWITCH_TIMEOUT_MS,
  type SwitchOutcome,
} from "./database_switch.ts";
import { BrokerLink } from "./broker_link.ts";
import { LoopControl } from "./loop_control.ts";
import { refuseEndpointsInUse, removeIpcFiles } from "./endpoint_guard.ts";
import type { LookupSetup } from "./lookup_worker.ts";
import type { ClientEvent } from "./client_event.ts";
import type { CurveOptions, LookupPoolOptions, WorkerLifeEvent } from "./lookup_pool_options.ts";
import { bindRouter, connectRouter, frameLimit, ZAP_DOMAIN } from "./router_socket.ts";

const STOP_TIMEOUT_MS = 8000;

type LookupHandle = WorkerHandle<LookupSetup, DatabaseUpdate, ClientEvent>;

/**
 * The running lookup workers and their sockets. Start it with
 * {@linkcode LookupPool.start}, switch its databases with
 * {@linkcode LookupPool.switchDatabases}, stop it with {@linkcode LookupPool.stop}; several
 * can run in one process.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { ServiceMetrics } from "../metrics/mod.ts";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { LookupPool } from "./lookup_pool.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const pool = await LookupPool.start({
 *   lib: openLibzmq(undefined),
 *   databases: [database],
 *   languages: ["en"],
 *   bind: ["tcp://127.0.0.1:*"],
 *   connect: [],
 *   workers: 1,
 *   limits: { maxRequestBytes: 65536, maxAddresses: 100 },
 *   cache: { maxBytes: 0 },
 *   server: { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() },
 *   metrics: ServiceMetrics.create({ version: "1.0.0" }),
 *   hwm: 1000,
 * });
 * console.log(pool.endpoints[0]!.startsWith("tcp://127.0.0.1:"), pool.workersAlive); // true 1
 * await pool.stop();
 * ```
 */
export class LookupPool {
  /** The endpoints bound, with the ports actually chosen. */
  readonly endpoints: readonly string[];
  /** How many workers serve. */
  readonly workerCount: number;
  /** The ZAP handler checking CURVE clients, or undefined when CURVE is off. */
  readonly authenticator: ZapAuthenticator | undefined;
  /** Settles with the reason if the router worker fails: the service cannot go on. */
  readonly routerFailed: Promise<string>;
  /** The connections to brokers (`connect`), or undefined when it connects to none. */
  readonly brokers: BrokerLink | undefined;
  readonly #context: ZmqContext;
  readonly #workers: LookupHandle[];
  readonly #control: LoopControl;
  readonly #metrics: ServiceMetrics;
  readonly #spawnPoolWorker: (worker: number, database: DatabaseUpdate) => LookupHandle;
  readonly #onWorkerEvent: (event: WorkerLifeEvent) => void;
  readonly #switchTimeoutMs: number;
  #databases: readonly GeoDatabase[];
  #switching: Promise<unknown> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    spawnPoolWorker: (worker: number, database: DatabaseUpdate) => LookupHandle;
    onWorkerEvent: (event: WorkerLifeEvent) => void;
    switchTimeoutMs: number;
    endpoints: string[];
    context: ZmqContext;
    workers: LookupHandle[];
    control: LoopControl;
    metrics: ServiceMetrics;
    databases: readonly GeoDatabase[];
    authenticator: ZapAuthenticator | undefined;
    brokers: BrokerLink | undefined;
  }) {
    this.endpoints = parts.endpoints;
    this.brokers = parts.brokers;
    this.authenticator = parts.authenticator;
    this.workerCount = parts.workers.length;
    this.#context = parts.context;
    this.#workers = parts.workers;
    this.#control = parts.control;
    this.#metrics = parts.metrics;
    this.#databases = parts.databases;
    this.#spawnPoolWorker = parts.spawnPoolWorker;
    this.#onWorkerEvent = parts.onWorkerEvent;
    this.#switchTimeoutMs = parts.switchTimeoutMs;
    this.routerFailed = parts.workers[0]!.failed;
    this.#workers.forEach((_, i) => this.#watchFailure(i));
  }

  /** Replaces a pool worker that fails (the router worker owns the ROUTER and is not). */
  #watchFailure(index: number): void {
    this.#workers[index]!.failed.then(async (message) => {
      if (this.#stopping !== undefined) return;
      this.#onWorkerEvent({ type: "failed", worker: index, message });
      this.#metrics.setWorkersAlive(this.workersAlive);
      if (index === 0) return;
      this.#workers[index]!.terminate();
      // A switch under way settles first, so the replacement serves what the others do.
      await this.#switching;
      const handle = this.#spawnPoolWorker(
        index,
        databaseUpdate(this.#databases, this.#control.generation),
      );
      this.#workers[index] = handle;
      this.#watchFailure(index);
      try {
        await handle.ready;
      } catch {
        return; // its own failure is reported by its own watch
      }
      this.#metrics.setWorkersAlive(this.workersAlive);
      this.#onWorkerEvent({ type: "replaced", worker: index, message });
    });
  }

  /**
   * Binds every endpoint, starts the workers and waits until all of them are ready.
   * The sockets are made and bound here, so a bad endpoint fails the start; then the
   * ROUTER and the pool's DEALER are handed to worker 0, the router worker. With CURVE,
   * the ZAP handler is bound first, so no client gets in unchecked.
   *
   * @param options what to serve and where
   * @returns the running pool
   * @throws {ZmqError} when an endpoint cannot be bound; nothing is left running
   * @throws {Error} when CURVE is asked of a libzmq without it
   */
  static async start(options: LookupPoolOptions): Promise<LookupPool> {
    if (options.curve !== undefined && !options.lib.has("curve")) {
      throw new Error(
        `libzmq ${options.lib.version()} from "${options.lib.path}" has no CURVE support`,
      );
    }
    refuseEndpointsInUse(options.lib, options.bind);
    const context = ZmqContext.create(options.lib);
    const control = LoopControl.create();
    // No closure in this function may name `options`: closures made here share one
    // context, which the workers' spawner keeps for the pool's life, and `options` holds
    // the first databases (a reloaded service would keep them resident for good).
    const started: StartedParts = { sockets: [], handles: [] };
    try {
      if (options.curve !== undefined) {
        started.authenticator = await startZapHandler(context, options.lib, options.curve);
      }
      const bound = bindRouter(context, { ...options, sockets: started.sockets });
      // An instance behind a broker: its ROUTER connects to the broker's DEALER, which
      // hands it requests; replies go back the same way, envelopes and all.
      started.brokers = linkBrokers(options, control);
      connectRouter(bound.router, options);
      const poolEndpoint = `inproc://geoipmq-pool-${crypto.randomUUID()}`;
      let pool: ZmqSocket | null = null;
      if (options.workers > 1) {
        pool = context.socket(SocketType.DEALER);
        started.sockets.push(pool);
        pool.setOption(SocketOption.LINGER, 0);
        pool.bind(poolEndpoint);
      }
      const spawn = workerSpawner(options, { context, control, brokers: started.brokers });
      const handles = started.handles;
      const router = {
        routerAddress: bound.router.address,
        poolAddress: pool?.address ?? 0n,
        poolWorkers: options.workers - 1,
        monitorAddress: bound.monitor.address,
        connect: options.connect,
        frameLimit: frameLimit(options.limits.maxRequestBytes, options.curve !== undefined),
      };
      for (let i = 0; i < options.workers; i++) {
        const database = databaseUpdate(options.databases, control.generation);
        handles.push(
          spawn(i === 0 ? { router, database, worker: i } : { poolEndpoint, database, worker: i }),
        );
      }
      // The router worker owns the ROUTER and the DEALER from here on, and closes them.
      started.sockets.length = 0;
      await Promise.all(handles.map((handle) => handle.ready));
      options.metrics.setWorkersAlive(handles.length);
      return new LookupPool({
        spawnPoolWorker: (worker, database) => spawn({ poolEndpoint, database, worker }),
        onWorkerEvent: options.onWorkerEvent ?? (() => {}),
        switchTimeoutMs: options.switchTimeoutMs ?? SWITCH_TIMEOUT_MS,
        endpoints: bound.endpoints,
        context,
        workers: handles,
        control,
        metrics: options.metrics,
        databases: options.databases,
        authenticator: started.authenticator,
        brokers: started.brokers,
      });
    } catch (error) {
      await abandon(context, started);
      throw error;
    }
  }

  /** The databases now serving, in `--db` order. */
  get databases(): readonly GeoDatabase[] {
    return this.#databases;
  }

  /** How the router worker's drain ended, once {@linkcode LookupPool.stop} has settled. */
  get drained(): { answered: number; dropped: number } {
    return this.#control.drained;
  }

  /** How many workers are running. */
  get workersAlive(): number {
    return this.#workers.filter((handle) => handle.alive).length;
  }

  /**
   * Switches every worker to other databases at once, or none of them (see
   * `database_switch.ts`). Requests that arrive meanwhile wait in the sockets; none is
   * lost. Switches run one after another.
   *
   * @param databases the new databases, in `--db` order, already opened and checked
   * @returns how the switch ended
   */
  switchDatabases(databases: readonly GeoDatabase[]): Promise<SwitchOutcome> {
    const run = async () => {
      const workers = this.#workers.filter((handle) => handle.alive);
      const outcome = await runSwitch(this.#control, {
        workers,
        databases,
        timeoutMs: this.#switchTimeoutMs,
      });
      if (outcome.committed) this.#databases = databases;
      return outcome;
    };
    const switching = this.#switching.then(run, run);
    this.#switching = switching.catch(() => {});
    return switching;
  }

  /**
   * Stops serving: the router worker takes no new requests and passes on the replies
   * still due from the pool; then the context is shut down (every worker's receive fails
   * with `ETERM` and each closes its sockets), the workers end and the context is
   * destroyed. Calling it again returns the same promise.
   *
   * @returns a promise that settles when everything is closed
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#control.announceStop();
    const router = this.#workers[0]!;
    await withTimeout(router.stopped, STOP_TIMEOUT_MS);
    this.#context.shutdown();
    await withTimeout(
      Promise.allSettled([
        ...this.#workers.map((handle) => handle.stopped),
        ...(this.authenticator === undefined ? [] : [this.authenticator.stopped]),
      ]),
      STOP_TIMEOUT_MS,
    );
    for (const handle of this.#workers) handle.terminate();
    this.authenticator?.terminate();
    this.brokers?.close();
    await this.#context.terminate();
    removeIpcFiles(this.#context.lib, this.endpoints);
  }
}

/** What a start has made so far, to undo when it fails. */
interface StartedParts {
  sockets: ZmqSocket[];
  handles: LookupHandle[];
  authenticator?: ZapAuthenticator | undefined;
  brokers?: BrokerLink | undefined;
}

/** Undoes a start that failed: nothing it made is left running. */
async function abandon(context: ZmqContext, started: StartedParts): Promise<void> {
  context.shutdown();
  started.brokers?.close();
  for (const socket of started.sockets) socket.close();
  for (const handle of started.handles) handle.terminate();
  const { authenticator } = started;
  if (authenticator !== undefined) {
    await withTimeout(authenticator.stopped, STOP_TIMEOUT_MS);
    authenticator.terminate();
  }
  await context.terminate();
}

/** Starts the ZAP handler that checks CURVE clients against the allow-list. */
function startZapHandler(
  context: ZmqContext,
  lib: Libzmq,
  curve: CurveOptions,
): Promise<ZapAuthenticator> {
  return ZapAuthenticator.start({
    lib,
    context,
    domain: ZAP_DOMAIN,
    allowList: curve.allowList,
    ...(curve.onRefused === undefined ? {} : { onRefused: curve.onRefused }),
  });
}

/**
 * @returns the link that follows the connections to brokers (`connect`), or undefined
 *   when the pool connects to none
 */
function linkBrokers(
  options: Pick<LookupPoolOptions, "connect" | "metrics" | "onBrokerEvent">,
  control: LoopControl,
): BrokerLink | undefined {
  const { metrics, connect } = options;
  if (connect.length === 0) return undefined;
  metrics.setBrokers(0, connect.length);
  return new BrokerLink(connect, {
    onEvent: options.onBrokerEvent ?? (() => {}),
    // libzmq gave the connection up (a protocol error): the router worker connects again.
    onStuck: () => control.askReconnect(),
    onCount: (connected) => metrics.setBrokers(connected, connect.length),
  });
}

/**
 * What every worker's setup shares, and the function that spawns a worker with it. The
 * databases are not part of it: a replacement worker is spawned on those serving then,
 * and keeping the first ones here would keep them resident after a reload.
 */
function workerSpawner(
  options: LookupPoolOptions,
  parts: { context: ZmqContext; control: LoopControl; brokers: BrokerLink | undefined },
): (role: Pick<LookupSetup, "router" | "poolEndpoint" | "database" | "worker">) => LookupHandle {
  const { brokers } = parts;
  const common: Omit<LookupSetup, "worker" | "database"> = {
    libzmqPath: options.lib.path,
    contextAddress: parts.context.address,
    languages: options.languages,
    limits: options.limits,
    // Only data crosses to a worker; each reads the reload counters itself.
    server: {
      version: options.server.version,
      libzmqVersion: options.server.libzmqVersion,
      startedAt: options.server.startedAt,
    },
    cache: options.cache,
    clientLimits: options.clientLimits ?? NO_CLIENT_LIMITS,
    control: parts.control.buffer,
    metrics: options.metrics.buffer,
  };
  const module = options.workerModule ?? new URL("./lookup_worker.ts", import.meta.url);
  const onWorkerEvent = options.onWorkerEvent ?? (() => {});
  const onEvent = (event: ClientEvent) => {
    if (event.type === "link") brokers?.take(event.event, event.fd, event.address);
    else onWorkerEvent(event);
  };
  return (role) =>
    WorkerHandle.spawn(module, { ...common, ...role }, {
      name: `lookup worker ${role.worker}`,
      onEvent,
    });
}

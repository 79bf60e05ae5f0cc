/**
 * The geoipmq server, after the ZeroMQ Guide's multithreaded server: a ROUTER bound to
 * every endpoint, an `inproc://` DEALER to a pool of REP workers, and lookup workers (Web
 * Workers with blocking receive loops) that share one copy of each database.
 *
 * Unlike the Guide's version there is no proxy thread: worker 0 owns the ROUTER and
 * answers small requests itself, which spares every such request two thread hand-offs,
 * and passes larger ones (batches) to the pool. See `router_loop.ts`.
 *
 * @module
 */

import { withTimeout } from "./with_timeout.ts";
import type { GeoDatabase } from "../database/mod.ts";
import { type Refusal, ZapAuthenticator } from "../curve/mod.ts";
import type { ServerInfo } from "../lookup/mod.ts";
import { ServiceMetrics } from "../metrics/mod.ts";
import { type ClientLimits, NO_CLIENT_LIMITS, type RequestLimits } from "../protocol/mod.ts";
import { WorkerHandle } from "../worker/mod.ts";
import {
  Errno,
  type Libzmq,
  SocketBytesOption,
  SocketMonitor,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqError,
  type ZmqSocket,
} from "../zmq/mod.ts";
import {
  type DatabaseUpdate,
  databaseUpdate,
  runSwitch,
  SWITCH_TIMEOUT_MS,
  type SwitchOutcome,
} from "./database_switch.ts";
import { BrokerLink, type BrokerLinkEvent } from "./broker_link.ts";
import { LoopControl } from "./loop_control.ts";
import { refuseEndpointsInUse, removeIpcFiles } from "./endpoint_guard.ts";
import type { LookupSetup } from "./lookup_worker.ts";
import type { ClientEvent } from "./client_event.ts";
import { ROUTER_MONITOR_EVENTS } from "./connection_budget.ts";

/** Options for {@linkcode LookupPool.start}. */
export interface LookupPoolOptions {
  /** The loaded libzmq. */
  lib: Libzmq;
  /** The databases to serve, in `--db` order; their bytes must be in `SharedArrayBuffer`s. */
  databases: readonly GeoDatabase[];
  /** Languages for names (`--lang`), most preferred first. */
  languages: readonly string[];
  /** Endpoints to bind, e.g. `tcp://127.0.0.1:5555`; `tcp://127.0.0.1:*` picks a port. */
  bind: readonly string[];
  /** Endpoints to connect to, e.g. a broker's back end. */
  connect: readonly string[];
  /** How many lookup workers to run. */
  workers: number;
  /** Request bounds. */
  limits: RequestLimits;
  /** What each worker's caches of rendered answers may hold together, in bytes; 0: none. */
  cache: { maxBytes: number };
  /** What `info` says about the server. */
  server: ServerInfo;
  /** Where the workers count requests. */
  metrics: ServiceMetrics;
  /** Messages queued per client connection each way (`ZMQ_SNDHWM`, `ZMQ_RCVHWM`). */
  hwm: number;
  /** Per-connection budgets and the rate limit; default: none. */
  clientLimits?: ClientLimits;
  /** The lookup worker's module (default `lookup_worker.ts`; tests swap in a faulty one). */
  workerModule?: URL;
  /** Told when a worker fails and when a pool worker has been replaced. */
  onWorkerEvent?: (event: WorkerLifeEvent) => void;
  /** How long workers have to reach a database switch (default `SWITCH_TIMEOUT_MS`). */
  switchTimeoutMs?: number;
  /** CURVE on every endpoint, with an allow-list of clients; default: off. */
  curve?: CurveOptions;
  /** Told when a connection to a broker (`connect`) is lost and when it is back. */
  onBrokerEvent?: (event: BrokerLinkEvent) => void;
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
 * import { frameLimit } from "./lookup_pool.ts";
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

/** A worker failed (and, for a pool worker, was replaced). */
export type WorkerLifeEvent =
  | {
    type: "failed" | "replaced";
    /** The worker's number: 0 is the router worker, which is not replaced. */
    worker: number;
    /** Why it failed. */
    message: string;
  }
  | ClientEvent;

type LookupHandle = WorkerHandle<LookupSetup, DatabaseUpdate, ClientEvent>;

/**
 * The running lookup workers and their sockets. Start it with
 * {@linkcode LookupPool.start}, switch its databases with
 * {@linkcode LookupPool.switchDatabases}, stop it with {@linkcode LookupPool.stop}; several
 * can run in one process.
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
    const sockets: ZmqSocket[] = [];
    const handles: LookupHandle[] = [];
    const control = LoopControl.create();
    let authenticator: ZapAuthenticator | undefined;
    let brokers: BrokerLink | undefined;
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
      // Before any bind or connect, so no connection is missed; read by the router worker.
      const monitor = SocketMonitor.start(context, router, ROUTER_MONITOR_EVENTS);
      sockets.push(monitor.socket);
      limitRouter(router, options);
      if (options.curve !== undefined) secureRouter(router, options.curve);
      const endpoints = options.bind.map((endpoint) => {
        router.setOption(SocketOption.IPV6, wantsIpv6(endpoint) ? 1 : 0);
        return router.bind(endpoint);
      });
      // An instance behind a broker: its ROUTER connects to the broker's DEALER, which
      // hands it requests; replies go back the same way, envelopes and all. libzmq takes
      // the socket's options at connect time: the broker's connection gets no frame limit,
      // since libzmq answers an oversized frame by dropping the connection, and on a
      // connecting socket that is for good (a protocol error is never reconnected). The
      // broker bounds what it forwards; a request over this instance's limit is answered
      // ERROR by the loop, and the connection stays.
      if (options.connect.length > 0) {
        router.setMaxMessageSize(-1);
        // No closure here may name `options`: closures made in this function share one
        // context, which the workers' spawner keeps for the pool's life, and `options`
        // holds the first databases (a reloaded service kept them resident for good).
        const { metrics, connect } = options;
        metrics.setBrokers(0, connect.length);
        brokers = new BrokerLink(connect, {
          onEvent: options.onBrokerEvent ?? (() => {}),
          // libzmq gave the connection up (a protocol error): the router worker connects again.
          onStuck: () => control.askReconnect(),
          onCount: (connected) => metrics.setBrokers(connected, connect.length),
        });
      }
      for (const endpoint of options.connect) {
        router.setOption(SocketOption.IPV6, 1);
        router.connect(endpoint);
      }
      limitRouter(router, options);
      const poolEndpoint = `inproc://geoipmq-pool-${crypto.randomUUID()}`;
      let pool: ZmqSocket | null = null;
      if (options.workers > 1) {
        pool = context.socket(SocketType.DEALER);
        sockets.push(pool);
        pool.setOption(SocketOption.LINGER, 0);
        pool.bind(poolEndpoint);
      }
      // What every worker's setup shares. The databases are not part of it: a replacement
      // worker is spawned on those serving then, and keeping the first ones here would
      // keep them resident after a reload.
      const common: Omit<LookupSetup, "worker" | "database"> = {
        libzmqPath: options.lib.path,
        contextAddress: context.address,
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
        control: control.buffer,
        metrics: options.metrics.buffer,
      };
      const module = options.workerModule ?? new URL("./lookup_worker.ts", import.meta.url);
      const onWorkerEvent = options.onWorkerEvent ?? (() => {});
      const onEvent = (event: ClientEvent) => {
        if (event.type === "link") brokers?.take(event.event, event.fd, event.address);
        else onWorkerEvent(event);
      };
      const spawn = (setup: LookupSetup): LookupHandle =>
        WorkerHandle.spawn(module, setup, { name: `lookup worker ${setup.worker}`, onEvent });
      for (let i = 0; i < options.workers; i++) {
        const role: Partial<LookupSetup> = i === 0
          ? {
            router: {
              routerAddress: router.address,
              poolAddress: pool?.address ?? 0n,
              monitorAddress: monitor.address,
              connect: options.connect,
              frameLimit: frameLimit(options.limits.maxRequestBytes, options.curve !== undefined),
            },
          }
          : { poolEndpoint };
        const database = databaseUpdate(options.databases, control.generation);
        handles.push(spawn({ ...common, ...role, database, worker: i }));
      }
      // The router worker owns the ROUTER and the DEALER from here on, and closes them.
      sockets.length = 0;
      await Promise.all(handles.map((handle) => handle.ready));
      options.metrics.setWorkersAlive(handles.length);
      return new LookupPool({
        spawnPoolWorker: (worker, database) => spawn({ ...common, poolEndpoint, database, worker }),
        onWorkerEvent: options.onWorkerEvent ?? (() => {}),
        switchTimeoutMs: options.switchTimeoutMs ?? SWITCH_TIMEOUT_MS,
        endpoints,
        context,
        workers: handles,
        control,
        metrics: options.metrics,
        databases: options.databases,
        authenticator,
        brokers,
      });
    } catch (error) {
      context.shutdown();
      brokers?.close();
      for (const socket of sockets) socket.close();
      for (const handle of handles) handle.terminate();
      if (authenticator !== undefined) {
        await withTimeout(authenticator.stopped, STOP_TIMEOUT_MS);
        authenticator.terminate();
      }
      await context.terminate();
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
   * Switches every worker to another database at once, or none of them (see
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

/**
 * Bounds what one client can make the ROUTER hold: frames over the request limit cut the
 * client off before they are buffered, and at most `hwm` messages wait each way (in bytes,
 * `connection_budget.ts` in the router worker bounds both ways).
 */
function limitRouter(router: ZmqSocket, options: LookupPoolOptions): void {
  router.setMaxMessageSize(frameLimit(options.limits.maxRequestBytes, options.curve !== undefined));
  router.setOption(SocketOption.SNDHWM, options.hwm);
  router.setOption(SocketOption.RCVHWM, options.hwm);
  // A full queue (a client that does not read) or a client gone fails the send, to be
  // counted, instead of dropping the reply silently.
  router.setOption(SocketOption.ROUTER_MANDATORY, 1);
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

/**
 * Whether a TCP endpoint needs `ZMQ_IPV6`: an IPv6 literal, or a wildcard (dual stack).
 *
 * @param endpoint e.g. `tcp://[::1]:5555`
 * @returns true when the socket should accept IPv6
 */
function wantsIpv6(endpoint: string): boolean {
  return /^tcp:\/\/(\[|\*:)/.test(endpoint);
}

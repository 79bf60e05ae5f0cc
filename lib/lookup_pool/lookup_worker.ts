/**
 * A lookup worker: a Web Worker that answers requests in a blocking loop, the C loop in
 * TypeScript. Worker 0 is the router worker (it owns the ROUTER the main thread bound,
 * see `router_loop.ts`); the others form the pool behind it (REP sockets, see
 * `pool_loop.ts`). The databases' bytes are shared with the main thread, not copied.
 *
 * It speaks the service's one worker channel (`lib/worker`): one {@linkcode LookupSetup},
 * then a {@linkcode DatabaseUpdate} before each switch the main thread announces through
 * the {@linkcode LoopControl} (see `database_switch.ts`).
 *
 * @module
 */

import { releaseReplacedDatabase } from "../database/mod.ts";
import {
  type GeoipResponder,
  type RateLimiter,
  type ServerInfo,
  threadLookups,
} from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import type { ClientLimits, RequestLimits } from "../protocol/mod.ts";
import { CONTROL_POLL_MS, serveWorker, type WorkerPort } from "../worker/mod.ts";
import {
  Libzmq,
  type MonitorEventRecord,
  SocketMonitor,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqSocket,
} from "../zmq/mod.ts";
import { type DatabaseUpdate, takeSwitch } from "./database_switch.ts";
import { LoopControl } from "./loop_control.ts";
import { type LoopExit, servePool } from "./pool_loop.ts";
import { RouterLoop } from "./router_loop.ts";
import type { ClientEvent } from "./client_event.ts";
import { ConnectionBudget } from "./connection_budget.ts";

/** The message that starts a lookup worker. */
export interface LookupSetup {
  /** The libzmq the main thread loaded. */
  libzmqPath: string;
  /** The main thread's context ({@linkcode ZmqContext.address}). */
  contextAddress: bigint;
  /** For the router worker: the bound ROUTER and the pool's DEALER (0 without a pool). */
  router?: {
    routerAddress: bigint;
    poolAddress: bigint;
    /** How many pool workers answer behind the DEALER. */
    poolWorkers: number;
    /** The ROUTER's monitor ({@linkcode SocketMonitor.address}), started before binding. */
    monitorAddress: bigint;
    /** The endpoints the ROUTER connects to (`--connect`), connected again on request. */
    connect: readonly string[];
    /** The ROUTER's `ZMQ_MAXMSGSIZE` for bound endpoints, put back after connecting. */
    frameLimit: number;
  };
  /** For a pool worker: the `inproc://` endpoint of the router worker's DEALER. */
  poolEndpoint?: string;
  /** The databases to serve first. */
  database: DatabaseUpdate;
  /** Languages for names (`--lang`), most preferred first. */
  languages: readonly string[];
  /** Request bounds. */
  limits: RequestLimits;
  /** What `info` says about the service. */
  server: Pick<ServerInfo, "version" | "libzmqVersion" | "startedAt">;
  /** This worker's number, from 0 (the router worker). */
  worker: number;
  /** What this worker's caches of rendered answers may hold together, in bytes. */
  cache: { maxBytes: number };
  /** For the router worker: the per-connection budgets and the rate limit. */
  clientLimits: ClientLimits;
  /** The {@linkcode LoopControl} buffer. */
  control: SharedArrayBuffer;
  /** The {@linkcode ServiceMetrics} buffer. */
  metrics: SharedArrayBuffer;
}

/** How long a stopping router worker lets its last replies leave. */
const STOP_LINGER_MS = 1000;

/**
 * Serves requests until the context is shut down, switching databases when told.
 *
 * @param setup what the main thread sent first
 * @param port the channel to the main thread
 */
export async function serveLookups(
  setup: LookupSetup,
  port: WorkerPort<DatabaseUpdate, ClientEvent>,
): Promise<void> {
  const lib = Libzmq.open(setup.libzmqPath);
  const control = LoopControl.fromBuffer(setup.control);
  const { clientLimits } = setup;
  const lookups = threadLookups({
    languages: setup.languages,
    limits: setup.limits,
    server: setup.server,
    cache: setup.cache,
    worker: setup.worker,
    // Only the router worker limits the rate: the pool takes what it hands over.
    ratePerSecond: setup.router === undefined ? 0 : clientLimits.ratePerSecond,
    ...(clientLimits.rateTable === undefined ? {} : { rateTable: clientLimits.rateTable }),
  }, { metrics: setup.metrics });
  let generation = setup.database.generation;
  let responder = lookups.responderFor(setup.database.databases);
  // Keep no reference to the first databases beyond their responder, or they would stay
  // resident after a switch.
  setup.database = { ...setup.database, databases: [] };
  const parts = { lib, control, metrics: lookups.metrics };
  const loop = setup.router === undefined
    ? poolThreadLoop(setup, parts)
    : routerThreadLoop(setup, { ...parts, port, responder, rateLimiter: lookups.rateLimiter });
  port.ready();
  try {
    while (true) {
      const exit = loop.run(responder, generation);
      if (exit !== "switch") {
        if (exit === "stop") loop.sockets[0]!.setOption(SocketOption.LINGER, STOP_LINGER_MS);
        break;
      }
      // Leave the loop so the switch message can be taken; then the barrier.
      const taken = await takeSwitch(
        control,
        port,
        (update) => lookups.responderFor(update.databases),
      );
      generation = taken.generation;
      if (taken.prepared !== undefined) {
        responder = taken.prepared;
        releaseReplacedDatabase();
      }
    }
  } finally {
    loop.close();
  }
}

/** A thread's loop, whichever its socket. */
interface ThreadLoop {
  /** Its sockets, the one clients reach first. */
  sockets: ZmqSocket[];
  /** Serves with a responder until the loop returns. */
  run(responder: GeoipResponder, generation: number): LoopExit;
  /** Closes what it owns. */
  close(): void;
}

/** What both kinds of loop work with. */
interface LoopParts {
  lib: Libzmq;
  control: LoopControl;
  metrics: ServiceMetrics;
}

/**
 * The router worker's loop: the ROUTER and the pool's DEALER the main thread bound, the
 * connection budgets on the ROUTER's monitor, the rate limit.
 */
function routerThreadLoop(
  setup: LookupSetup,
  parts: LoopParts & {
    port: WorkerPort<DatabaseUpdate, ClientEvent>;
    responder: GeoipResponder;
    rateLimiter: RateLimiter | null;
  },
): ThreadLoop {
  const { lib, metrics, port } = parts;
  const sockets = setup.router!;
  const router = ZmqSocket.adopt(lib, sockets.routerAddress);
  const pool = sockets.poolAddress === 0n ? null : ZmqSocket.adopt(lib, sockets.poolAddress);
  router.setOption(SocketOption.RCVTIMEO, CONTROL_POLL_MS);
  const limits = setup.clientLimits;
  // The ROUTER's one monitor: the budgets' accepted connections, and the connections it
  // makes to brokers, whose news goes to the main thread.
  const budget = new ConnectionBudget({
    monitor: SocketMonitor.adopt(lib, sockets.monitorAddress),
    maxInboundBytes: limits.maxInboundBytes || Infinity,
    maxOutboundBytes: limits.maxOutboundBytes || Infinity,
    onCut: (fd, bytes) => {
      metrics.recordLimited("inbound_bytes");
      port.emit({ type: "connection-cut", fd, bytes });
    },
    onStall: (fd, stalled, bytes) =>
      port.emit({ type: stalled ? "connection-stalled" : "connection-reading", fd, bytes }),
    ...(sockets.connect.length === 0 ? {} : {
      onConnectEvent: (event: MonitorEventRecord) =>
        port.emit({ type: "link", fd: event.value, bytes: 0, ...event }),
    }),
  });
  const loop = new RouterLoop({
    lib,
    router,
    pool,
    poolWorkers: sockets.poolWorkers,
    responder: parts.responder,
    limits: setup.limits,
    control: parts.control,
    metrics,
    budget,
    rateLimiter: parts.rateLimiter,
    connect: sockets.connect,
    frameLimit: sockets.frameLimit,
  });
  return {
    sockets: [router, ...(pool === null ? [] : [pool])],
    run: (responder, generation) => {
      if (loop.useResponder(responder)) releaseReplacedDatabase();
      return loop.run(generation);
    },
    close: () => {
      budget.close();
      router.close();
      pool?.close();
    },
  };
}

/** A pool worker's loop: a REP socket connected to the router worker's DEALER. */
function poolThreadLoop(setup: LookupSetup, parts: LoopParts): ThreadLoop {
  const { lib, control, metrics } = parts;
  const context = ZmqContext.fromAddress(lib, setup.contextAddress);
  const socket = context.socket(SocketType.REP);
  socket.setOption(SocketOption.LINGER, 0);
  socket.setOption(SocketOption.RCVTIMEO, CONTROL_POLL_MS);
  socket.connect(setup.poolEndpoint!);
  return {
    sockets: [socket],
    run: (responder, generation) =>
      servePool({ socket, lib, responder, limits: setup.limits, control, generation, metrics }),
    close: () => socket.close(),
  };
}

serveWorker(serveLookups);

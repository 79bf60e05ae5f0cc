/**
 * A lookup worker: a Web Worker that answers requests in a blocking loop, the C loop in
 * TypeScript. Worker 0 is the router worker (it owns the ROUTER the main thread bound,
 * see `router_loop.ts`); the others form the pool behind it (REP sockets, see
 * `pool_loop.ts`). The database bytes are shared with the main thread, not copied.
 *
 * It speaks the service's one worker channel (`lib/worker`): one {@linkcode LookupSetup},
 * then a {@linkcode DatabaseUpdate} before each switch the main thread announces through
 * the {@linkcode LoopControl} (see `database_switch.ts`).
 *
 * @module
 */

import { GeoDatabase, releaseReplacedDatabase } from "../database/mod.ts";
import { GeoipResponder, RateLimiter, type ServerInfo } from "../lookup/mod.ts";
import { ServiceMetrics } from "../metrics/mod.ts";
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
  /** What `info` says about the server. */
  server: ServerInfo;
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
  const metrics = ServiceMetrics.fromBuffer(setup.metrics, { version: setup.server.version });
  const server: ServerInfo = {
    ...setup.server,
    reloads: () => metrics.reloads(),
    brokers: () => metrics.brokers(),
  };
  const responderFor = (update: DatabaseUpdate) =>
    new GeoipResponder(
      update.databases.map((database) =>
        GeoDatabase.fromBytes(database.bytes, database.source, { checked: true })
      ),
      {
        limits: setup.limits,
        server,
        worker: setup.worker,
        cache: setup.cache,
        languages: setup.languages,
      },
    );
  let generation = setup.database.generation;
  let responder = responderFor(setup.database);
  // Keep no reference to the first databases beyond their responder, or they would stay
  // resident after a switch.
  setup.database = { ...setup.database, databases: [] };
  const sockets: ZmqSocket[] = [];
  let budget: ConnectionBudget | null = null;
  let run: () => LoopExit;
  if (setup.router !== undefined) {
    const router = ZmqSocket.adopt(lib, setup.router.routerAddress);
    const pool = setup.router.poolAddress === 0n
      ? null
      : ZmqSocket.adopt(lib, setup.router.poolAddress);
    sockets.push(router, ...(pool === null ? [] : [pool]));
    router.setOption(SocketOption.RCVTIMEO, CONTROL_POLL_MS);
    const limits = setup.clientLimits;
    // The ROUTER's one monitor: the budgets' accepted connections, and the connections it
    // makes to brokers, whose news goes to the main thread.
    budget = new ConnectionBudget({
      monitor: SocketMonitor.adopt(lib, setup.router.monitorAddress),
      maxInboundBytes: limits.maxInboundBytes || Infinity,
      maxOutboundBytes: limits.maxOutboundBytes || Infinity,
      onCut: (fd, bytes) => {
        metrics.recordLimited("inbound_bytes");
        port.emit({ type: "connection-cut", fd, bytes });
      },
      onStall: (fd, stalled, bytes) =>
        port.emit({ type: stalled ? "connection-stalled" : "connection-reading", fd, bytes }),
      ...(setup.router.connect.length === 0 ? {} : {
        onConnectEvent: (event: MonitorEventRecord) =>
          port.emit({ type: "link", fd: event.value, bytes: 0, ...event }),
      }),
    });
    const loop = new RouterLoop({
      lib,
      router,
      pool,
      responder,
      limits: setup.limits,
      control,
      metrics,
      budget,
      rateLimiter: limits.ratePerSecond > 0
        ? new RateLimiter({
          perSecond: limits.ratePerSecond,
          ...(limits.rateTable === undefined ? {} : { table: limits.rateTable }),
        })
        : null,
      connect: setup.router.connect,
      frameLimit: setup.router.frameLimit,
    });
    run = () => {
      if (loop.useResponder(responder)) releaseReplacedDatabase();
      return loop.run(generation);
    };
  } else {
    const context = ZmqContext.fromAddress(lib, setup.contextAddress);
    const socket = context.socket(SocketType.REP);
    sockets.push(socket);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.RCVTIMEO, CONTROL_POLL_MS);
    socket.connect(setup.poolEndpoint!);
    run = () =>
      servePool({ socket, lib, responder, limits: setup.limits, control, generation, metrics });
  }
  port.ready();
  try {
    while (true) {
      const exit = run();
      if (exit !== "switch") {
        if (exit === "stop") sockets[0]!.setOption(SocketOption.LINGER, STOP_LINGER_MS);
        break;
      }
      // Leave the loop so the switch message can be taken; then the barrier.
      const taken = await takeSwitch(control, port, responderFor);
      generation = taken.generation;
      if (taken.prepared !== undefined) {
        responder = taken.prepared;
        releaseReplacedDatabase();
      }
    }
  } finally {
    budget?.close();
    for (const socket of sockets) socket.close();
  }
}

serveWorker(serveLookups);

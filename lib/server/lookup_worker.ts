/**
 * A lookup worker: a Web Worker that answers requests in a blocking loop, the C loop in
 * TypeScript. Worker 0 is the front end (it owns the ROUTER the main thread bound, see
 * `front_end_loop.ts`); the others form the pool behind it (REP sockets, see
 * `pool_loop.ts`). The database bytes are shared with the main thread, not copied.
 *
 * Messages in: one {@linkcode WorkerSetup}, then a {@linkcode DatabaseSwitch} before each
 * switch the main thread announces through the {@linkcode LoopControl}. Messages out:
 * {@linkcode WorkerEvent}s.
 *
 * @module
 */

import { FrontEnd } from "./front_end_loop.ts";
import { GeoDatabase } from "../database/geo_database.ts";
import { Libzmq, SocketOption, SocketType, ZmqContext, ZmqSocket } from "../zmq/libzmq.ts";
import { CONTROL_POLL_MS, LoopControl } from "./loop_control.ts";
import { type LoopExit, servePool } from "./pool_loop.ts";
import { releaseReplacedDatabase } from "../database/release.ts";
import type { RequestLimits } from "../protocol/request.ts";
import { GeoipResponder, type ServerInfo } from "../lookup/responder.ts";
import { ServiceMetrics } from "../metrics/service_metrics.ts";

/** The message that starts a worker. */
export interface WorkerSetup {
  type: "setup";
  /** The libzmq the main thread loaded. */
  libzmqPath: string;
  /** The main thread's context ({@linkcode ZmqContext.address}). */
  contextAddress: bigint;
  /** For the front end: the bound ROUTER and the pool's DEALER (0 without a pool). */
  frontEnd?: { routerAddress: bigint; poolAddress: bigint };
  /** For a pool worker: the `inproc://` endpoint of the front end's DEALER. */
  poolEndpoint?: string;
  /** The database to serve first. */
  database: DatabaseSwitch;
  /** Request bounds. */
  limits: RequestLimits;
  /** What `info` says about the server. */
  server: ServerInfo;
  /** This worker's number, from 0 (the front end). */
  worker: number;
  /** How many workers there are (for the switch barrier). */
  workers: number;
  /** Bounds of each cache of rendered answers. */
  cache: { maxEntries: number; maxChars: number };
  /** The {@linkcode LoopControl} buffer. */
  control: SharedArrayBuffer;
  /** The {@linkcode ServiceMetrics} buffer. */
  metrics: SharedArrayBuffer;
}

/** A database to serve from a given generation on. */
export interface DatabaseSwitch {
  type: "database";
  /** The generation it belongs to. */
  generation: number;
  /** The database file's bytes, in a `SharedArrayBuffer`, already checked. */
  bytes: Uint8Array<SharedArrayBuffer>;
  /** Where it came from. */
  source: string;
}

/** Messages a worker posts to the main thread. */
export type WorkerEvent =
  | { type: "ready" }
  | { type: "switched"; generation: number }
  | { type: "stopped" }
  | { type: "failed"; message: string };

/** The barrier's patience: a worker that does not arrive in time is not waited for. */
const SWITCH_TIMEOUT_MS = 5000;
/** How long a stopping front end lets its last replies leave. */
const STOP_LINGER_MS = 1000;

/**
 * Serves requests until the context is shut down, switching database when told.
 *
 * @param setup what the main thread sent first
 * @param post how to report events to the main thread
 * @param nextSwitch resolves with the next {@linkcode DatabaseSwitch} message
 */
export async function serveRequests(
  setup: WorkerSetup,
  post: (event: WorkerEvent) => void,
  nextSwitch: () => Promise<DatabaseSwitch>,
): Promise<void> {
  const lib = Libzmq.open(setup.libzmqPath);
  const control = LoopControl.fromBuffer(setup.control);
  const metrics = ServiceMetrics.fromBuffer(setup.metrics);
  const responderFor = (database: DatabaseSwitch) =>
    new GeoipResponder(
      GeoDatabase.fromBytes(database.bytes, database.source, { checked: true }),
      { limits: setup.limits, server: setup.server, worker: setup.worker, cache: setup.cache },
    );
  let generation = setup.database.generation;
  let responder = responderFor(setup.database);
  // Keep no reference to the first database beyond its responder, or it would stay
  // resident after a switch.
  setup.database = { ...setup.database, bytes: new Uint8Array(new SharedArrayBuffer(0)) };
  const sockets: ZmqSocket[] = [];
  let run: () => LoopExit;
  if (setup.frontEnd !== undefined) {
    const router = ZmqSocket.adopt(lib, setup.frontEnd.routerAddress);
    const pool = setup.frontEnd.poolAddress === 0n
      ? null
      : ZmqSocket.adopt(lib, setup.frontEnd.poolAddress);
    sockets.push(router, ...(pool === null ? [] : [pool]));
    router.setOption(SocketOption.RCVTIMEO, CONTROL_POLL_MS);
    const frontEnd = new FrontEnd({
      lib,
      router,
      pool,
      responder,
      limits: setup.limits,
      control,
      metrics,
    });
    run = () => {
      if (frontEnd.useResponder(responder)) releaseReplacedDatabase();
      return frontEnd.run(generation);
    };
  } else {
    const context = ZmqContext.fromAddress(lib, setup.contextAddress);
    const socket = context.socket(SocketType.REP);
    sockets.push(socket);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.RCVTIMEO, CONTROL_POLL_MS);
    socket.connect(setup.poolEndpoint!);
    run = () =>
      servePool({ socket, responder, limits: setup.limits, control, generation, metrics });
  }
  post({ type: "ready" });
  try {
    while (true) {
      const exit = run();
      if (exit !== "switch") {
        if (exit === "stop") sockets[0]!.setOption(SocketOption.LINGER, STOP_LINGER_MS);
        break;
      }
      // Leave the loop so the switch message can be taken, get ready, then wait for all.
      const next = await nextSwitch();
      const nextResponder = responderFor(next);
      control.arriveAndWait(setup.workers, SWITCH_TIMEOUT_MS);
      generation = next.generation;
      responder = nextResponder;
      releaseReplacedDatabase();
      post({ type: "switched", generation });
    }
  } finally {
    for (const socket of sockets) socket.close();
  }
  post({ type: "stopped" });
}

// deno-lint-ignore no-explicit-any
const workerScope = globalThis as any;
if (typeof workerScope.WorkerGlobalScope !== "undefined") {
  const post = (message: WorkerEvent) => workerScope.postMessage(message);
  const switches: DatabaseSwitch[] = [];
  let waiting: ((message: DatabaseSwitch) => void) | undefined;
  const nextSwitch = () =>
    new Promise<DatabaseSwitch>((resolve) => {
      const queued = switches.shift();
      if (queued !== undefined) resolve(queued);
      else waiting = resolve;
    });
  workerScope.onmessage = (event: MessageEvent<WorkerSetup | DatabaseSwitch>) => {
    const message = event.data;
    if (message.type === "database") {
      if (waiting !== undefined) {
        const resolve = waiting;
        waiting = undefined;
        resolve(message);
      } else {
        switches.push(message);
      }
      return;
    }
    serveRequests(message, post, nextSwitch).catch((error) => {
      post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    });
  };
}

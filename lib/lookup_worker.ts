/**
 * A lookup worker: a Web Worker that answers requests in a blocking loop, the C loop in
 * TypeScript. Worker 0 is the front end (it owns the ROUTER the main thread bound, see
 * `front_end_loop.ts`); the others form the pool behind it (REP sockets, see
 * `pool_loop.ts`). The database bytes are shared with the main thread, not copied.
 *
 * The main thread starts it with a {@linkcode WorkerSetup} message; the worker answers
 * `{ type: "ready" }` once its sockets are set up and `{ type: "stopped" }` when the
 * context is shut down.
 *
 * @module
 */

import { serveFrontEnd } from "./front_end_loop.ts";
import { GeoDatabase } from "./geo_database.ts";
import { Libzmq, SocketOption, SocketType, ZmqContext, ZmqSocket } from "./libzmq.ts";
import { servePool } from "./pool_loop.ts";
import type { RequestLimits } from "./protocol.ts";
import { GeoipResponder, type ServerInfo } from "./responder.ts";

/** The message that starts a worker. */
export interface WorkerSetup {
  /** The libzmq the main thread loaded. */
  libzmqPath: string;
  /** The main thread's context ({@linkcode ZmqContext.address}). */
  contextAddress: bigint;
  /** For the front end: the bound ROUTER and the pool's DEALER (0 without a pool). */
  frontEnd?: { routerAddress: bigint; poolAddress: bigint };
  /** For a pool worker: the `inproc://` endpoint of the front end's DEALER. */
  poolEndpoint?: string;
  /** The database file's bytes, in a `SharedArrayBuffer`. */
  databaseBytes: Uint8Array<SharedArrayBuffer>;
  /** Where the database came from. */
  databaseSource: string;
  /** Request bounds. */
  limits: RequestLimits;
  /** What `info` says about the server. */
  server: ServerInfo;
  /** This worker's number, from 0 (the front end). */
  worker: number;
  /** Bounds of each cache of rendered answers. */
  cache: { maxEntries: number; maxChars: number };
}

/** Messages a worker posts to the main thread. */
export type WorkerEvent =
  | { type: "ready" }
  | { type: "stopped" }
  | { type: "failed"; message: string };

/**
 * Serves requests until the context is shut down.
 *
 * @param setup what the main thread sent
 * @param post how to report events to the main thread
 */
export function serveRequests(setup: WorkerSetup, post: (event: WorkerEvent) => void): void {
  const lib = Libzmq.open(setup.libzmqPath);
  const database = GeoDatabase.fromBytes(setup.databaseBytes, setup.databaseSource, {
    checked: true,
  });
  const responder = new GeoipResponder(database, {
    limits: setup.limits,
    server: setup.server,
    worker: setup.worker,
    cache: setup.cache,
  });
  if (setup.frontEnd !== undefined) {
    const router = ZmqSocket.adopt(lib, setup.frontEnd.routerAddress);
    const pool = setup.frontEnd.poolAddress === 0n
      ? null
      : ZmqSocket.adopt(lib, setup.frontEnd.poolAddress);
    try {
      post({ type: "ready" });
      serveFrontEnd({ lib, router, pool, responder, limits: setup.limits });
    } finally {
      router.close();
      pool?.close();
    }
  } else {
    const context = ZmqContext.fromAddress(lib, setup.contextAddress);
    const socket = context.socket(SocketType.REP);
    try {
      socket.setOption(SocketOption.LINGER, 0);
      socket.connect(setup.poolEndpoint!);
      post({ type: "ready" });
      servePool({ socket, responder, limits: setup.limits });
    } finally {
      socket.close();
    }
  }
  post({ type: "stopped" });
}

// deno-lint-ignore no-explicit-any
const workerScope = globalThis as any;
if (typeof workerScope.WorkerGlobalScope !== "undefined") {
  workerScope.onmessage = (event: MessageEvent<WorkerSetup>) => {
    const post = (message: WorkerEvent) => workerScope.postMessage(message);
    try {
      serveRequests(event.data, post);
    } catch (error) {
      post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    }
  };
}

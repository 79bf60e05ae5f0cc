/**
 * A lookup worker: a Web Worker that connects a REP socket to the server's `inproc://`
 * back end and answers requests in a blocking receive loop, the C loop in TypeScript.
 * The database bytes are shared with the main thread, not copied.
 *
 * The main thread starts it with a {@linkcode WorkerSetup} message; the worker answers
 * `{ type: "ready" }` once connected and `{ type: "stopped" }` when the context is shut
 * down.
 *
 * @module
 */

import { GeoDatabase } from "./geo_database.ts";
import { Errno, Libzmq, SocketOption, SocketType, ZmqContext, ZmqError } from "./libzmq.ts";
import { errorReply, type RequestLimits } from "./protocol.ts";
import { GeoipResponder, type ServerInfo } from "./responder.ts";

/** The message that starts a worker. */
export interface WorkerSetup {
  /** The libzmq the main thread loaded. */
  libzmqPath: string;
  /** The main thread's context ({@linkcode ZmqContext.address}). */
  contextAddress: bigint;
  /** Where the main thread's DEALER listens for workers. */
  backendEndpoint: string;
  /** The database file's bytes, in a `SharedArrayBuffer`. */
  databaseBytes: Uint8Array<SharedArrayBuffer>;
  /** Where the database came from. */
  databaseSource: string;
  /** Request bounds. */
  limits: RequestLimits;
  /** What `info` says about the server. */
  server: ServerInfo;
  /** This worker's number, from 0. */
  worker: number;
  /** Bounds of each cache of rendered answers. */
  cache: { maxEntries: number; maxChars: number };
}

/** Messages a worker posts to the main thread. */
export type WorkerEvent =
  | { type: "ready" }
  | { type: "stopped" }
  | { type: "failed"; message: string };

const encoder = new TextEncoder();

/**
 * Serves requests until the context is shut down.
 *
 * @param setup what the main thread sent
 * @param post how to report events to the main thread
 */
export function serveRequests(setup: WorkerSetup, post: (event: WorkerEvent) => void): void {
  const lib = Libzmq.open(setup.libzmqPath);
  const context = ZmqContext.fromAddress(lib, setup.contextAddress);
  const database = GeoDatabase.fromBytes(setup.databaseBytes, setup.databaseSource, {
    checked: true,
  });
  const responder = new GeoipResponder(database, {
    limits: setup.limits,
    server: setup.server,
    worker: setup.worker,
    cache: setup.cache,
  });
  const socket = context.socket(SocketType.REP);
  socket.setOption(SocketOption.LINGER, 0);
  socket.connect(setup.backendEndpoint);
  post({ type: "ready" });

  const request = new Uint8Array(setup.limits.maxRequestBytes + 1);
  let reply = new Uint8Array(64 * 1024);
  const isTerminated = (error: unknown) => error instanceof ZmqError && error.errno === Errno.ETERM;
  try {
    while (true) {
      let size: number;
      try {
        size = socket.receiveFrameInto(request, 0);
      } catch (error) {
        if (isTerminated(error)) break;
        if (error instanceof ZmqError && error.errno === Errno.EINTR) continue;
        throw error;
      }
      let text: string;
      if (socket.hasMore()) {
        while (socket.hasMore()) socket.receiveFrameInto(request, 0);
        text = errorReply("a request must be a single frame");
      } else if (size > setup.limits.maxRequestBytes) {
        text = errorReply(`request larger than ${setup.limits.maxRequestBytes} bytes`);
      } else {
        text = responder.respond(request.subarray(0, size));
      }
      let written = encoder.encodeInto(text, reply);
      if (written.read < text.length) {
        reply = new Uint8Array(text.length * 3);
        written = encoder.encodeInto(text, reply);
      }
      try {
        socket.sendFrame(reply.subarray(0, written.written), 0);
      } catch (error) {
        if (isTerminated(error)) break;
        throw error;
      }
    }
  } finally {
    socket.close();
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

/**
 * The loop of a pool worker: a REP socket connected to the router worker's `inproc://`
 * DEALER, answering the requests the router worker hands over (batches and other large
 * requests), blocking in `zmq_recv` between them.
 *
 * @module
 */

import { isInterrupted, isTerminated, type Libzmq, type ZmqSocket } from "../zmq/mod.ts";
import type { LoopControl } from "./loop_control.ts";
import { IdleCollector } from "./idle_collector.ts";
import { errorReply, type RequestLimits } from "../protocol/mod.ts";
import { ReplyBuffer } from "../lookup/mod.ts";
import type { GeoipResponder } from "../lookup/mod.ts";
import { RequestCounter } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";

/** Why a request loop returned. */
export type LoopExit = "switch" | "stop" | "terminated";

/** What a pool worker's loop works with. */
export interface PoolLoopOptions {
  /** A connected REP socket, with a receive timeout (the loop's chance to look around). */
  socket: ZmqSocket;
  /** The loaded libzmq, whose C library hands freed memory back when the loop is idle. */
  lib?: Libzmq;
  /** Answers requests. */
  responder: GeoipResponder;
  /** Request bounds. */
  limits: RequestLimits;
  /** The main thread's requests. */
  control: LoopControl;
  /** The database generation being served: the loop returns when it changes. */
  generation: number;
  /** Where requests are counted. */
  metrics: ServiceMetrics;
}

/**
 * Answers requests until the databases change ("switch") or the context is shut down
 * ("terminated"). The pool keeps serving while the router worker drains on a stop.
 *
 * @param options the socket, the responder, the limits and the control
 * @returns why it returned
 */
export function servePool(options: PoolLoopOptions): LoopExit {
  const { socket, responder, limits, control, generation } = options;
  const counter = new RequestCounter(options.metrics, responder);
  const request = new Uint8Array(limits.maxRequestBytes + 1);
  const reply = new ReplyBuffer();
  const idle = new IdleCollector(options.lib === undefined ? {} : { lib: options.lib });
  while (true) {
    if (control.generation !== generation) return "switch";
    let size: number;
    try {
      size = socket.tryReceiveFrameInto(request, 0);
    } catch (error) {
      if (isInterrupted(error)) continue;
      if (isTerminated(error)) return "terminated";
      throw error;
    }
    if (size < 0) { // the receive timeout: collect the last burst's garbage, look at the control
      idle.rest();
      continue;
    }
    idle.worked();
    const started = performance.now();
    let counted = false;
    if (socket.hasMore()) {
      while (socket.hasMore()) socket.receiveFrameInto(request, 0);
      reply.encode(errorReply("a request must be a single frame"));
    } else if (size > limits.maxRequestBytes) {
      reply.encode(errorReply(`request larger than ${limits.maxRequestBytes} bytes`));
    } else {
      try {
        responder.respondInto(request, size, reply);
        counted = true;
      } catch (error) {
        // A fault in this worker: the request gets ERROR, then the worker ends and the
        // lookup pool starts a fresh one in its place.
        reply.encode(errorReply("internal error: the worker failed and is being replaced"));
        socket.sendBytes(reply.bytes, reply.length, 0);
        throw error;
      }
    }
    try {
      socket.sendBytes(reply.bytes, reply.length, 0);
    } catch (error) {
      if (isTerminated(error)) return "terminated";
      throw error;
    }
    if (counted) counter.answered(started);
    else counter.refused(started);
  }
}

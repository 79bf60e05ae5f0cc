/**
 * The loop of a pool worker: a REP socket connected to the front end's `inproc://`
 * DEALER, answering the requests the front end hands over (batches and other large
 * requests), blocking in `zmq_recv` between them.
 *
 * @module
 */

import { Errno, ZmqError, type ZmqSocket } from "./libzmq.ts";
import { errorReply, type RequestLimits } from "./protocol.ts";
import { ReplyBuffer } from "./reply_buffer.ts";
import type { GeoipResponder } from "./responder.ts";

/** What a pool worker's loop works with. */
export interface PoolLoopOptions {
  /** A connected REP socket. */
  socket: ZmqSocket;
  /** Answers requests. */
  responder: GeoipResponder;
  /** Request bounds. */
  limits: RequestLimits;
}

/**
 * Answers requests until the context is shut down (`ETERM`).
 *
 * @param options the socket, the responder and the limits
 */
export function servePool(options: PoolLoopOptions): void {
  const { socket, responder, limits } = options;
  const request = new Uint8Array(limits.maxRequestBytes + 1);
  const reply = new ReplyBuffer();
  while (true) {
    let size: number;
    try {
      size = socket.receiveFrameInto(request, 0);
    } catch (error) {
      if (isInterrupted(error)) continue;
      if (isTerminated(error)) return;
      throw error;
    }
    if (socket.hasMore()) {
      while (socket.hasMore()) socket.receiveFrameInto(request, 0);
      reply.encode(errorReply("a request must be a single frame"));
    } else if (size > limits.maxRequestBytes) {
      reply.encode(errorReply(`request larger than ${limits.maxRequestBytes} bytes`));
    } else {
      responder.respondInto(request, size, reply);
    }
    try {
      socket.sendBytes(reply.bytes, reply.length, 0);
    } catch (error) {
      if (isTerminated(error)) return;
      throw error;
    }
  }
}

/**
 * @param error what a libzmq call threw
 * @returns whether the context was shut down
 */
export function isTerminated(error: unknown): boolean {
  return error instanceof ZmqError && error.errno === Errno.ETERM;
}

/**
 * @param error what a libzmq call threw
 * @returns whether a signal interrupted the call
 */
export function isInterrupted(error: unknown): boolean {
  return error instanceof ZmqError && error.errno === Errno.EINTR;
}

/**
 * The broker's forwarding loop: what `zmq_proxy` did, with a look at each request first.
 * Requests go from the front end (a ROUTER, clients) to the back end (a DEALER, the
 * instances) only when every frame is within the request limit and the message has no
 * more frames than an envelope may; any other request is answered `ERROR` by the broker
 * itself, so nothing an instance would refuse (and libzmq on the instance would answer by
 * dropping the broker's connection) ever reaches one. Replies go back as they are.
 *
 * Frames are moved, never copied (`zmq_msg_t`). While no instance can take a request,
 * the loop holds it and stops reading the front end, as `zmq_proxy` does: requests wait
 * in the front end's queue.
 *
 * @module
 */

import {
  isInterrupted,
  isTerminated,
  type Libzmq,
  ZMQ_DONTWAIT,
  ZMQ_POLLIN,
  ZMQ_POLLOUT,
  ZMQ_SNDMORE,
  ZmqMessage,
  ZmqPoller,
  type ZmqSocket,
} from "../zmq/mod.ts";
import { errorReply } from "../protocol/mod.ts";

/**
 * The most frames a request may have through the broker: the front end's routing id, 16
 * envelope frames, the empty delimiter and the request.
 */
export const BROKER_MAX_FRAMES = 19;
/** The largest envelope frame answered (ZeroMQ routing ids are at most 255 bytes). */
const MAX_ENVELOPE_FRAME_BYTES = 255;
/** Messages moved each way per wake-up before looking at the other side. */
const BATCH = 64;
const FRONT = 0;
const BACK = 1;

/** What the loop counted, reported when it ends. */
export interface BrokerTally {
  /** Requests passed to an instance. */
  forwarded: number;
  /** Requests answered `ERROR` by the broker. */
  refused: number;
  /** Requests dropped without an answer (an envelope that cannot be sent back). */
  dropped: number;
}

/** What {@linkcode BrokerLoop} works with. */
export interface BrokerLoopOptions {
  /** The library, opened on this thread. */
  lib: Libzmq;
  /** The ROUTER clients connect to. */
  frontend: ZmqSocket;
  /** The DEALER instances connect to. */
  backend: ZmqSocket;
  /** The largest frame passed on to an instance. */
  maxRequestBytes: number;
}

/**
 * Forwards between the broker's two sockets on the calling thread until the context is
 * shut down.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq, SocketType, ZmqContext } from "../zmq/mod.ts";
 * import { BrokerLoop } from "./broker_loop.ts";
 * const lib = openLibzmq(undefined);
 * const context = ZmqContext.create(lib);
 * const [frontend, backend] = [context.socket(SocketType.ROUTER), context.socket(SocketType.DEALER)];
 * frontend.bind("inproc://front");
 * backend.bind("inproc://back");
 * const client = context.socket(SocketType.REQ);
 * client.connect("inproc://front");
 * client.send("x".repeat(200));
 * const loop = new BrokerLoop({ lib, frontend, backend, maxRequestBytes: 100 });
 * loop.step(0);
 * assert.equal(new TextDecoder().decode(client.receive()![0]), "ERROR\trequest larger than 100 bytes");
 * for (const socket of [client, frontend, backend]) socket.close();
 * await context.terminate();
 * ```
 */
export class BrokerLoop {
  readonly #frontend: ZmqSocket;
  readonly #backend: ZmqSocket;
  readonly #maxRequestBytes: number;
  readonly #poller: ZmqPoller;
  readonly #frames: ZmqMessage[];
  readonly #sizes = new Int32Array(BROKER_MAX_FRAMES);
  readonly #scratch: ZmqMessage;
  readonly #reply: ZmqMessage;
  readonly #encoder = new TextEncoder();
  /** Frames of the request waiting for an instance, or 0. */
  #held = 0;
  /** What the loop counted so far. */
  readonly tally: BrokerTally = { forwarded: 0, refused: 0, dropped: 0 };

  /** @param options the sockets, the library and the limit */
  constructor(options: BrokerLoopOptions) {
    this.#frontend = options.frontend;
    this.#backend = options.backend;
    this.#maxRequestBytes = options.maxRequestBytes;
    this.#poller = new ZmqPoller(options.lib, [options.frontend, options.backend]);
    this.#frames = Array.from({ length: BROKER_MAX_FRAMES }, () => new ZmqMessage(options.lib));
    this.#scratch = new ZmqMessage(options.lib);
    this.#reply = new ZmqMessage(options.lib);
  }

  /**
   * Forwards until the context is shut down.
   *
   * @returns when the context is shut down (`ETERM`)
   */
  run(): void {
    while (true) {
      try {
        this.step(-1);
      } catch (error) {
        if (isInterrupted(error)) continue;
        if (isTerminated(error)) break;
        throw error;
      }
    }
    this.#release();
  }

  /**
   * Waits for work once (up to `timeoutMs`; -1 waits for ever) and does it.
   *
   * @param timeoutMs how long to wait for a message or for room
   */
  step(timeoutMs: number): void {
    const poller = this.#poller;
    poller.watch(FRONT, this.#held === 0 ? ZMQ_POLLIN : 0);
    poller.watch(BACK, this.#held === 0 ? ZMQ_POLLIN : ZMQ_POLLIN | ZMQ_POLLOUT);
    if (poller.poll(timeoutMs) === 0) return;
    if (poller.readable(BACK)) this.#passReplies();
    if (this.#held > 0 && poller.writable(BACK) && this.#forward(this.#held)) this.#held = 0;
    if (this.#held === 0 && poller.readable(FRONT)) this.#passRequests();
  }

  /** Moves the replies waiting on the back end to the front end, frame by frame. */
  #passReplies(): void {
    const message = this.#reply;
    for (let i = 0; i < BATCH; i++) {
      if (message.receive(this.#backend, ZMQ_DONTWAIT) < 0) return;
      while (message.more()) {
        message.send(this.#frontend, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        message.receive(this.#backend, 0);
      }
      message.send(this.#frontend, ZMQ_DONTWAIT);
    }
  }

  /** Receives requests, forwarding each or answering it, until one has to wait. */
  #passRequests(): void {
    for (let i = 0; i < BATCH; i++) {
      const count = this.#receiveRequest();
      if (count < 0) return;
      const problem = this.#problem(count);
      if (problem !== undefined) {
        this.#refuse(count, problem);
      } else if (!this.#forward(count)) {
        this.#held = count; // no instance can take it now: wait for room
        return;
      }
    }
  }

  /**
   * Receives one whole message from the front end; frames beyond
   * {@linkcode BROKER_MAX_FRAMES} are received and let go.
   *
   * @returns how many frames it had, or -1 when none was waiting
   */
  #receiveRequest(): number {
    let count = 0;
    while (true) {
      const message = count < BROKER_MAX_FRAMES ? this.#frames[count]! : this.#scratch;
      const size = message.receive(this.#frontend, count === 0 ? ZMQ_DONTWAIT : 0);
      if (size < 0) return -1;
      const more = message.more();
      if (count < BROKER_MAX_FRAMES) this.#sizes[count] = size;
      else message.discard();
      count++;
      if (!more) return count;
    }
  }

  /** @returns why the request of `count` frames is refused, or undefined */
  #problem(count: number): string | undefined {
    if (count > BROKER_MAX_FRAMES) return `more than ${BROKER_MAX_FRAMES - 1} frames`;
    const limit = this.#maxRequestBytes;
    const last = this.#sizes[count - 1]!;
    if (last > limit) return `request larger than ${limit} bytes`;
    for (let i = 1; i < count - 1; i++) {
      const size = this.#sizes[i]!;
      if (size > limit) return `a frame of ${size} bytes, over the limit of ${limit}`;
    }
    return undefined;
  }

  /**
   * Passes a whole request to an instance.
   *
   * @returns false when no instance can take it now (the frames are kept)
   */
  #forward(count: number): boolean {
    const frames = this.#frames;
    if (!frames[0]!.offer(this.#backend, count > 1 ? ZMQ_SNDMORE : 0)) return false;
    // Once the first frame is queued, libzmq takes the rest of the message.
    for (let i = 1; i < count; i++) {
      frames[i]!.send(this.#backend, i < count - 1 ? ZMQ_SNDMORE : 0);
    }
    this.tally.forwarded++;
    return true;
  }

  /**
   * Answers `ERROR` with the request's envelope (the frames up to the empty delimiter, or
   * every frame but the last for a client that sends none); drops a request whose
   * envelope could not be sent back.
   */
  #refuse(count: number, problem: string): void {
    const frames = this.#frames;
    const kept = Math.min(count, BROKER_MAX_FRAMES);
    let envelope = kept - 1;
    for (let i = 1; i < kept - 1; i++) {
      if (this.#sizes[i] === 0) {
        envelope = i + 1;
        break;
      }
    }
    let routable = true;
    for (let i = 1; i < envelope && routable; i++) {
      if (this.#sizes[i]! > MAX_ENVELOPE_FRAME_BYTES) routable = false;
    }
    if (routable) {
      for (let i = 0; i < envelope; i++) {
        frames[i]!.send(this.#frontend, ZMQ_SNDMORE | ZMQ_DONTWAIT);
      }
      this.#frontend.sendFrame(this.#encoder.encode(errorReply(problem)), ZMQ_DONTWAIT);
      this.tally.refused++;
    } else {
      envelope = 0;
      this.tally.dropped++;
    }
    for (let i = envelope; i < kept; i++) frames[i]!.discard();
  }

  /** Lets go of a request still waiting for an instance. */
  #release(): void {
    for (let i = 0; i < this.#held; i++) this.#frames[i]!.discard();
    this.#held = 0;
  }
}

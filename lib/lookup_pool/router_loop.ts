/**
 * The loop of the router worker: it owns the ROUTER socket bound to every endpoint
 * and answers small requests (one address, `ping`, `info`) itself, since with the answer
 * cache such a request costs about a microsecond, less than handing it to another
 * thread. Larger requests (batches, up to the size limit) go to the pool workers over
 * an `inproc://` DEALER, and their replies come back through here. Without pool workers
 * it answers everything itself.
 *
 * Envelopes follow the ZeroMQ Guide (see `envelope.ts`).
 *
 * @module
 */

import {
  Errno,
  isInterrupted,
  isTerminated,
  MonotonicClock,
  ZMQ_DONTWAIT,
  ZMQ_SNDMORE,
  ZmqMessage,
  ZmqPoller,
  type ZmqSocket,
} from "../zmq/mod.ts";
import { Envelope, MAX_ENVELOPE_FRAME_BYTES } from "./envelope.ts";
import { OutboundRefusals } from "./outbound_refusals.ts";
import type { RouterLoopOptions } from "./router_loop_options.ts";
import { CONTROL_POLL_MS } from "../worker/mod.ts";
import type { LoopControl } from "./loop_control.ts";
import { IdleCollector } from "./idle_collector.ts";
import type { LoopExit } from "./pool_loop.ts";
import { errorReply, type RequestLimits } from "../protocol/mod.ts";
import { type RateLimiter, ReplyBuffer } from "../lookup/mod.ts";
import { RequestCounter } from "../lookup/mod.ts";
import type { GeoipResponder } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import type { ConnectionBudget } from "./connection_budget.ts";

/** Requests up to this many bytes are answered by the router worker itself. */
export const SMALL_REQUEST_BYTES = 64;

const EMPTY = new Uint8Array(0);
/**
 * Requests in the pool at most: beyond, a batch is answered "busy" at once rather than
 * queued behind minutes of work (or computed here, holding up every small request).
 */
export const MAX_IN_POOL = 256;
/**
 * The longest request the router thread answers itself when every pool worker already has
 * one (a batch of about 100 IPv4 addresses): answering it costs less than the thread would
 * otherwise wait, and longer ones (big batches, `json` of many addresses) stay in the pool.
 */
export const SHARED_REQUEST_BYTES = 2048;
/** The answer to a batch when the pool is full. */
const BUSY = errorReply("busy: too many batches in progress, try again later");
/** The answer to a request over the rate limit. */
const RATE_LIMITED = errorReply("rate limited");
/** The pool marker: whether the reply needs a delimiter (1 byte), the client's fd (4). */
const MARKER_BYTES = 5;

/** The message property that holds a peer's IP address. */
const PEER_ADDRESS = new TextEncoder().encode("Peer-Address\0");

/** How long a stopping router worker waits for the pool's replies, in milliseconds. */
const DRAIN_TIMEOUT_MS = 2000;
/** Requests left at the end of a drain are counted up to this many. */
const MAX_DROPS_COUNTED = 100_000;

/**
 * The router worker's loop: its sockets and reusable buffers, kept across database switches. The
 * ROUTER needs a receive timeout ({@linkcode CONTROL_POLL_MS}) so an idle loop looks at
 * the control.
 */
export class RouterLoop {
  readonly #router: ZmqSocket;
  readonly #pool: ZmqSocket | null;
  readonly #poolWorkers: number;
  readonly #control: LoopControl;
  readonly #metrics: ServiceMetrics;
  #responder: GeoipResponder;
  /**
   * Counts in its own memory and adds up to the shared metrics in batches (at most 100 ms
   * late while requests come, and when idle for CONTROL_POLL_MS): per request, a few
   * additions instead of six `Atomics.add` on memory shared by every thread.
   */
  #counter: RequestCounter;
  /** Times requests: cheaper to read than `performance.now()`. */
  readonly #clock: MonotonicClock;
  readonly #limits: RequestLimits;
  readonly #poller: ZmqPoller | null;
  readonly #message: ZmqMessage;
  readonly #request: Uint8Array;
  readonly #reply = new ReplyBuffer();
  /** An ERROR sent instead of a pool worker's reply. */
  readonly #refusal = new ReplyBuffer();
  readonly #envelope = new Envelope();
  readonly #marker = new Uint8Array(MARKER_BYTES);
  readonly #idle: IdleCollector;
  readonly #markerView = new DataView(this.#marker.buffer);
  readonly #budget: ConnectionBudget;
  readonly #rateLimiter: RateLimiter | null;
  readonly #outbound: OutboundRefusals;
  /** Receives each request's first frame, to learn its connection. */
  readonly #first: ZmqMessage;
  #inPool = 0;
  readonly #connect: readonly string[];
  readonly #frameLimit: number;
  #reconnects: number;

  /** @param options sockets, responder, limits, control and metrics */
  constructor(options: RouterLoopOptions) {
    this.#idle = new IdleCollector({ lib: options.lib });
    this.#router = options.router;
    this.#pool = options.pool;
    this.#poolWorkers = options.poolWorkers ?? 1;
    this.#control = options.control;
    this.#metrics = options.metrics;
    this.#responder = options.responder;
    this.#clock = new MonotonicClock(options.lib);
    this.#counter = this.#newCounter(options.responder);
    this.#limits = options.limits;
    this.#connect = options.connect ?? [];
    this.#frameLimit = options.frameLimit ?? -1;
    this.#reconnects = options.control.reconnects;
    this.#poller = options.pool === null
      ? null
      : new ZmqPoller(options.lib, [options.router, options.pool]);
    this.#message = new ZmqMessage(options.lib);
    this.#first = new ZmqMessage(options.lib);
    this.#budget = options.budget;
    this.#rateLimiter = options.rateLimiter;
    this.#outbound = new OutboundRefusals(options.budget, options.metrics);
    // Envelope frames (routing ids, up to 255 bytes) are received into it too: never
    // smaller than one, or a small --max-request-bytes would cut routing ids short.
    this.#request = new Uint8Array(
      Math.max(options.limits.maxRequestBytes, MAX_ENVELOPE_FRAME_BYTES) + 1,
    );
  }

  /**
   * Serves until the database generation changes ("switch"), a stop is asked and the
   * requests in the pool are answered ("stop"), or the context is shut down.
   *
   * @param generation the database generation this responder serves
   * @returns why it returned
   */
  run(generation: number): LoopExit {
    try {
      return this.#serve(generation);
    } finally {
      this.#counter.flush(); // the counts kept (see useResponder)
    }
  }

  #serve(generation: number): LoopExit {
    const control = this.#control;
    while (true) {
      try {
        this.#budget.check(this.#clock.now());
        if (control.stopping) return this.#drain();
        if (control.generation !== generation) return "switch";
        if (control.reconnects !== this.#reconnects) this.#connectAgain();
        if (this.#inPool === 0) {
          // Nothing to collect from the pool: block on the clients, like a C REP loop;
          // idle for CONTROL_POLL_MS, add up the counts kept.
          if (this.#serveClient(0)) {
            this.#idle.worked();
          } else {
            this.#counter.flush();
            this.#idle.rest();
          }
          continue;
        }
        let worked = this.#collectFromPool();
        worked = this.#serveClient(ZMQ_DONTWAIT) || worked;
        if (worked) this.#idle.worked();
        if (!worked) {
          this.#counter.flush();
          this.#poller!.poll(CONTROL_POLL_MS);
        }
      } catch (error) {
        if (isInterrupted(error)) continue;
        if (isTerminated(error)) return "terminated";
        throw error;
      }
    }
  }

  /**
   * Connects again to every `--connect` endpoint, without a frame limit (see
   * `lookup_pool.ts`), then puts the bound endpoints' limit back on the socket.
   */
  #connectAgain(): void {
    this.#reconnects = this.#control.reconnects;
    const router = this.#router;
    for (const endpoint of this.#connect) {
      try {
        router.disconnect(endpoint);
      } catch {
        // Already gone from libzmq's list: connect below.
      }
      router.setMaxMessageSize(-1);
      router.connect(endpoint);
    }
    router.setMaxMessageSize(this.#frameLimit);
  }

  /**
   * Switches to another database's responder (a new cache, too).
   *
   * @param responder the new responder
   * @returns whether it replaced a different one (whose database can now be freed)
   */
  useResponder(responder: GeoipResponder): boolean {
    if (responder === this.#responder) return false;
    this.#responder = responder;
    this.#counter.flush();
    this.#counter = this.#newCounter(responder);
    return true;
  }

  /** A counter that keeps its counts, timing requests on the loop's clock. */
  #newCounter(responder: GeoipResponder): RequestCounter {
    const clock = this.#clock;
    return new RequestCounter(this.#metrics, responder, "zmq", {
      defer: true,
      now: () => clock.now(),
    });
  }

  /**
   * Takes no new requests beyond those already waiting: answers (or hands to the pool)
   * every request queued in the ROUTER, passes on the pool's replies still due, until
   * done or {@linkcode DRAIN_TIMEOUT_MS}; then tells the main thread how many were
   * answered and how many were left unanswered.
   */
  #drain(): LoopExit {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    const before = this.#inPool;
    let received = 0;
    while (Date.now() < deadline && this.#serveClient(ZMQ_DONTWAIT)) received++;
    while (this.#inPool > 0 && Date.now() < deadline) {
      if (!this.#collectFromPool()) this.#poller!.poll(CONTROL_POLL_MS);
    }
    // What the time left unanswered is counted: the pool's, then those still queued.
    let dropped = this.#inPool;
    const router = this.#router;
    while (
      dropped < MAX_DROPS_COUNTED && router.tryReceiveFrameInto(this.#request, ZMQ_DONTWAIT) >= 0
    ) {
      while (router.hasMore()) router.receiveFrameInto(this.#request, 0);
      dropped++;
    }
    this.#control.recordDrain(before + received - this.#inPool, dropped);
    return "stop";
  }

  /**
   * Receives one client request and answers it or passes it to the pool.
   *
   * @returns false when `ZMQ_DONTWAIT` was set and nothing was waiting
   */
  #serveClient(flags: number): boolean {
    const router = this.#router;
    const request = this.#request;
    const budget = this.#budget;
    const envelope = this.#envelope;
    // The routing id, with the connection it came through.
    const first = this.#first;
    let size = first.tryReceive(router, flags);
    if (size < 0) return false;
    const fd = first.sourceFd();
    first.copyInto(request, size);
    budget.arrived(fd, request, size);
    const address = this.#rateLimiter === null
      ? undefined
      : budget.peerAddress(fd, () => first.property(PEER_ADDRESS));
    // The routing id stays in `first` until the next request's receive releases it.
    const started = this.#clock.now();
    let wireBytes = 0;
    let wireFrames = 0;
    envelope.reset();
    let problem: string | undefined;
    // A ROUTER's first frame is the routing id it prepends, always followed by more: ask
    // libzmq (ZMQ_RCVMORE) only from the second frame on.
    do {
      // The frame just received was part of the envelope: keep it for the reply.
      problem = envelope.take(request, size, problem);
      size = router.receiveFrameInto(request, 0);
      wireBytes += size;
      wireFrames++;
    } while (router.hasMore());
    if (envelope.count === 0) return true; // no routing id to answer: drop
    if (!budget.took(fd, wireBytes, wireFrames)) {
      // Its peer has not read the replies it has: answering would only queue more.
      this.#metrics.recordLimited("not_reading");
      return true;
    }
    // Date.now(): the clock of every thread that shares the limiter's buckets.
    if (address !== undefined && address !== "" && !this.#rateLimiter!.allow(address, Date.now())) {
      this.#metrics.recordLimited("rate");
      if (problem === undefined || envelope.hasDelimiter) {
        this.#reply.encode(RATE_LIMITED);
        if (this.#sendEnvelope()) {
          router.sendBytes(this.#reply.bytes, this.#reply.length, ZMQ_DONTWAIT);
        }
      }
      return true;
    }
    if (problem !== undefined && !envelope.hasDelimiter) return true; // cannot be answered
    this.#answer(size, fd, problem, started);
    return true;
  }

  /**
   * Answers the request in the buffer (or an `ERROR` for its problem, its size, a full
   * pool or the client's outbound budget), or hands it to the pool.
   */
  #answer(size: number, fd: number, problem: string | undefined, started: number): void {
    const reply = this.#reply;
    let answered = false;
    if (problem !== undefined) {
      reply.encode(errorReply(problem));
    } else if (size > this.#limits.maxRequestBytes) {
      reply.encode(errorReply(`request larger than ${this.#limits.maxRequestBytes} bytes`));
    } else if (size > SMALL_REQUEST_BYTES && this.#pool !== null && !this.#sharesWork(size)) {
      if (this.#inPool < MAX_IN_POOL && this.#budget.mayQueue(fd)) {
        if (this.#toPool(size, fd)) return; // counted by the pool worker that answers it
      }
      reply.encode(BUSY);
    } else {
      try {
        this.#responder.respondInto(this.#request, size, reply);
        answered = true;
      } catch (error) {
        // The router thread owns the ROUTER and cannot be replaced without dropping every
        // connection: it answers ERROR and goes on.
        reply.encode(
          errorReply(`internal error: ${error instanceof Error ? error.message : error}`),
        );
      }
    }
    const refusal = this.#outbound.refusal(fd, reply.length);
    if (refusal !== undefined) {
      reply.encode(refusal);
      answered = false;
    }
    if (this.#sendEnvelope()) {
      this.#router.sendBytes(reply.bytes, reply.length, ZMQ_DONTWAIT);
      this.#budget.sent(fd, reply.length);
    }
    if (answered) this.#counter.answered(started);
    else this.#counter.refused(started);
  }

  /**
   * Whether the router thread answers a request for the pool itself: when every pool worker
   * already has one and the request is short enough not to hold the other clients up long.
   */
  #sharesWork(size: number): boolean {
    return size <= SHARED_REQUEST_BYTES && this.#inPool >= this.#poolWorkers;
  }

  /** @returns whether the reply may follow the envelope (see `Envelope.sendTo`) */
  #sendEnvelope(): boolean {
    const refused = this.#envelope.sendTo(this.#router);
    if (refused === 0) return true;
    this.#replyDropped(refused);
    return false;
  }

  /** Counts a reply the ROUTER refused: a full queue is a peer that does not read. */
  #replyDropped(reason: number): void {
    if (reason === Errno.EAGAIN) this.#metrics.recordLimited("not_reading");
  }

  /**
   * Hands the request in the buffer to the pool as `[marker, envelope..., empty,
   * request]`; the REP socket there sends `[marker, envelope..., empty, reply]` back.
   *
   * @returns false when there is no pool or its queue is full
   */
  #toPool(size: number, fd: number): boolean {
    const pool = this.#pool;
    if (pool === null) return false;
    const marker = this.#marker;
    marker[0] = this.#envelope.hasDelimiter ? 1 : 0;
    this.#markerView.setInt32(1, fd, true);
    if (!pool.sendFrame(marker, ZMQ_SNDMORE | ZMQ_DONTWAIT)) return false;
    this.#envelope.sendToPool(pool);
    pool.sendBytes(this.#request, size, 0);
    this.#inPool++;
    this.#budget.queued(fd);
    return true;
  }

  /**
   * Passes every reply waiting from the pool on to its client, without copying it.
   *
   * @returns whether there was one
   */
  #collectFromPool(): boolean {
    const pool = this.#pool!;
    const router = this.#router;
    const message = this.#message;
    let collected = false;
    while (pool.tryReceiveFrameInto(this.#marker, ZMQ_DONTWAIT) >= 0) {
      collected = true;
      this.#inPool--;
      const withDelimiter = this.#marker[0] === 1;
      const fd = this.#markerView.getInt32(1, true);
      this.#budget.dequeued(fd);
      // Envelope frames up to the empty delimiter go back to the ROUTER as they are; the
      // first may be refused (the client does not read, or is gone): then drop the rest.
      let refused = 0;
      for (let first = true;; first = false) {
        const size = message.receive(pool, 0);
        if (size === 0) {
          message.discard();
          break;
        }
        if (refused !== 0) message.discard();
        else if (first) refused = message.trySend(router, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        else message.send(router, ZMQ_SNDMORE | ZMQ_DONTWAIT);
      }
      const size = message.receive(pool, 0);
      if (refused !== 0) {
        message.discard();
        this.#replyDropped(refused);
        continue;
      }
      if (withDelimiter) router.sendFrame(EMPTY, ZMQ_SNDMORE | ZMQ_DONTWAIT);
      const refusal = this.#outbound.refusal(fd, size);
      if (refusal === undefined) {
        message.send(router, ZMQ_DONTWAIT);
        this.#budget.sent(fd, size);
      } else {
        message.discard();
        this.#refusal.encode(refusal);
        router.sendBytes(this.#refusal.bytes, this.#refusal.length, ZMQ_DONTWAIT);
        this.#budget.sent(fd, this.#refusal.length);
      }
    }
    return collected;
  }
}

/**
 * The loop of the front-end worker: it owns the ROUTER socket bound to every endpoint
 * and answers small requests (one address, `ping`, `info`) itself, since with the answer
 * cache such a request costs about a microsecond, less than handing it to another
 * thread. Larger requests (batches, up to the size limit) go to the pool workers over
 * an `inproc://` DEALER, and their replies come back through here. Without pool workers
 * it answers everything itself.
 *
 * Envelopes follow the ZeroMQ Guide: a REQ client's message reaches the ROUTER as
 * `[routing id, empty delimiter, request]` and the reply goes back with the same frames
 * in front; a DEALER that sends `[request]` without a delimiter gets `[reply]` back.
 *
 * @module
 */

import {
  Errno,
  isInterrupted,
  isTerminated,
  type Libzmq,
  MonotonicClock,
  ZMQ_DONTWAIT,
  ZMQ_SNDMORE,
  ZmqMessage,
  ZmqPoller,
  type ZmqSocket,
} from "../zmq/mod.ts";
import { CONTROL_POLL_MS } from "../worker/mod.ts";
import type { LoopControl } from "./loop_control.ts";
import { IdleCollector } from "./idle_collector.ts";
import type { LoopExit } from "./pool_loop.ts";
import {
  errorReply,
  replyTooLargeReason,
  type RequestLimits,
  unreadRepliesReason,
} from "../protocol/mod.ts";
import { type RateLimiter, ReplyBuffer } from "../lookup/mod.ts";
import { RequestCounter } from "../lookup/mod.ts";
import type { GeoipResponder } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import type { ConnectionBudget } from "./connection_budget.ts";

/** Requests up to this many bytes are answered by the front end itself. */
export const SMALL_REQUEST_BYTES = 64;

/** Envelope frames kept per request; a longer envelope is dropped. */
const MAX_ENVELOPE_FRAMES = 16;
/** The largest envelope frame (ZeroMQ routing ids are at most 255 bytes). */
const MAX_ENVELOPE_FRAME_BYTES = 255;
const EMPTY = new Uint8Array(0);
/**
 * Requests in the pool at most: beyond, a batch is answered "busy" at once rather than
 * queued behind minutes of work (or computed here, holding up every small request).
 */
export const MAX_IN_POOL = 256;
/** The answer to a batch when the pool is full. */
const BUSY = errorReply("busy: too many batches in progress, try again later");
/** The answer to a request over the rate limit. */
const RATE_LIMITED = errorReply("rate limited");
/** The pool marker: whether the reply needs a delimiter (1 byte), the client's fd (4). */
const MARKER_BYTES = 5;

/** What the front end's loop works with. */
export interface RouterLoopOptions {
  /** The library, opened on this thread. */
  lib: Libzmq;
  /** The ROUTER bound to the service's endpoints. */
  router: ZmqSocket;
  /** A DEALER bound to the pool's `inproc://` endpoint, or null without a pool. */
  pool: ZmqSocket | null;
  /** Answers requests. */
  responder: GeoipResponder;
  /** Request bounds. */
  limits: RequestLimits;
  /** The main thread's requests. */
  control: LoopControl;
  /** Where requests are counted. */
  metrics: ServiceMetrics;
  /** The per-connection budgets (and the connections' peer addresses). */
  budget: ConnectionBudget;
  /** The per-address rate limit, or null. */
  rateLimiter: RateLimiter | null;
  /** The endpoints the ROUTER connects to (`--connect`); default none. */
  connect?: readonly string[];
  /** The ROUTER's frame limit for bound endpoints, put back after connecting again. */
  frameLimit?: number;
}

/** The message property that holds a peer's IP address. */
const PEER_ADDRESS = new TextEncoder().encode("Peer-Address\0");

/** How long a stopping front end waits for the pool's replies, in milliseconds. */
const DRAIN_TIMEOUT_MS = 2000;
/** Requests left at the end of a drain are counted up to this many. */
const MAX_DROPS_COUNTED = 100_000;

/**
 * The front end: its sockets and reusable buffers, kept across database switches. The
 * ROUTER needs a receive timeout ({@linkcode CONTROL_POLL_MS}) so an idle loop looks at
 * the control.
 */
export class RouterLoop {
  readonly #router: ZmqSocket;
  readonly #pool: ZmqSocket | null;
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
  readonly #envelope: Uint8Array[];
  readonly #envelopeSizes = new Int32Array(MAX_ENVELOPE_FRAMES);
  readonly #marker = new Uint8Array(MARKER_BYTES);
  readonly #idle: IdleCollector;
  readonly #markerView = new DataView(this.#marker.buffer);
  readonly #budget: ConnectionBudget;
  readonly #rateLimiter: RateLimiter | null;
  /** Receives each request's first frame, to learn its connection. */
  readonly #first: ZmqMessage;
  #envelopeCount = 0;
  #hasDelimiter = false;
  #inPool = 0;
  readonly #connect: readonly string[];
  readonly #frameLimit: number;
  #reconnects: number;

  /** @param options sockets, responder, limits, control and metrics */
  constructor(options: RouterLoopOptions) {
    this.#idle = new IdleCollector({ lib: options.lib });
    this.#router = options.router;
    this.#pool = options.pool;
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
    // Envelope frames (routing ids, up to 255 bytes) are received into it too: never
    // smaller than one, or a small --max-request-bytes would cut routing ids short.
    this.#request = new Uint8Array(
      Math.max(options.limits.maxRequestBytes, MAX_ENVELOPE_FRAME_BYTES) + 1,
    );
    this.#envelope = Array.from(
      { length: MAX_ENVELOPE_FRAMES },
      () => new Uint8Array(MAX_ENVELOPE_FRAME_BYTES),
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
    first.discard();
    const started = this.#clock.now();
    let wireBytes = 0;
    let wireFrames = 0;
    this.#envelopeCount = 0;
    this.#hasDelimiter = false;
    let problem: string | undefined;
    // A ROUTER's first frame is the routing id it prepends, always followed by more: ask
    // libzmq (ZMQ_RCVMORE) only from the second frame on.
    do {
      // The frame just received was part of the envelope: keep it for the reply.
      if (problem !== undefined) {
        // Already refused: receive the rest, noting the delimiter the reply needs.
        if (size === 0) this.#hasDelimiter = true;
      } else if (this.#hasDelimiter) {
        problem = "a request must be a single frame";
      } else if (size > MAX_ENVELOPE_FRAME_BYTES) {
        problem = `an envelope frame of ${size} bytes; routing frames are at most ` +
          `${MAX_ENVELOPE_FRAME_BYTES}`;
      } else if (size === 0) {
        this.#hasDelimiter = true;
      } else if (this.#envelopeCount < MAX_ENVELOPE_FRAMES) {
        const kept = this.#envelope[this.#envelopeCount]!;
        for (let i = 0; i < size; i++) kept[i] = request[i]!;
        this.#envelopeSizes[this.#envelopeCount++] = size;
      } else {
        problem = `more than ${MAX_ENVELOPE_FRAMES} envelope frames`;
      }
      size = router.receiveFrameInto(request, 0);
      wireBytes += size;
      wireFrames++;
    } while (router.hasMore());
    if (this.#envelopeCount === 0) return true; // no routing id to answer: drop
    if (!budget.took(fd, wireBytes, wireFrames)) {
      // Its peer has not read the replies it has: answering would only queue more.
      this.#metrics.recordLimited("not_reading");
      return true;
    }
    if (address !== undefined && address !== "") {
      // Date.now(): the clock of every thread that shares the limiter's buckets.
      if (!this.#rateLimiter!.allow(address, Date.now())) {
        this.#metrics.recordLimited("rate");
        if (problem === undefined || this.#hasDelimiter) {
          this.#reply.encode(RATE_LIMITED);
          if (this.#sendEnvelope()) {
            router.sendBytes(this.#reply.bytes, this.#reply.length, ZMQ_DONTWAIT);
          }
        }
        return true;
      }
    }
    const reply = this.#reply;
    let answered = false;
    if (problem !== undefined) {
      if (!this.#hasDelimiter) return true; // an envelope we cannot send back: drop
      reply.encode(errorReply(problem));
    } else if (size > this.#limits.maxRequestBytes) {
      reply.encode(errorReply(`request larger than ${this.#limits.maxRequestBytes} bytes`));
    } else if (size > SMALL_REQUEST_BYTES && this.#pool !== null) {
      if (this.#inPool < MAX_IN_POOL && budget.mayQueue(fd)) {
        if (this.#toPool(size, fd)) return true; // counted by the pool worker that answers it
      }
      reply.encode(BUSY);
    } else {
      try {
        this.#responder.respondInto(request, size, reply);
        answered = true;
      } catch (error) {
        // The front end owns the ROUTER and cannot be replaced without dropping every
        // connection: it answers ERROR and goes on.
        reply.encode(
          errorReply(`internal error: ${error instanceof Error ? error.message : error}`),
        );
      }
    }
    const refusal = this.#outboundRefusal(fd, reply.length);
    if (refusal !== undefined) {
      reply.encode(refusal);
      answered = false;
    }
    if (this.#sendEnvelope()) {
      router.sendBytes(reply.bytes, reply.length, ZMQ_DONTWAIT);
      budget.sent(fd, reply.length);
    }
    if (answered) this.#counter.answered(started);
    else this.#counter.refused(started);
    return true;
  }

  /**
   * Sends the kept envelope (and delimiter) to the client, ahead of the reply. The
   * ROUTER is `ZMQ_ROUTER_MANDATORY`: a client whose queue is full (it does not read) or
   * who is gone makes the first frame fail, and then nothing is sent.
   *
   * @returns whether the reply may follow
   */
  #sendEnvelope(): boolean {
    const router = this.#router;
    const refused = router.trySendBytes(
      this.#envelope[0]!,
      this.#envelopeSizes[0]!,
      ZMQ_SNDMORE | ZMQ_DONTWAIT,
    );
    if (refused !== 0) {
      this.#replyDropped(refused);
      return false;
    }
    for (let i = 1; i < this.#envelopeCount; i++) {
      router.sendBytes(this.#envelope[i]!, this.#envelopeSizes[i]!, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    }
    if (this.#hasDelimiter) router.sendFrame(EMPTY, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    return true;
  }

  /**
   * The `ERROR` to send instead of a reply that does not fit the client's outbound
   * budget: a reply larger than the whole budget, or one that would pass it on top of what
   * the client has not read yet. Nothing is dropped in silence for a client that reads.
   *
   * @returns the ERROR reply, or undefined when the reply may go
   */
  #outboundRefusal(fd: number, bytes: number): string | undefined {
    const budget = this.#budget;
    const max = budget.maxOutboundBytes;
    if (max <= 0) return undefined;
    if (bytes > max) {
      this.#metrics.recordLimited("reply_size");
      return errorReply(replyTooLargeReason(bytes, max));
    }
    if (budget.mayReply(fd, bytes)) return undefined;
    this.#metrics.recordLimited("outbound_bytes");
    return errorReply(unreadRepliesReason(budget.unreadBytes(fd), max));
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
    marker[0] = this.#hasDelimiter ? 1 : 0;
    this.#markerView.setInt32(1, fd, true);
    if (!pool.sendFrame(marker, ZMQ_SNDMORE | ZMQ_DONTWAIT)) return false;
    for (let i = 0; i < this.#envelopeCount; i++) {
      pool.sendBytes(this.#envelope[i]!, this.#envelopeSizes[i]!, ZMQ_SNDMORE);
    }
    pool.sendFrame(EMPTY, ZMQ_SNDMORE);
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
      const refusal = this.#outboundRefusal(fd, size);
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

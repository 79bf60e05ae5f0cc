/**
 * The client sockets of one run of the TypeScript load generator: the requests each keeps
 * in flight, the replies taken and checked, and the latencies of the measured window.
 *
 * Nothing here allocates per request: requests come from the pool, replies go into one
 * reusable buffer, latencies into a `Float64Array` that doubles when full.
 *
 * @module
 */

import {
  SocketOption,
  SocketType,
  ZMQ_DONTWAIT,
  ZMQ_POLLIN,
  ZMQ_SNDMORE,
  type ZmqContext,
  type ZmqSocket,
} from "../../lib/zmq/mod.ts";

/** `ZMQ_EVENTS` from `zmq.h`: which of POLLIN/POLLOUT a socket could do now. */
const ZMQ_EVENTS = 15;
const NEWLINE = 10;
const REPLY_BUFFER_BYTES = 256 * 1024;
const EMPTY = new Uint8Array(0);
const UNANSWERED_MS = 1000;
const decoder = new TextDecoder();

function startsWithError(buffer: Uint8Array, size: number): boolean {
  return size >= 5 && buffer[0] === 69 && buffer[1] === 82 && buffer[2] === 82 &&
    buffer[3] === 79 && buffer[4] === 82;
}

function countLines(buffer: Uint8Array, size: number): number {
  let lines = 1;
  for (let i = 0; i < size; i++) if (buffer[i] === NEWLINE) lines++;
  return lines;
}

/**
 * Whether the first `size` bytes of a buffer are those expected.
 *
 * @param buffer the reply buffer
 * @param size the reply's length
 * @param expected the reference answer
 * @returns true when they are the same bytes
 */
export function sameBytes(buffer: Uint8Array, size: number, expected: Uint8Array): boolean {
  if (expected.length !== size) return false;
  for (let i = 0; i < size; i++) if (buffer[i] !== expected[i]) return false;
  return true;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

/** How the clients of a run send and what their replies are checked against. */
export interface ClientsPlan {
  /** The scenario's name, in the examples of problems. */
  name: string;
  /** REQ (lock-step) or DEALER (pipelined). */
  socketType: typeof SocketType.REQ | typeof SocketType.DEALER;
  /** Client sockets. */
  clients: number;
  /** Requests each client keeps in flight. */
  inFlight: number;
  /** The requests, sent in turn. */
  requests: readonly Uint8Array[];
  /** The reference answer of each request, or null to check only the number of lines. */
  expected: readonly Uint8Array[] | null;
  /** Addresses per request: the lines a reply has when there is no reference. */
  lookupsPerRequest: number;
  /** Where in `requests` to start. */
  poolOffset: number;
}

/** What the replies of a run came to. */
export interface ReplyCounts {
  /** Replies received in the measured window. */
  measured: number;
  /** Median latency, milliseconds. */
  p50Ms: number;
  /** 99th percentile latency, milliseconds. */
  p99Ms: number;
  /** Largest latency, milliseconds. */
  maxMs: number;
  /** `ERROR` replies, malformed or cut replies, and requests unanswered for over 1 s. */
  errors: number;
  /** Replies that differ from the reference answer. */
  wrong: number;
  /** Replies compared with a reference answer. */
  checked: number;
  /** The first few problems. */
  examples: string[];
}

/**
 * The client sockets of a run, each with its slots of requests in flight.
 *
 * @example
 * ```ts ignore
 * const clients = new ScenarioClients(plan);
 * clients.connect(context, "tcp://127.0.0.1:5555");
 * clients.fillAll();
 * // poll; for each readable client c: clients.drain(c, warmEnd)
 * const counts = clients.finish(performance.now());
 * ```
 */
export class ScenarioClients {
  /** The sockets, one per client, once connected. */
  readonly sockets: ZmqSocket[] = [];
  /** Whether a send would have blocked: the next turn fills every client again. */
  blocked = false;
  readonly #plan: ClientsPlan;
  readonly #dealer: boolean;
  readonly #slots: number;
  // Slot s of client c is at c * slots + s: the pool index in flight there (-1: free) and
  // when it was sent.
  readonly #slotRequest: Int32Array;
  readonly #slotSentAt: Float64Array;
  readonly #live: Int32Array;
  #cursor: number;
  readonly #reply = new Uint8Array(REPLY_BUFFER_BYTES);
  #latencies = new Float64Array(1 << 20);
  #measured = 0;
  #errors = 0;
  #wrong = 0;
  #checked = 0;
  readonly #examples: string[] = [];

  /** @param plan the clients, their requests and the reference answers */
  constructor(plan: ClientsPlan) {
    this.#plan = plan;
    this.#dealer = plan.socketType === SocketType.DEALER;
    this.#slots = plan.inFlight;
    this.#slotRequest = new Int32Array(plan.clients * plan.inFlight).fill(-1);
    this.#slotSentAt = new Float64Array(plan.clients * plan.inFlight);
    this.#live = new Int32Array(plan.clients);
    this.#cursor = plan.poolOffset % plan.requests.length;
  }

  /**
   * Opens and connects every client's socket.
   *
   * @param context the ZeroMQ context
   * @param endpoint the server
   */
  connect(context: ZmqContext, endpoint: string): void {
    for (let c = 0; c < this.#plan.clients; c++) {
      const socket = context.socket(this.#plan.socketType);
      socket.setOption(SocketOption.LINGER, 0);
      socket.connect(endpoint);
      this.sockets.push(socket);
    }
  }

  /** Fills every client's free slots. */
  fillAll(): void {
    this.blocked = false;
    for (let c = 0; c < this.#plan.clients; c++) this.#fill(c);
  }

  /**
   * Takes the replies waiting on a readable client (at most one round of its slots, so
   * that a fast server cannot keep the loop on one socket past the end time), checks them,
   * frees their slots and sends again.
   *
   * @param client the client's index
   * @param warmEnd when the measured window starts, in `performance.now()` time
   */
  drain(client: number, warmEnd: number): void {
    const socket = this.sockets[client]!;
    let round = this.#slots;
    do {
      const size = this.#receive(socket);
      if (size === undefined) continue;
      const at = performance.now();
      const isError = this.#isError(size);
      if (isError) this.#errors++;
      const slot = this.#dealer ? this.#matchSlot(client, size, isError) : client;
      if (!this.#dealer && this.#plan.expected !== null && !isError) {
        this.#checked++;
        if (!sameBytes(this.#reply, size, this.#plan.expected[this.#slotRequest[slot]!]!)) {
          this.#wrong++;
          this.#note("differs from the C loop", size);
        }
      }
      if (slot >= 0) {
        if (at >= warmEnd) this.#addLatency(at - this.#slotSentAt[slot]!);
        this.#slotRequest[slot] = -1;
        this.#live[client]!--;
      }
      this.#fill(client);
    } while (--round > 0 && (socket.getOption(ZMQ_EVENTS) & ZMQ_POLLIN) !== 0);
  }

  /**
   * Counts the requests still unanswered after a second as errors, and sums up.
   *
   * @param finished when the run ended, in `performance.now()` time
   * @returns the counts and the latency percentiles of the measured window
   */
  finish(finished: number): ReplyCounts {
    for (let slot = 0; slot < this.#slotRequest.length; slot++) {
      if (
        this.#slotRequest[slot] !== -1 && finished - this.#slotSentAt[slot]! > UNANSWERED_MS
      ) {
        this.#errors++;
        if (this.#examples.length < 5) {
          this.#examples.push(`${this.#plan.name}: a request unanswered for > 1 s`);
        }
      }
    }
    const measured = this.#measured;
    const sorted = this.#latencies.subarray(0, measured).sort();
    return {
      measured,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: measured > 0 ? sorted[measured - 1]! : NaN,
      errors: this.#errors,
      wrong: this.#wrong,
      checked: this.#checked,
      examples: this.#examples,
    };
  }

  /** Closes every socket. */
  close(): void {
    for (const socket of this.sockets) socket.close();
  }

  /** Receives one reply into the buffer: its size, or undefined for a broken envelope. */
  #receive(socket: ZmqSocket): number | undefined {
    if (!this.#dealer) return socket.receiveFrameInto(this.#reply, ZMQ_DONTWAIT);
    const delimiter = socket.receiveFrameInto(this.#reply, ZMQ_DONTWAIT);
    if (delimiter !== 0 || !socket.hasMore()) {
      while (socket.hasMore()) socket.receiveFrameInto(this.#reply, 0);
      this.#errors++;
      this.#note(
        "reply without the empty delimiter frame",
        Math.min(delimiter, this.#reply.length),
      );
      return undefined;
    }
    return socket.receiveFrameInto(this.#reply, 0);
  }

  /** Whether the reply in the buffer is an error, too large, or has too few lines. */
  #isError(size: number): boolean {
    const reply = this.#reply;
    if (size > reply.length) {
      this.#note(`reply of ${size} bytes, larger than the buffer`, reply.length);
      return true;
    }
    if (startsWithError(reply, size)) {
      this.#note("ERROR reply", size);
      return true;
    }
    const lookups = this.#plan.lookupsPerRequest;
    if (this.#plan.expected === null && countLines(reply, size) !== lookups) {
      this.#note(`reply without ${lookups} line(s)`, size);
      return true;
    }
    return false;
  }

  #sendInto(client: number, slot: number): boolean {
    const socket = this.sockets[client]!;
    const index = this.#cursor;
    const request = this.#plan.requests[index]!;
    if (this.#dealer) {
      if (!socket.sendFrame(EMPTY, ZMQ_SNDMORE | ZMQ_DONTWAIT)) return false;
      socket.sendFrame(request, 0);
    } else if (!socket.sendFrame(request, ZMQ_DONTWAIT)) {
      return false;
    }
    this.#cursor = this.#cursor + 1 === this.#plan.requests.length ? 0 : this.#cursor + 1;
    this.#slotRequest[client * this.#slots + slot] = index;
    this.#slotSentAt[client * this.#slots + slot] = performance.now();
    this.#live[client]!++;
    return true;
  }

  #fill(client: number): void {
    const slots = this.#slots;
    for (let slot = 0; slot < slots && this.#live[client]! < slots; slot++) {
      if (this.#slotRequest[client * slots + slot] !== -1) continue;
      if (!this.#sendInto(client, slot)) {
        this.blocked = true;
        return;
      }
    }
  }

  /** Picks the slot a DEALER's reply belongs to; counts a wrong reply. */
  #matchSlot(client: number, size: number, isError: boolean): number {
    const expected = this.#plan.expected;
    const sentAt = this.#slotSentAt;
    const base = client * this.#slots;
    let oldest = -1;
    let oldestMatching = -1;
    for (let slot = base; slot < base + this.#slots; slot++) {
      const index = this.#slotRequest[slot]!;
      if (index === -1) continue;
      if (oldest === -1 || sentAt[slot]! < sentAt[oldest]!) oldest = slot;
      if (
        expected !== null && !isError &&
        (oldestMatching === -1 || sentAt[slot]! < sentAt[oldestMatching]!) &&
        sameBytes(this.#reply, size, expected[index]!)
      ) {
        oldestMatching = slot;
      }
    }
    if (expected !== null && !isError) {
      this.#checked++;
      if (oldestMatching === -1) {
        this.#wrong++;
        this.#note("differs from the C loop", size);
      }
    }
    return oldestMatching !== -1 ? oldestMatching : oldest;
  }

  #addLatency(ms: number): void {
    if (this.#measured === this.#latencies.length) {
      const larger = new Float64Array(this.#latencies.length * 2);
      larger.set(this.#latencies);
      this.#latencies = larger;
    }
    this.#latencies[this.#measured++] = ms;
  }

  #note(problem: string, size: number): void {
    if (this.#examples.length >= 5) return;
    const text = decoder.decode(this.#reply.subarray(0, Math.min(size, 200, this.#reply.length)));
    this.#examples.push(`${this.#plan.name}: ${problem}: ${JSON.stringify(text)}`);
  }
}

/**
 * The soak's load, on a Worker of its own (this module): REQ and DEALER clients in
 * lock-step, paced to a rate, every reply checked, sockets replaced every
 * `restartEveryMs` and after a timeout. Counters live in shared memory, with a stop flag
 * the main thread sets.
 *
 * @module
 */

import { mulberry32 } from "../bench/mod.ts";
import {
  Libzmq,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqPoller,
  type ZmqSocket,
} from "../../lib/zmq/mod.ts";

/** Addresses in a batch request. */
const BATCH_SIZE = 10;

/** Indexes of the counters in the shared `Int32Array`. */
export const STAT = {
  sent: 0,
  replies: 1,
  errors: 2,
  timeouts: 3,
  malformed: 4,
  restarts: 5,
  abandoned: 6,
  stop: 7,
} as const;
/** How many counters {@linkcode STAT} names. */
export const STAT_COUNT = 8;

/** What the Worker is started with. */
export interface LoadSetup {
  /** The libzmq to load. */
  libzmqPath: string;
  /** The service. */
  endpoint: string;
  /** Client sockets, half REQ and half DEALER. */
  clients: number;
  /** Requests a second, 0 for as many as possible. */
  rate: number;
  /** Time between restarts of every client. */
  restartEveryMs: number;
  /** How long a request may wait for its reply before its socket is replaced. */
  timeoutMs: number;
  /** The seed of the address PRNG. */
  seed: number;
  /** The counters of {@linkcode STAT}. */
  shared: SharedArrayBuffer;
  /** The loop ends by itself after this long, should the stop flag never come. */
  maxRunMs: number;
}

/** What the Worker reports when it has stopped. */
export interface LoadDone {
  /** The first problems seen. */
  examples: string[];
  /** Why the load itself failed, if it did. */
  failure?: string;
}

/** What a request asks. */
type RequestKind = "geoip" | "batch" | "json" | "ping";

/** One client socket and its request in flight. */
interface Client {
  socket: ZmqSocket;
  dealer: boolean;
  /** The kind of the request in flight, or null. */
  pending: RequestKind | null;
  sentAt: number;
}

/** Why a reply is wrong: "error" for an ERROR reply, a description, or undefined. */
function replyProblem(kind: RequestKind, reply: string, frames: number): string | undefined {
  if (frames !== 1) return `a reply of ${frames} frames`;
  if (reply.startsWith("ERROR")) return "error";
  if (kind === "ping") return reply === "pong" ? undefined : "ping not answered pong";
  if (kind === "json") {
    try {
      const value = JSON.parse(reply);
      return typeof value.ip === "string" ? undefined : "a JSON answer without ip";
    } catch {
      return "invalid JSON";
    }
  }
  const lines = reply.split("\n");
  if (lines.length !== (kind === "batch" ? BATCH_SIZE : 1)) return `${lines.length} lines`;
  for (const line of lines) {
    if (line.startsWith("ERROR")) return "error";
    if (line !== "NOT_FOUND" && line.split("\t").length !== 8) return "a line without 8 fields";
  }
  return undefined;
}

/** The requests: 80 % `geoip`, 10 % batches, 9 % `json`, 1 % `ping`, on random addresses. */
class Requests {
  readonly #random: () => number;

  constructor(seed: number) {
    this.#random = mulberry32(seed);
  }

  /** The next request: its kind and text. */
  next(): { kind: RequestKind; text: string } {
    const roll = this.#random() % 100;
    const kind = roll < 80 ? "geoip" : roll < 90 ? "batch" : roll < 99 ? "json" : "ping";
    const address = () => this.#address();
    const text = kind === "geoip"
      ? `geoip ${address()}`
      : kind === "batch"
      ? `geoip ${Array.from({ length: BATCH_SIZE }, address).join(" ")}`
      : kind === "json"
      ? `json ${address()}`
      : "ping";
    return { kind, text };
  }

  /** A random public-looking IPv4 address (not 0/8, not multicast or above). */
  #address(): string {
    let value = this.#random();
    while ((value >>> 24) === 0 || (value >>> 24) >= 224) value = this.#random();
    return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
  }
}

/** The client sockets, their requests in flight, and the counters. */
class LoadClients {
  readonly #setup: LoadSetup;
  readonly #lib: Libzmq;
  readonly #context: ZmqContext;
  readonly #stats: Int32Array;
  readonly #clients: Client[];
  readonly examples: string[] = [];
  #poller: ZmqPoller;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();

  constructor(setup: LoadSetup, zmq: { lib: Libzmq; context: ZmqContext }) {
    this.#setup = setup;
    this.#lib = zmq.lib;
    this.#context = zmq.context;
    this.#stats = new Int32Array(setup.shared);
    this.#clients = Array.from({ length: setup.clients }, (_, i) => this.#open(i));
    this.#poller = this.#newPoller();
  }

  /** Closes every socket and opens it again; requests in flight are abandoned. */
  restartAll(): void {
    for (let i = 0; i < this.#clients.length; i++) {
      if (this.#clients[i]!.pending !== null) Atomics.add(this.#stats, STAT.abandoned, 1);
      this.#replace(i);
    }
    this.#poller = this.#newPoller();
    Atomics.add(this.#stats, STAT.restarts, 1);
  }

  /**
   * Sends a request on every idle client while the rate allows.
   *
   * @param requests where the requests come from
   * @param allowed whether one more request may be sent now
   * @param now the time of this turn, in `performance.now()` time
   */
  sendDue(requests: Requests, allowed: () => boolean, now: number): void {
    const empty = new Uint8Array(0);
    for (const client of this.#clients) {
      if (client.pending !== null) continue;
      if (!allowed()) break;
      const { kind, text } = requests.next();
      const body = this.#encoder.encode(text);
      const frames = client.dealer ? [empty, body] : [body];
      if (!client.socket.send(frames, { dontWait: true })) continue;
      client.pending = kind;
      client.sentAt = now;
      Atomics.add(this.#stats, STAT.sent, 1);
    }
  }

  /**
   * Waits for replies, checks them, and replaces the sockets of requests that timed out.
   *
   * @param timeoutMs how long to wait in `zmq_poll`
   */
  takeReplies(timeoutMs: number): void {
    this.#poller.poll(timeoutMs);
    const now = performance.now();
    let replaced = false;
    for (let i = 0; i < this.#clients.length; i++) {
      const client = this.#clients[i]!;
      if (client.pending === null) continue;
      if (this.#poller.readable(i)) {
        this.#takeReply(client, client.pending);
      } else if (now - client.sentAt > this.#setup.timeoutMs) {
        Atomics.add(this.#stats, STAT.timeouts, 1);
        this.#note(`no reply to ${client.pending} in ${this.#setup.timeoutMs} ms`, "");
        this.#replace(i);
        replaced = true;
      }
    }
    if (replaced) this.#poller = this.#newPoller();
  }

  /** Closes every socket. */
  close(): void {
    for (const client of this.#clients) client.socket.close();
  }

  #takeReply(client: Client, kind: RequestKind): void {
    const frames = client.socket.receive({ dontWait: true });
    if (frames === null) return;
    const body = client.dealer ? frames.slice(1) : frames;
    const reply = body.length === 1 ? this.#decoder.decode(body[0]) : "";
    Atomics.add(this.#stats, STAT.replies, 1);
    const problem = replyProblem(kind, reply, body.length);
    if (problem === "error") {
      Atomics.add(this.#stats, STAT.errors, 1);
      this.#note(`ERROR reply to ${kind}`, reply);
    } else if (problem !== undefined) {
      Atomics.add(this.#stats, STAT.malformed, 1);
      this.#note(problem, reply);
    }
    client.pending = null;
  }

  #open(index: number): Client {
    const dealer = index % 2 === 1;
    const socket = this.#context.socket(dealer ? SocketType.DEALER : SocketType.REQ);
    socket.setOption(SocketOption.LINGER, 0);
    socket.connect(this.#setup.endpoint);
    return { socket, dealer, pending: null, sentAt: 0 };
  }

  #replace(index: number): void {
    this.#clients[index]!.socket.close();
    this.#clients[index] = this.#open(index);
  }

  #newPoller(): ZmqPoller {
    return new ZmqPoller(this.#lib, this.#clients.map((c) => c.socket));
  }

  #note(problem: string, reply: string): void {
    if (this.examples.length < 10) {
      this.examples.push(`${problem}: ${JSON.stringify(reply.slice(0, 200))}`);
    }
  }
}

/**
 * The load loop: lock-step clients paced to the rate, every reply checked, sockets
 * replaced every `restartEveryMs` and after a timeout. Returns when the stop flag is set.
 *
 * @param setup what to load, how hard, and the shared counters
 * @param zmq the loaded libzmq and a context on it
 * @returns the first problems, and why the load failed if it did
 */
export function runLoad(setup: LoadSetup, zmq: { lib: Libzmq; context: ZmqContext }): LoadDone {
  const stats = new Int32Array(setup.shared);
  const requests = new Requests(setup.seed);
  const clients = new LoadClients(setup, zmq);
  const started = performance.now();
  let nextRestart = started + setup.restartEveryMs;
  const maxIterations = 1e12; // with the time limit below: the stop flag ends it before
  try {
    for (let iteration = 0; iteration < maxIterations; iteration++) {
      if (Atomics.load(stats, STAT.stop) !== 0) break;
      const now = performance.now();
      if (now - started > setup.maxRunMs) throw new Error("the load ran past its time limit");
      if (now >= nextRestart) {
        clients.restartAll();
        nextRestart = now + setup.restartEveryMs;
      }
      const allowed = () =>
        setup.rate === 0 || Atomics.load(stats, STAT.sent) < (setup.rate * (now - started)) / 1000;
      clients.sendDue(requests, allowed, now);
      clients.takeReplies(setup.rate > 0 ? 5 : 50);
    }
    return { examples: clients.examples };
  } catch (error) {
    return { examples: clients.examples, failure: (error as Error).message ?? String(error) };
  } finally {
    clients.close();
  }
}

// deno-lint-ignore no-explicit-any
const workerScope = globalThis as any;
if (typeof workerScope.WorkerGlobalScope !== "undefined") {
  workerScope.onmessage = async (event: MessageEvent<LoadSetup>) => {
    const lib = Libzmq.open(event.data.libzmqPath);
    const context = ZmqContext.create(lib);
    const done: LoadDone = runLoad(event.data, { lib, context });
    await context.terminate();
    workerScope.postMessage(done);
  };
}

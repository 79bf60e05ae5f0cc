/**
 * A load generator in TypeScript, on the project's own FFI binding: many ZeroMQ clients
 * driven by one thread with `zmq_poll`, sending `geoip` requests from a fixed pool of
 * addresses for a fixed time and measuring throughput, latency and the correctness of every
 * reply. `scripts/lockstep_load.ts` runs it against one service; `deno task bench` loads
 * servers with the native generator (`scripts/baselines/c_load/geoip_load.c`), which leaves the cores to the
 * server, and takes from here the request pool, the reference answers and `/proc` CPU times.
 *
 * The hot loop allocates nothing per request: requests are encoded once into the pool,
 * replies are received into one reusable buffer, latencies go into a `Float64Array`
 * (only `ZmqPoller.poll` makes a BigInt per call, for its timeout).
 *
 * The loop blocks its thread, so {@linkcode LoadGenerator} runs it in a Worker (this same
 * module) and the caller's thread stays free for signals and child processes. The pure
 * functions ({@linkcode makeRequestPool}, {@linkcode fetchAnswers},
 * {@linkcode runScenario}) can also be called directly.
 *
 * @module
 */

import {
  Errno,
  Libzmq,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqError,
  ZmqPoller,
} from "../../lib/zmq/mod.ts";
import { CpuWindow } from "./cpu_time.ts";
import { sameBytes, ScenarioClients } from "./scenario_clients.ts";

const encoder = new TextEncoder();
const NEWLINE = 10;

/** The requests every server is sent: the same addresses, encoded once. */
export interface RequestPool {
  /** The PRNG seed the addresses came from. */
  seed: number;
  /** The addresses, dotted quads. */
  addresses: string[];
  /** `geoip <ip>` for each address, in order. */
  singles: Uint8Array[];
  /** `geoip <ip> <ip> ...`: address `k * batchSize` onwards, `batchSize` of them. */
  batches: Uint8Array[];
  /** Addresses per batch request. */
  batchSize: number;
}

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same addresses. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Makes the request pool: random unicast IPv4 addresses (first octet 1-223, without 10/8
 * and 127/8), as single and as batch requests.
 *
 * @param options PRNG seed, number of addresses, addresses per batch request
 * @returns the pool; the same options always give the same pool
 */
export function makeRequestPool(
  options: { seed: number; addresses: number; batchSize: number },
): RequestPool {
  const next = mulberry32(options.seed);
  const addresses: string[] = [];
  while (addresses.length < options.addresses) {
    const value = next();
    const first = value >>> 24;
    if (first === 0 || first === 10 || first === 127 || first >= 224) continue;
    addresses.push(`${first}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`);
  }
  return requestPoolOf(addresses, { seed: options.seed, batchSize: options.batchSize });
}

/**
 * Makes a request pool of given addresses.
 *
 * @example
 * ```ts
 * const pool = requestPoolOf(["1.2.3.4", "5.6.7.8"], { seed: 0, batchSize: 2 });
 * console.log(pool.batches.length); // 1
 * ```
 *
 * @param addresses the addresses
 * @param options the seed to record, addresses per batch request
 * @returns the pool
 */
export function requestPoolOf(
  addresses: string[],
  options: { seed: number; batchSize: number },
): RequestPool {
  const singles = packed(addresses.map((address) => `geoip ${address}`));
  const batchTexts: string[] = [];
  for (let at = 0; at + options.batchSize <= addresses.length; at += options.batchSize) {
    batchTexts.push(`geoip ${addresses.slice(at, at + options.batchSize).join(" ")}`);
  }
  return {
    seed: options.seed,
    addresses,
    singles,
    batches: packed(batchTexts),
    batchSize: options.batchSize,
  };
}

/** Encodes texts into one buffer and returns a view per text. */
function packed(texts: string[]): Uint8Array[] {
  const encoded = texts.map((text) => encoder.encode(text));
  const buffer = new Uint8Array(encoded.reduce((sum, bytes) => sum + bytes.length, 0));
  let at = 0;
  return encoded.map((bytes) => {
    buffer.set(bytes, at);
    at += bytes.length;
    return buffer.subarray(at - bytes.length, at);
  });
}

/** The reference answers for a pool, as bytes, parallel to its requests. */
export interface Answers {
  /** The expected reply to `pool.singles[i]`. */
  singles: Uint8Array[];
  /** The expected reply to `pool.batches[k]`. */
  batches: Uint8Array[];
}

/**
 * Asks a reference server (the C loop) for the answer to every request of the pool, in
 * batch requests over one REQ socket.
 *
 * @param lib the loaded libzmq
 * @param endpoint the reference server
 * @param pool the requests
 * @param timeoutMs how long to wait for any one reply
 * @returns the answers
 * @throws {Error} when a reply is late or does not have one line per address
 */
export function fetchAnswers(
  lib: Libzmq,
  endpoint: string,
  pool: RequestPool,
  timeoutMs: number,
): Answers {
  const context = ZmqContext.create(lib);
  const socket = context.socket(SocketType.REQ);
  try {
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.RCVTIMEO, timeoutMs);
    socket.setOption(SocketOption.SNDTIMEO, timeoutMs);
    socket.connect(endpoint);
    const ask = (request: Uint8Array): Uint8Array => {
      try {
        socket.sendFrame(request, 0);
        return socket.receive()![0]!;
      } catch (error) {
        if (error instanceof ZmqError && error.errno === Errno.EAGAIN) {
          throw new Error(`no reply from ${endpoint} within ${timeoutMs} ms`);
        }
        throw error;
      }
    };
    const batches = pool.batches.map(ask);
    const singles: Uint8Array[] = [];
    for (const [k, reply] of batches.entries()) {
      let start = 0;
      for (let line = 0; line < pool.batchSize; line++) {
        const end = line === pool.batchSize - 1 ? reply.length : reply.indexOf(NEWLINE, start);
        if (end < 0) throw new Error(`batch ${k} from ${endpoint}: fewer lines than addresses`);
        singles.push(reply.subarray(start, end));
        start = end + 1;
      }
    }
    for (let i = singles.length; i < pool.singles.length; i++) singles.push(ask(pool.singles[i]!));
    return { singles, batches };
  } finally {
    socket.close();
    void context.terminate();
  }
}

/** The load shapes the benchmark runs. */
export type ScenarioName = "lockstep" | "pipelined" | "batch";

/** How one scenario drives its clients. */
export interface Scenario {
  /** Its name. */
  name: ScenarioName;
  /** One line for the report. */
  description: string;
  /** REQ (lock-step) or DEALER (pipelined). */
  socketType: typeof SocketType.REQ | typeof SocketType.DEALER;
  /** Client sockets. */
  clients: number;
  /** Requests each client keeps in flight (1 for REQ). */
  inFlight: number;
  /** Whether requests are batches of `pool.batchSize` addresses. */
  batch: boolean;
}

/** The three scenarios of the benchmark. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "lockstep",
    description: "20 REQ clients, one `geoip <ip>` in flight each",
    socketType: SocketType.REQ,
    clients: 20,
    inFlight: 1,
    batch: false,
  },
  {
    name: "pipelined",
    description: "4 DEALER clients, 16 `geoip <ip>` in flight each",
    socketType: SocketType.DEALER,
    clients: 4,
    inFlight: 16,
    batch: false,
  },
  {
    name: "batch",
    description: "20 REQ clients, one `geoip` of 100 addresses in flight each",
    socketType: SocketType.REQ,
    clients: 20,
    inFlight: 1,
    batch: true,
  },
];

/** What to run for {@linkcode runScenario}. */
export interface RunOptions {
  /** The server to load. */
  endpoint: string;
  /** The load shape. */
  scenario: Scenario;
  /** Time before measuring starts. */
  warmupMs: number;
  /** Time measured. */
  measureMs: number;
  /** Where in the pool to start (runs of the same scenario on different servers share it). */
  poolOffset: number;
  /** The server's process id, to measure its CPU time over the measured window. */
  serverPid?: number;
}

/** The numbers of one run, over its measured window only. */
export interface RunResult {
  /** The scenario's name. */
  scenario: ScenarioName;
  /** Replies received in the window. */
  requests: number;
  /** Addresses answered in the window. */
  lookups: number;
  /** Length of the window, seconds. */
  seconds: number;
  /** `requests / seconds`. */
  requestsPerSecond: number;
  /** `lookups / seconds`. */
  lookupsPerSecond: number;
  /** Median latency, milliseconds. */
  p50Ms: number;
  /** 99th percentile latency, milliseconds. */
  p99Ms: number;
  /** Largest latency, milliseconds. */
  maxMs: number;
  /** `zmq_poll` calls in the window, per reply: the generator's fixed cost per wake-up. */
  pollsPerReply: number;
  /** `ERROR` replies, malformed or cut replies, and requests unanswered for over 1 s at the end. */
  errors: number;
  /** Replies that differ from the reference answer. */
  wrong: number;
  /** Replies compared with a reference answer. */
  checked: number;
  /** The first few problems, for the report. */
  examples: string[];
  /** CPU time of this (the generator's) process over the window, in % of one core. */
  generatorCpuPercent: number;
  /** CPU time of the one thread driving the sockets, in % of one core: 100 is saturated. */
  generatorThreadCpuPercent: number;
  /** CPU time of the server process over the window, in % of one core, if its pid was given. */
  serverCpuPercent: number | null;
  /** The same by thread role (see `cpu_time.ts`), e.g. `{"lookup workers": 80}`. */
  serverThreadsCpuPercent: Record<string, number> | null;
}

/**
 * Runs one scenario against a server for `warmupMs + measureMs` and stops by itself,
 * whatever the server does. Blocks the calling thread for that long.
 *
 * Each reply is checked: it must not be an `ERROR`; when `answers` are given it must equal
 * the reference answer byte for byte, otherwise it must have one line per address. A DEALER's
 * replies may come back out of order, so each is matched to the oldest request in flight
 * on that socket whose reference answer it equals (to the oldest request at all without
 * `answers`).
 *
 * @param lib the loaded libzmq
 * @param pool the requests
 * @param answers the reference answers for `pool`, or null to skip that check
 * @param options the server, the scenario and the times
 * @returns the numbers of the measured window
 */
export function runScenario(
  lib: Libzmq,
  pool: RequestPool,
  answers: Answers | null,
  options: RunOptions,
): RunResult {
  const { scenario } = options;
  const lookupsPerRequest = scenario.batch ? pool.batchSize : 1;
  const clients = new ScenarioClients({
    name: scenario.name,
    socketType: scenario.socketType,
    clients: scenario.clients,
    inFlight: scenario.inFlight,
    requests: scenario.batch ? pool.batches : pool.singles,
    expected: answers === null ? null : scenario.batch ? answers.batches : answers.singles,
    lookupsPerRequest,
    poolOffset: options.poolOffset,
  });
  const cpu = new CpuWindow(options.serverPid);
  const context = ZmqContext.create(lib);
  const warmEnd = performance.now() + options.warmupMs;
  const end = warmEnd + options.measureMs;
  let polls = 0;
  try {
    clients.connect(context, options.endpoint);
    const poller = new ZmqPoller(lib, clients.sockets);
    clients.fillAll();
    while (true) {
      const now = performance.now();
      if (now >= end) break;
      if (!cpu.started && now >= warmEnd) cpu.start();
      if (clients.blocked) clients.fillAll();
      let ready: number;
      if (cpu.started) polls++;
      try {
        ready = poller.poll(Math.max(1, Math.min(100, Math.ceil(end - now))));
      } catch (error) {
        if (error instanceof ZmqError && error.errno === Errno.EINTR) continue;
        throw error;
      }
      if (ready === 0) continue;
      for (let c = 0; c < scenario.clients; c++) {
        if (poller.readable(c)) clients.drain(c, warmEnd);
      }
    }
  } finally {
    clients.close();
    void context.terminate();
  }
  const finished = performance.now();
  const seconds = options.measureMs / 1000;
  const cpuUsed = cpu.finish(seconds);
  const { measured, ...replies } = clients.finish(finished);
  return {
    scenario: scenario.name,
    requests: measured,
    lookups: measured * lookupsPerRequest,
    seconds,
    requestsPerSecond: measured / seconds,
    lookupsPerSecond: (measured * lookupsPerRequest) / seconds,
    ...replies,
    pollsPerReply: measured > 0 ? polls / measured : NaN,
    ...cpuUsed,
  };
}

/** What the reference answers say about the pool. */
export interface AnswerSummary {
  /** Addresses answered. */
  addresses: number;
  /** Addresses the database has no record for. */
  notFound: number;
}

type Call =
  | { kind: "setup"; libzmqPath: string; seed: number; addresses: number; batchSize: number }
  | { kind: "answers"; endpoint: string; timeoutMs: number }
  | { kind: "run"; options: RunOptions };

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/**
 * The load generator in its own thread: a Worker that holds the libzmq binding, the
 * request pool and the reference answers, and runs one scenario at a time.
 *
 * @example
 * ```ts ignore
 * const generator = await LoadGenerator.start({ libzmqPath, seed: 1, addresses: 100_000, batchSize: 100 });
 * await generator.fetchAnswers("tcp://127.0.0.1:5556", 10_000);
 * const result = await generator.run({ endpoint, scenario: SCENARIOS[0]!, warmupMs: 1000, measureMs: 5000, poolOffset: 0 });
 * generator.close();
 * ```
 */
export class LoadGenerator {
  readonly #worker: Worker;
  readonly #pending = new Map<number, PromiseWithResolvers<unknown>>();
  #nextId = 0;
  #failure: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const call = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.ok) call?.resolve(reply.value);
      else call?.reject(new Error(reply.message));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`load generator failed: ${event.message}`));
    };
  }

  /**
   * Starts the worker and builds the request pool in it.
   *
   * @param options the libzmq to load and the pool's shape
   * @returns the ready generator
   */
  static async start(
    options: { libzmqPath: string; seed: number; addresses: number; batchSize: number },
  ): Promise<LoadGenerator> {
    const worker = new Worker(import.meta.url, { type: "module", name: "load-generator" });
    const generator = new LoadGenerator(worker);
    await generator.#call({ kind: "setup", ...options }, 60_000);
    return generator;
  }

  /**
   * Fetches the reference answers for the whole pool from a server (the C loop); later
   * runs compare every reply with them.
   *
   * @param endpoint the reference server
   * @param timeoutMs the longest wait for one reply
   * @returns how many addresses were answered and how many were not found
   */
  async fetchAnswers(endpoint: string, timeoutMs: number): Promise<AnswerSummary> {
    return await this.#call({ kind: "answers", endpoint, timeoutMs }, 120_000) as AnswerSummary;
  }

  /**
   * Runs one scenario. The worker stops by itself after `warmupMs + measureMs`; if it has
   * not answered 30 s after that it is ended and the promise rejects.
   *
   * @param options the server, the scenario and the times
   * @returns the run's numbers
   */
  async run(options: RunOptions): Promise<RunResult> {
    const limit = options.warmupMs + options.measureMs + 30_000;
    return await this.#call({ kind: "run", options }, limit) as RunResult;
  }

  /** Ends the worker at once; pending calls reject. */
  close(): void {
    this.#fail(new Error("load generator closed"));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#worker.terminate();
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }

  async #call(call: Call, timeoutMs: number): Promise<unknown> {
    if (this.#failure !== undefined) throw this.#failure;
    const id = this.#nextId++;
    const pending = Promise.withResolvers<unknown>();
    this.#pending.set(id, pending);
    const timer = setTimeout(() => {
      this.#fail(new Error(`load generator: no answer to "${call.kind}" in ${timeoutMs} ms`));
    }, timeoutMs);
    this.#worker.postMessage({ id, call });
    try {
      return await pending.promise;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The worker side of {@linkcode LoadGenerator}. */
function serveCalls(scope: {
  onmessage: ((event: MessageEvent<{ id: number; call: Call }>) => void) | null;
  postMessage(message: Reply): void;
}): void {
  let lib: Libzmq | undefined;
  let pool: RequestPool | undefined;
  let answers: Answers | null = null;
  scope.onmessage = (event) => {
    const { id, call } = event.data;
    try {
      let value: unknown = null;
      if (call.kind === "setup") {
        lib = Libzmq.open(call.libzmqPath);
        pool = makeRequestPool(call);
      } else if (lib === undefined || pool === undefined) {
        throw new Error("load generator not set up");
      } else if (call.kind === "answers") {
        answers = fetchAnswers(lib, call.endpoint, pool, call.timeoutMs);
        const notFound = encoder.encode("NOT_FOUND");
        value = {
          addresses: answers.singles.length,
          notFound: answers.singles.filter((a) => sameBytes(a, a.length, notFound)).length,
        } satisfies AnswerSummary;
      } else {
        value = runScenario(lib, pool, answers, call.options);
      }
      scope.postMessage({ id, ok: true, value });
    } catch (error) {
      scope.postMessage({ id, ok: false, message: (error as Error).message ?? String(error) });
    }
  };
}

// deno-lint-ignore no-explicit-any
const workerScope = globalThis as any;
if (typeof workerScope.WorkerGlobalScope !== "undefined") serveCalls(workerScope);

/**
 * Checks that `--rate-limit` charges the client that caused it, from distinct loopback
 * addresses (every 127.x.y.z reaches the service on Linux):
 *
 * - {@linkcode reusedConnectionRounds}: address A uses up its bucket over ZeroMQ and
 *   closes; a fresh address B connects at once and sends one request. B's request must
 *   never be refused for A's traffic (a connection reusing A's file descriptor must not
 *   carry A's address).
 * - {@linkcode oneAddressAllowance}: one address asks as fast as it is answered, over
 *   ZeroMQ and over several HTTP connections at once (which the kernel spreads over the
 *   HTTP threads), for a while: how many requests it gets answered against the limit.
 *
 * Used by the attack bench (`rate-limit-reused-connection`) and its scaled-down test.
 *
 * @example
 * ```ts ignore
 * const rounds = await reusedConnectionRounds({ endpoint: "tcp://127.0.0.1:5555", limit: 5 });
 * console.log(`${rounds.refused} of ${rounds.rounds} first requests refused`);
 * ```
 *
 * @module
 */

import { PipelinedDealer } from "./pipelined_dealer.ts";
import { SourceBoundHttp } from "./source_bound_http.ts";

/** The reply to a request over the rate. */
export const RATE_LIMITED = "ERROR\trate limited";

/** Options of {@linkcode reusedConnectionRounds}. */
export interface ReusedConnectionOptions {
  /** The service's ZeroMQ endpoint. */
  endpoint: string;
  /** The service's `--rate-limit`. */
  limit: number;
  /** Rounds (default 15). */
  rounds?: number;
  /** Address A, which uses up its bucket (default 127.0.0.2). */
  addressA?: string;
  /** Address B of a round, fresh each round (default 127.0.0.3, 127.0.0.4, ...). */
  addressB?: (round: number) => string;
  /** How long a reply may take (default 2000 ms). */
  timeoutMs?: number;
  /** Stops after the round under way when aborted. */
  signal?: AbortSignal;
}

/** What the rounds saw. */
export interface ReusedConnectionResult {
  /** Rounds run. */
  rounds: number;
  /** Rounds in which A was refused at least once (its bucket was used up). */
  aExhausted: number;
  /** B's first requests refused as rate limited. */
  refused: number;
  /** B's first requests with no reply in time. */
  unanswered: number;
  /** B's first requests answered. */
  answered: number;
}

/**
 * Runs the rounds: A spends its bucket and closes; B connects at once and asks once.
 *
 * @param options the endpoint, the limit, rounds and addresses
 * @returns what B's first requests got
 */
export async function reusedConnectionRounds(
  options: ReusedConnectionOptions,
): Promise<ReusedConnectionResult> {
  const rounds = options.rounds ?? 15;
  const timeoutMs = options.timeoutMs ?? 2000;
  const addressA = options.addressA ?? "127.0.0.2";
  const addressB = options.addressB ?? ((round: number) => `127.0.0.${3 + round}`);
  const result: ReusedConnectionResult = {
    rounds,
    aExhausted: 0,
    refused: 0,
    unanswered: 0,
    answered: 0,
  };
  result.rounds = 0;
  for (let round = 0; round < rounds && options.signal?.aborted !== true; round++) {
    result.rounds++;
    const a = PipelinedDealer.open({ endpoint: options.endpoint, source: addressA });
    let exhausted = false;
    try {
      for (let i = 0; i < options.limit + 2; i++) {
        a.send(String(i), "ping");
        const reply = await a.next(timeoutMs);
        if (reply?.reply === RATE_LIMITED) exhausted = true;
      }
    } finally {
      await a.close();
    }
    if (exhausted) result.aExhausted++;
    const b = PipelinedDealer.open({ endpoint: options.endpoint, source: addressB(round) });
    try {
      b.send("first", "ping");
      const reply = await b.next(timeoutMs);
      if (reply === null) result.unanswered++;
      else if (reply.reply === RATE_LIMITED) result.refused++;
      else result.answered++;
    } finally {
      await b.close();
    }
  }
  return result;
}

/** Options of {@linkcode oneAddressAllowance}. */
export interface AllowanceOptions {
  /** The service's ZeroMQ endpoint. */
  endpoint: string;
  /** The service's HTTP port on 127.0.0.1. */
  httpPort: number;
  /** The one address (default 127.0.0.250). */
  source?: string;
  /** HTTP connections at once (default 6). */
  httpConnections?: number;
  /** How long it asks (default 1000 ms). */
  durationMs?: number;
}

/** What one address got answered, by transport. */
export interface AllowanceResult {
  zmqAnswered: number;
  zmqRefused: number;
  httpAnswered: number;
  httpRefused: number;
  /** Answered over both transports. */
  answered: number;
  /** How long it asked, in milliseconds. */
  durationMs: number;
}

/**
 * Asks from one address over ZeroMQ and several HTTP connections at once, each as fast
 * as it is answered, for a while.
 *
 * @param options the endpoints, the address, the connections and the duration
 * @returns the requests answered and refused, by transport
 */
export async function oneAddressAllowance(options: AllowanceOptions): Promise<AllowanceResult> {
  const source = options.source ?? "127.0.0.250";
  const durationMs = options.durationMs ?? 1000;
  const result: AllowanceResult = {
    zmqAnswered: 0,
    zmqRefused: 0,
    httpAnswered: 0,
    httpRefused: 0,
    answered: 0,
    durationMs,
  };
  const clients = await Promise.all(
    Array.from(
      { length: options.httpConnections ?? 6 },
      () => SourceBoundHttp.connect({ port: options.httpPort, source }),
    ),
  );
  const dealer = PipelinedDealer.open({ endpoint: options.endpoint, source });
  try {
    // The connection is made in the background: let it be made before the clock starts.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const end = performance.now() + durationMs;
    const zmq = (async () => {
      for (let i = 0; performance.now() < end; i++) {
        dealer.send(String(i), "ping");
        const reply = await dealer.next(Math.max(1, end - performance.now()));
        if (reply === null) break;
        if (reply.reply === RATE_LIMITED) result.zmqRefused++;
        else result.zmqAnswered++;
      }
    })();
    const http = clients.map(async (client) => {
      while (performance.now() < end) {
        const status = await client.get("/geoip/81.2.69.160");
        if (status === null) break;
        if (status === 429) result.httpRefused++;
        else result.httpAnswered++;
      }
    });
    await Promise.all([zmq, ...http]);
  } finally {
    for (const client of clients) client.close();
    await dealer.close();
  }
  result.answered = result.zmqAnswered + result.httpAnswered;
  return result;
}

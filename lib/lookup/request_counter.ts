/**
 * Counting answered requests into the shared metrics, from a request loop.
 *
 * @module
 */

import type { GeoipResponder } from "./responder.ts";
import {
  DURATION_BUCKETS_MICROS,
  durationBucket,
  durationMicros,
  REQUEST_OUTCOMES,
  REQUEST_VERBS,
  type RequestOutcome,
  type RequestTransport,
  type RequestVerb,
  type ServiceMetrics,
} from "../metrics/mod.ts";

/** How long a deferring counter keeps its counts, at most, while requests come in. */
export const DEFERRED_COUNT_MS = 100;
/** How many requests a deferring counter keeps, at most, before adding them up. */
const DEFERRED_COUNT_REQUESTS = 1024;
/** The kept counts: requests by verb × outcome, addresses by result, latencies by bucket. */
const SLOT_FOUND = REQUEST_VERBS.length * REQUEST_OUTCOMES.length;
const SLOT_NOT_FOUND = SLOT_FOUND + 1;
const SLOT_INVALID = SLOT_FOUND + 2;
const SLOT_ERROR = SLOT_FOUND + 3;
const SLOT_BUCKETS = SLOT_FOUND + 4;
const SLOT_SUM = SLOT_BUCKETS + DURATION_BUCKETS_MICROS.length + 1;
const KEPT_SLOTS = SLOT_SUM + 1;

/** @returns the kept-counts slot of requests of a verb and outcome */
function requestSlot(verb: RequestVerb, outcome: RequestOutcome): number {
  let index = 0;
  while (index < REQUEST_VERBS.length - 1 && REQUEST_VERBS[index] !== verb) index++;
  return index * 2 + (outcome === "ok" ? 0 : 1);
}

/**
 * Counts what a request loop answered into the shared metrics: the verb and outcome, the
 * addresses by result, the cache's hits and misses since the last request, the latency.
 *
 * By default each request is added to the shared counters as it is counted. A counter
 * made with `defer: true` (the front end's, whose requests cost about a microsecond each)
 * keeps its counts in its own memory and adds them up in one go at most
 * {@linkcode DEFERRED_COUNT_MS} after the first one kept, every 1,024 requests, and
 * whenever its loop calls {@linkcode RequestCounter.flush} (when it has been idle for a
 * while, and before it leaves).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { ServiceMetrics } from "../metrics/mod.ts";
 * import { DEFAULT_LIMITS } from "../protocol/mod.ts";
 * import { GeoipResponder, ReplyBuffer, RequestCounter } from "./mod.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
 * const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
 * const metrics = ServiceMetrics.create({ version: "1.0.0" });
 * const counter = new RequestCounter(metrics, responder, "zmq", { defer: true });
 * for (let i = 0; i < 3; i++) {
 *   const started = performance.now();
 *   responder.respondInto(new TextEncoder().encode("ping"), 4, new ReplyBuffer());
 *   counter.answered(started);
 * }
 * counter.flush();
 * assert.equal(metrics.snapshot().requests.zmq.ping.ok, 3);
 * assert.equal(metrics.snapshot().duration.zmq.count, 3);
 * ```
 */
export class RequestCounter {
  readonly #metrics: ServiceMetrics;
  readonly #responder: GeoipResponder;
  readonly #transport: RequestTransport;
  readonly #defer: boolean;
  readonly #now: () => number;
  /** Counts not yet added up (deferring only): see the `SLOT_` constants. */
  readonly #kept = new Float64Array(KEPT_SLOTS);
  #keptRequests = 0;
  /** `performance.now()` when the oldest count kept was kept. */
  #keptSince = 0;
  #hits: number;
  #misses: number;

  /**
   * @param metrics where to count
   * @param responder whose tally and cache to read
   * @param transport how the requests come (default `zmq`)
   * @param options `defer: true` to add the counts up in batches (then call
   *   {@linkcode RequestCounter.flush} when the loop goes idle and before it leaves);
   *   `now`, the clock the loop reads its start times from (default `performance.now`)
   */
  constructor(
    metrics: ServiceMetrics,
    responder: GeoipResponder,
    transport: RequestTransport = "zmq",
    options: { defer?: boolean; now?: () => number } = {},
  ) {
    this.#metrics = metrics;
    this.#responder = responder;
    this.#transport = transport;
    this.#defer = options.defer === true;
    this.#now = options.now ?? (() => performance.now());
    this.#hits = responder.cacheHits;
    this.#misses = responder.cacheMisses;
  }

  /** @param started the clock's time when the request arrived */
  answered(started: number): void {
    const tally = this.#responder.tally;
    const now = this.#now();
    const micros = (now - started) * 1000;
    if (!this.#defer) {
      const metrics = this.#metrics;
      const transport = this.#transport;
      metrics.recordRequest(tally.verb, tally.outcome, micros, transport);
      metrics.recordLookups(tally.found, tally.notFound, tally.invalid, tally.error, transport);
      this.#recordCache();
      return;
    }
    const kept = this.#kept;
    kept[SLOT_FOUND] = kept[SLOT_FOUND]! + tally.found;
    kept[SLOT_NOT_FOUND] = kept[SLOT_NOT_FOUND]! + tally.notFound;
    kept[SLOT_INVALID] = kept[SLOT_INVALID]! + tally.invalid;
    kept[SLOT_ERROR] = kept[SLOT_ERROR]! + tally.error;
    this.#keep(requestSlot(tally.verb, tally.outcome), micros, now);
  }

  /** @param started the clock's time when the malformed request arrived */
  refused(started: number): void {
    const now = this.#now();
    const micros = (now - started) * 1000;
    if (!this.#defer) {
      this.#metrics.recordRequest("invalid", "error", micros, this.#transport);
      return;
    }
    this.#keep(requestSlot("invalid", "error"), micros, now);
  }

  /** Adds up every count kept so far; nothing to do when none is kept. */
  flush(): void {
    if (this.#keptRequests === 0) return;
    this.#keptRequests = 0;
    const metrics = this.#metrics;
    const transport = this.#transport;
    const kept = this.#kept;
    for (let slot = 0; slot < SLOT_FOUND; slot++) {
      const count = kept[slot]!;
      if (count === 0) continue;
      metrics.recordRequests(
        REQUEST_VERBS[slot >> 1]!,
        REQUEST_OUTCOMES[slot & 1]!,
        count,
        transport,
      );
    }
    metrics.recordLookups(
      kept[SLOT_FOUND]!,
      kept[SLOT_NOT_FOUND]!,
      kept[SLOT_INVALID]!,
      kept[SLOT_ERROR]!,
      transport,
    );
    metrics.recordDurations(kept.subarray(SLOT_BUCKETS, SLOT_SUM), kept[SLOT_SUM]!, transport);
    kept.fill(0);
    this.#recordCache();
  }

  /** Keeps one request's count and latency; adds everything up when it is time. */
  #keep(slot: number, micros: number, now: number): void {
    const kept = this.#kept;
    const us = durationMicros(micros);
    kept[slot] = kept[slot]! + 1;
    const bucket = SLOT_BUCKETS + durationBucket(us);
    kept[bucket] = kept[bucket]! + 1;
    kept[SLOT_SUM] = kept[SLOT_SUM]! + us;
    if (this.#keptRequests++ === 0) this.#keptSince = now;
    if (
      this.#keptRequests >= DEFERRED_COUNT_REQUESTS || now - this.#keptSince >= DEFERRED_COUNT_MS
    ) {
      this.flush();
    }
  }

  /** Counts the cache's hits and misses since the last time. */
  #recordCache(): void {
    const responder = this.#responder;
    const hits = responder.cacheHits;
    const misses = responder.cacheMisses;
    this.#metrics.recordCache(hits - this.#hits, misses - this.#misses);
    this.#hits = hits;
    this.#misses = misses;
  }
}

/**
 * Counting answered requests into the shared metrics, from a request loop.
 *
 * @module
 */

import type { GeoipResponder } from "./responder.ts";
import type { RequestTransport, ServiceMetrics } from "../metrics/mod.ts";

/**
 * Counts what a request loop answered into the shared metrics: the verb and outcome, the
 * addresses by result, the cache's hits and misses since the last request, the latency.
 */
export class RequestCounter {
  readonly #metrics: ServiceMetrics;
  readonly #responder: GeoipResponder;
  readonly #transport: RequestTransport;
  #hits: number;
  #misses: number;

  /**
   * @param metrics where to count
   * @param responder whose tally and cache to read
   * @param transport how the requests come (default `zmq`)
   */
  constructor(
    metrics: ServiceMetrics,
    responder: GeoipResponder,
    transport: RequestTransport = "zmq",
  ) {
    this.#metrics = metrics;
    this.#responder = responder;
    this.#transport = transport;
    this.#hits = responder.cacheHits;
    this.#misses = responder.cacheMisses;
  }

  /** @param started `performance.now()` when the request arrived */
  answered(started: number): void {
    const responder = this.#responder;
    const tally = responder.tally;
    const metrics = this.#metrics;
    const transport = this.#transport;
    const micros = (performance.now() - started) * 1000;
    metrics.recordRequest(tally.verb, tally.outcome, micros, transport);
    metrics.recordLookups(tally.found, tally.notFound, tally.invalid, tally.error, transport);
    const hits = responder.cacheHits;
    const misses = responder.cacheMisses;
    metrics.recordCache(hits - this.#hits, misses - this.#misses);
    this.#hits = hits;
    this.#misses = misses;
  }

  /** @param started `performance.now()` when the malformed request arrived */
  refused(started: number): void {
    const micros = (performance.now() - started) * 1000;
    this.#metrics.recordRequest("invalid", "error", micros, this.#transport);
  }
}

/**
 * A Worker for the metrics tests: it opens a {@linkcode ServiceMetrics} buffer, waits
 * for the go signal so that every worker counts at the same time, records a known plan
 * of requests, and says `done`.
 *
 * The plan is exported too, so a test can apply it on the main thread and compare.
 *
 * @module
 */

import { REQUEST_VERBS, type RequestOutcome, ServiceMetrics } from "../../lib/metrics/mod.ts";

/** The message that starts a worker. */
export interface MetricsWorkerSetup {
  /** The counters' buffer. */
  metrics: SharedArrayBuffer;
  /** One Int32 word: the worker waits while it is 0. */
  go: SharedArrayBuffer;
  /** How many requests to record. */
  requests: number;
}

/** A latency that overflows the low word of the sum in a few requests (about 67 minutes). */
export const HUGE_MICROS = 4_000_000_000;

/**
 * Records `requests` requests of a fixed plan: verbs in turn, every third an error, latencies
 * across the buckets and every 1000th {@linkcode HUGE_MICROS}; two lookups and a cache hit
 * per request.
 *
 * @example
 * ```ts ignore
 * recordPlan(ServiceMetrics.create(), 100);
 * ```
 *
 * @param metrics where to record
 * @param requests how many requests
 */
export function recordPlan(metrics: ServiceMetrics, requests: number): void {
  for (let i = 0; i < requests; i++) {
    const verb = REQUEST_VERBS[i % REQUEST_VERBS.length]!;
    const outcome: RequestOutcome = i % 3 === 0 ? "error" : "ok";
    const micros = i % 1000 === 999 ? HUGE_MICROS : (i * 37) % 3000;
    metrics.recordRequest(verb, outcome, micros);
    metrics.recordLookups(1, i % 2, i % 5 === 0 ? 1 : 0, i % 7 === 0 ? 1 : 0);
    metrics.recordCache(1, i % 4 === 0 ? 1 : 0);
  }
}

// deno-lint-ignore no-explicit-any
const workerScope = globalThis as any;
if (typeof workerScope.WorkerGlobalScope !== "undefined") {
  workerScope.onmessage = (event: MessageEvent<MetricsWorkerSetup>) => {
    const setup = event.data;
    const metrics = ServiceMetrics.fromBuffer(setup.metrics, { version: "0.0.0" });
    workerScope.postMessage("ready");
    Atomics.wait(new Int32Array(setup.go), 0, 0);
    recordPlan(metrics, setup.requests);
    workerScope.postMessage("done");
  };
}

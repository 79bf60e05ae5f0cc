/**
 * A monotonic clock read straight from the C library, for a request loop that times
 * every request: `clock_gettime(CLOCK_MONOTONIC)` through the handle libzmq was loaded
 * with costs about a third of `performance.now()` in Deno 2.9.
 *
 * @module
 */

import type { Libzmq } from "./library.ts";

/** `CLOCK_MONOTONIC` on Linux. */
const CLOCK_MONOTONIC = 1;

/**
 * Milliseconds from an arbitrary start, as `performance.now()` gives them (not the same
 * start: compare readings of one clock only). Linux reads `clock_gettime`; elsewhere it
 * is `performance.now()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MonotonicClock, openLibzmq } from "./mod.ts";
 * using lib = openLibzmq(undefined);
 * const clock = new MonotonicClock(lib);
 * const started = clock.now();
 * await new Promise((resolve) => setTimeout(resolve, 20));
 * const elapsed = clock.now() - started;
 * assert.ok(elapsed >= 19 && elapsed < 5000, `${elapsed} ms`);
 * ```
 */
export class MonotonicClock {
  readonly #symbols: Libzmq["symbols"] | null;
  /** A `struct timespec`: 64-bit seconds, then 64-bit nanoseconds (little-endian). */
  readonly #timespec = new Int32Array(4);
  readonly #bytes = new Uint8Array(this.#timespec.buffer);

  /** @param lib the loaded libzmq, whose handle reaches the C library */
  constructor(lib: Libzmq) {
    this.#symbols = Deno.build.os === "linux" ? lib.symbols : null;
  }

  /** @returns milliseconds, with sub-microsecond precision */
  now(): number {
    const symbols = this.#symbols;
    if (symbols === null) return performance.now();
    symbols.clock_gettime(CLOCK_MONOTONIC, this.#bytes);
    const timespec = this.#timespec;
    // Seconds since boot fit in the low word for 68 years.
    return timespec[0]! * 1000 + timespec[2]! / 1e6;
  }
}

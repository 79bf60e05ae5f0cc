/**
 * A full garbage collection when a lookup worker falls idle after work. A worker spends
 * its idle time in a blocking receive, where V8 never collects: the garbage of the last
 * burst of lookups (old-space pages the young generation promoted) stayed resident until
 * the next burst, and so did what the C heap had freed (libzmq's messages). Measured with
 * `deno task memory --lookups 1200000 --verbs geoip,geoip,geoip,geoip,geoip,json` at
 * defaults: VmRSS 194 MB after the lookups without this, 172-180 MB with the collection
 * alone, 170-171 MB with `malloc_trim` after it (166 MB at start).
 *
 * @module
 */

import { collectGarbage } from "../database/mod.ts";
import { type Libzmq, trimFreedMemory } from "../zmq/mod.ts";

/** The least time between two idle collections of one worker. */
export const IDLE_COLLECT_INTERVAL_MS = 1000;

/**
 * Collects once per idle period that follows work, at most every
 * {@linkcode IDLE_COLLECT_INTERVAL_MS}.
 *
 * @example
 * ```ts
 * import { IdleCollector } from "./idle_collector.ts";
 * let collections = 0;
 * const idle = new IdleCollector({ collect: () => collections++, now: () => 5000 });
 * idle.rest(); // nothing served yet: nothing to collect
 * idle.worked();
 * idle.rest(); // the first idle moment after work: collects
 * idle.rest(); // still idle: nothing new to collect
 * console.log(collections); // 1
 * ```
 */
export class IdleCollector {
  readonly #collect: () => void;
  readonly #now: () => number;
  #worked = false;
  #last = -Infinity;

  /**
   * @param options how to collect (default: a full collection, then, given the loaded
   *   libzmq, the C heap's freed memory handed back), and how to read the time (`Date.now`)
   */
  constructor(
    options: { lib?: Libzmq; collect?: () => void; now?: () => number } = {},
  ) {
    const { lib } = options;
    this.#collect = options.collect ?? (() => {
      collectGarbage();
      if (lib !== undefined) trimFreedMemory(lib);
    });
    this.#now = options.now ?? Date.now;
  }

  /** A request was served. */
  worked(): void {
    this.#worked = true;
  }

  /** The worker waited its poll interval with nothing to do: collects when it is due. */
  rest(): void {
    if (!this.#worked) return;
    const now = this.#now();
    if (now - this.#last < IDLE_COLLECT_INTERVAL_MS) return;
    this.#worked = false;
    this.#last = now;
    this.#collect();
  }
}

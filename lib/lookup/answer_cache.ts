/**
 * A bounded cache of rendered answers, keyed by a record's data-section offset: many
 * networks share one record, so once a record has been decoded and rendered, every later
 * lookup that lands on it costs a tree walk and a map look-up.
 *
 * Bounded by a {@linkcode CacheBudget} in bytes of memory, which the caches of one
 * responder share; when it is full the oldest entry goes (first in, first out: no
 * bookkeeping on a hit).
 *
 * @module
 */

import { type BudgetOwner, type CacheBudget, entryCost } from "./cache_budget.ts";

/** Hit and miss counts of an {@linkcode AnswerCache}. */
export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  /** Bytes of memory the entries cost ({@linkcode entryCost}). */
  bytes: number;
}

/** What an {@linkcode AnswerCache} can hold: text, or bytes ready to send. */
export type Answer = string | Uint8Array;

/**
 * A first-in-first-out cache of answers (text or bytes) by record offset.
 *
 * @example
 * ```ts
 * import { AnswerCache } from "./answer_cache.ts";
 * import { CacheBudget } from "./cache_budget.ts";
 * const cache = new AnswerCache(new CacheBudget(64 * 1024));
 * cache.get(7, () => "rendered once"); // a miss: renders
 * console.log(cache.get(7, () => "not called")); // "rendered once"
 * console.log(cache.stats().hits); // 1
 * ```
 */
export class AnswerCache<T extends Answer = string, K extends number | string = number>
  implements BudgetOwner {
  readonly #entries = new Map<K, T>();
  /**
   * The keys in the order they came, the oldest at `#head`: a map's own oldest entry is
   * slow to find once many were deleted (its iterator walks the deleted slots, and a map
   * that drops one entry for each it takes is compacted only now and then).
   */
  #order: K[] = [];
  #head = 0;
  readonly #budget: CacheBudget;
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  /** @param budget the memory this cache shares with others; a zero budget keeps nothing */
  constructor(budget: CacheBudget) {
    this.#budget = budget;
  }

  /**
   * Returns the cached answer for a record, rendering and keeping it on a miss.
   *
   * @param key the record's data-section offset
   * @param render makes the answer on a miss
   * @returns the answer
   */
  get(key: K, render: () => T): T {
    const cached = this.peek(key);
    if (cached !== undefined) return cached;
    return this.put(key, render());
  }

  /**
   * Looks an answer up, counting a hit or a miss; no closure needed, for request loops.
   *
   * @param key the record's data-section offset
   * @returns the cached answer, or undefined on a miss (then {@linkcode AnswerCache.put})
   */
  peek(key: K): T | undefined {
    const cached = this.#entries.get(key);
    if (cached !== undefined) this.#hits++;
    else this.#misses++;
    return cached;
  }

  /**
   * Keeps an answer just rendered after a miss, dropping the oldest entries (of this cache
   * or another on the same budget) to make room.
   *
   * @param key the record's data-section offset
   * @param answer the rendered answer
   * @returns the answer
   */
  put(key: K, answer: T): T {
    if (this.#budget.limit === 0 || this.#entries.has(key)) return answer;
    const cost = entryCost(key, answer);
    if (this.#budget.admit(this, cost)) {
      this.#entries.set(key, answer);
      this.#order.push(key);
      this.#bytes += cost;
    }
    return answer;
  }

  /**
   * Drops the oldest entry; called by the budget.
   *
   * @returns what it was charged
   */
  evictOldest(): number {
    if (this.#head >= this.#order.length) return 0;
    const key = this.#order[this.#head++]!;
    if (this.#head >= 4096 && this.#head * 2 >= this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
    const answer = this.#entries.get(key)!;
    this.#entries.delete(key);
    const cost = entryCost(key, answer);
    this.#bytes -= cost;
    return cost;
  }

  /** Hits so far. */
  get hits(): number {
    return this.#hits;
  }

  /** Misses so far. */
  get misses(): number {
    return this.#misses;
  }

  /** @returns the counts so far */
  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#entries.size,
      bytes: this.#bytes,
    };
  }
}

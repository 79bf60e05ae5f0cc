/**
 * A bounded cache of rendered answers, keyed by a record's data-section offset: many
 * networks share one record, so once a record has been decoded and rendered, every later
 * lookup that lands on it costs a tree walk and a map look-up.
 *
 * Bounded by entries and by characters held; when either bound is reached the oldest
 * entry goes (first in, first out: no bookkeeping on a hit).
 *
 * @module
 */

/** Hit and miss counts of an {@linkcode AnswerCache}. */
export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  /** UTF-16 code units held, about the memory used by the strings. */
  chars: number;
}

/**
 * A first-in-first-out cache of strings by record offset.
 *
 * @example
 * ```ts
 * import { AnswerCache } from "./answer_cache.ts";
 * const cache = new AnswerCache({ maxEntries: 2, maxChars: 1000 });
 * cache.get(7, () => "rendered once"); // a miss: renders
 * console.log(cache.get(7, () => "not called")); // "rendered once"
 * console.log(cache.stats().hits); // 1
 * ```
 */
export class AnswerCache {
  readonly #entries = new Map<number, string>();
  readonly #maxEntries: number;
  readonly #maxChars: number;
  #chars = 0;
  #hits = 0;
  #misses = 0;

  /**
   * @param limits most entries, and most characters held; `maxEntries: 0` disables it
   */
  constructor(limits: { maxEntries: number; maxChars: number }) {
    this.#maxEntries = limits.maxEntries;
    this.#maxChars = limits.maxChars;
  }

  /**
   * Returns the cached answer for a record, rendering and keeping it on a miss.
   *
   * @param key the record's data-section offset
   * @param render makes the answer on a miss
   * @returns the answer
   */
  get(key: number, render: () => string): string {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#hits++;
      return cached;
    }
    this.#misses++;
    const answer = render();
    if (this.#maxEntries > 0 && answer.length <= this.#maxChars) {
      while (
        this.#entries.size >= this.#maxEntries || this.#chars + answer.length > this.#maxChars
      ) {
        const oldest = this.#entries.entries().next().value!;
        this.#entries.delete(oldest[0]);
        this.#chars -= oldest[1].length;
      }
      this.#entries.set(key, answer);
      this.#chars += answer.length;
    }
    return answer;
  }

  /** @returns the counts so far */
  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#entries.size,
      chars: this.#chars,
    };
  }
}

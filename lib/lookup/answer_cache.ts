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
  /** Characters (or bytes) held: about the memory the answers use. */
  chars: number;
}

/** What an {@linkcode AnswerCache} can hold: text, or bytes ready to send. */
export type Answer = string | Uint8Array;

/**
 * A first-in-first-out cache of answers (text or bytes) by record offset.
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
export class AnswerCache<T extends Answer = string, K extends number | string = number> {
  readonly #entries = new Map<K, T>();
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
   * Keeps an answer just rendered after a miss, dropping the oldest ones beyond the bounds.
   *
   * @param key the record's data-section offset
   * @param answer the rendered answer
   * @returns the answer
   */
  put(key: K, answer: T): T {
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
      chars: this.#chars,
    };
  }
}

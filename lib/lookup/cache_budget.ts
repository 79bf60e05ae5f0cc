/**
 * One memory budget shared by the answer caches of a responder, in bytes of heap the
 * entries really cost: when an answer is kept and the budget is full, the oldest entry of
 * any of them goes (first in, first out across the caches: one reply format in use gets the
 * whole budget, several share it by use).
 *
 * What an entry costs was measured on Deno 2.9 (V8, 64-bit, no pointer compression) with
 * `deno run --allow-all scripts/cache_cost.ts`, which fills real caches from the bundled
 * GeoLite2-City and compares the charge with the growth of the heap and of the memory
 * outside it; see {@linkcode entryCost}.
 *
 * @module
 */

/** What a budget can take an entry back from. */
export interface BudgetOwner {
  /**
   * Drops this owner's oldest entry.
   *
   * @returns what it was charged
   */
  evictOldest(): number;
}

/**
 * Heap bytes of one entry beyond its key and value: its slot in the `Map` (key, value and
 * chain link, a bucket every two entries, and the table's room to grow and its deleted
 * slots) and its place in the budget's eviction order.
 */
export const ENTRY_OVERHEAD_BYTES = 112;
/**
 * A `Uint8Array` with its own buffer: the typed array and `ArrayBuffer` objects, the
 * backing store's bookkeeping and the allocator's header, beyond the bytes themselves.
 */
export const BYTES_OVERHEAD_BYTES = 200;
/** A `Uint8Array` viewing part of a shared buffer (a `ByteSlab`): the view alone. */
export const VIEW_OVERHEAD_BYTES = 96;
/** A sequential string's header (map, hash, length). */
const STRING_HEADER_BYTES = 16;
/** Matches a character that makes V8 store a string with two bytes a character. */
const WIDE = /[\u0100-\uffff]/;

/** @returns `bytes` rounded up to a multiple of 8, as V8 and malloc align objects */
function aligned(bytes: number): number {
  return (bytes + 7) & ~7;
}

/**
 * What a string costs on the heap: V8 keeps a string whose characters are all Latin-1 at
 * one byte a character, any other at two.
 *
 * @param text the string
 * @returns its bytes, header included
 */
export function stringCost(text: string): number {
  return aligned(STRING_HEADER_BYTES + text.length * (WIDE.test(text) ? 2 : 1));
}

/**
 * What keeping one answer in a cache costs: key, value and slot.
 *
 * @example
 * ```ts
 * import { entryCost } from "./cache_budget.ts";
 * console.log(entryCost(1234, "GB\tENG\tLondon")); // 112 + 32 = 144
 * ```
 *
 * @param key a record offset (a small integer costs nothing of its own) or a string
 * @param value the answer: text, or bytes in a buffer of their own
 * @returns the bytes it holds
 */
export function entryCost(key: number | string, value: string | Uint8Array): number {
  const keyCost = typeof key === "number" ? 0 : stringCost(key);
  const valueCost = typeof value === "string"
    ? stringCost(value)
    : value.byteLength === value.buffer.byteLength
    ? BYTES_OVERHEAD_BYTES + aligned(value.byteLength)
    : VIEW_OVERHEAD_BYTES + value.byteLength;
  return ENTRY_OVERHEAD_BYTES + keyCost + valueCost;
}

/**
 * A byte budget shared by several caches, evicting their entries oldest first.
 *
 * @example
 * ```ts
 * import { CacheBudget } from "./cache_budget.ts";
 * const budget = new CacheBudget(1024 * 1024);
 * console.log(budget.limit, budget.used); // 1048576 0
 * ```
 */
export class CacheBudget {
  /** The most bytes the entries may cost together; 0 keeps nothing. */
  readonly limit: number;
  #used = 0;
  #held = 0;
  /** The owner of every entry held, oldest first from `#head`. */
  #order: (BudgetOwner | undefined)[] = [];
  #head = 0;

  /** @param limit the most bytes the entries may cost together (0: keep nothing) */
  constructor(limit: number) {
    this.limit = Math.max(0, limit);
  }

  /** Bytes the entries held cost now (what is held for good included). */
  get used(): number {
    return this.#used;
  }

  /** Bytes held for good, outside the caches' entries (see {@linkcode CacheBudget.hold}). */
  get held(): number {
    return this.#held;
  }

  /**
   * Takes bytes out of the budget for good, for memory allocated once beside the caches
   * (a memo of rendered values): the caches then share what is left.
   *
   * @param bytes how many
   * @returns false when fewer than that are left to take (then nothing is taken)
   */
  hold(bytes: number): boolean {
    if (bytes < 0 || this.#held + bytes > this.limit || this.#used > this.#held) return false;
    this.#held += bytes;
    this.#used += bytes;
    return true;
  }

  /**
   * Makes room for a new entry, evicting the oldest ones of every owner as needed, and
   * charges it.
   *
   * @param owner the cache that keeps the entry
   * @param cost what the entry costs ({@linkcode entryCost})
   * @returns false when the entry is larger than the whole budget (then keep it not)
   */
  admit(owner: BudgetOwner, cost: number): boolean {
    if (cost > this.limit - this.#held) return false;
    const order = this.#order;
    while (this.#used + cost > this.limit && this.#head < order.length) {
      const oldest = order[this.#head]!;
      order[this.#head++] = undefined;
      this.#used -= oldest.evictOldest();
    }
    if (this.#head > 1024 && this.#head * 2 > order.length) {
      this.#order = order.slice(this.#head);
      this.#head = 0;
    }
    this.#order.push(owner);
    this.#used += cost;
    return true;
  }
}

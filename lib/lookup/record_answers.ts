/**
 * Rendered answers by record offset, packed: a table of integer keys and an arena of
 * answer bytes, in two generations. New answers go to the current generation; when it is
 * full it becomes the previous one and the one before is dropped whole, and an answer
 * found in the previous generation is copied into the current one, so the answers that
 * traffic repeats stay. Nothing is allocated per answer (no `Map` slot, no view, no
 * eviction queue), so a cache of a few MiB holds four times the answers of
 * {@linkcode AnswerCache} and makes no garbage.
 *
 * Each generation is charged to the shared {@linkcode CacheBudget} when it is started: the
 * budget drops the oldest generation (of this cache or of another format) or the oldest
 * entries of other caches to make room, as it does for single entries.
 *
 * @module
 */

import type { BudgetOwner, CacheBudget } from "./cache_budget.ts";
import type { CacheStats } from "./answer_cache.ts";
import type { ReplyBuffer } from "./reply_buffer.ts";

/** Table bytes per slot: the key, the answer's start and its length. */
const SLOT_BYTES = 12;
/** How full a table may get (linear probing: about 2.5 probes for a miss at 0.75). */
const LOAD = 0.75;
/** The fewest slots a generation has. */
const FEWEST_SLOTS = 64;
/** The smallest arena worth keeping answers in. */
const SMALLEST_ARENA = 1024;
/** The longest answer kept (a record's JSON is a few KiB at most in real databases). */
const LONGEST = 0xffff;

/** One generation: a table with linear probing and the arena its entries point into. */
class Generation {
  readonly keys: Int32Array;
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
  readonly arena: Uint8Array;
  readonly shift: number;
  /** Entries it may hold: three quarters of its slots, so that probes stay short. */
  readonly most: number;
  count = 0;
  used = 0;

  constructor(slots: number, arenaBytes: number) {
    this.keys = new Int32Array(slots).fill(-1);
    this.starts = new Int32Array(slots);
    this.lengths = new Int32Array(slots);
    this.arena = new Uint8Array(arenaBytes);
    this.shift = 32 - Math.log2(slots);
    this.most = Math.floor(slots * LOAD);
  }

  /** @returns the slot holding `key`, or -1 */
  find(key: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let slot = Math.imul(key, 0x9e3779b1) >>> this.shift;; slot = (slot + 1) & mask) {
      const found = keys[slot]!;
      if (found === key) return slot;
      if (found === -1) return -1;
    }
  }

  /** @returns whether `length` more bytes fit */
  fits(length: number): boolean {
    return this.count < this.most && this.used + length <= this.arena.length;
  }

  /** Keeps `bytes[start..end)` for `key` (not held yet; it fits). */
  add(key: number, bytes: Uint8Array, range: { start: number; end: number }): void {
    const keys = this.keys;
    const mask = keys.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (keys[slot] !== -1) slot = (slot + 1) & mask;
    keys[slot] = key;
    this.starts[slot] = this.used;
    this.lengths[slot] = range.end - range.start;
    copyBytes(bytes, range.start, this.arena, this.used, range.end - range.start);
    this.used += range.end - range.start;
    this.count++;
  }

  clear(): void {
    this.keys.fill(-1);
    this.count = 0;
    this.used = 0;
  }
}

/**
 * Answers of one reply format by record offset.
 *
 * @example
 * ```ts
 * import { CacheBudget } from "./cache_budget.ts";
 * import { RecordAnswers } from "./record_answers.ts";
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * const answers = new RecordAnswers(new CacheBudget(1024 * 1024), { averageBytes: 64 });
 * const out = new ReplyBuffer();
 * console.log(answers.copyInto(1234, out)); // false: a miss
 * out.appendText("GB\tENG");
 * answers.keep(1234, { out, from: 0 });
 * out.reset();
 * console.log(answers.copyInto(1234, out), out.length); // true 6
 * ```
 */
export class RecordAnswers implements BudgetOwner {
  readonly #budget: CacheBudget;
  /** What one generation costs: its table and its arena. */
  readonly #generationBytes: number;
  readonly #slots: number;
  readonly #arenaBytes: number;
  #current: Generation | null = null;
  #previous: Generation | null = null;
  /** A generation dropped by the budget, kept to be started again without allocating. */
  #spare: Generation | null = null;
  /** Whether this cache is asking the budget for its next generation. */
  #rotating = false;
  /** Whether the current generation is charged to the budget. */
  #charged = false;
  #hits = 0;
  #misses = 0;

  /**
   * @param budget the budget shared with the other caches: a generation is half of what
   *   it does not hold for good
   * @param options how long an answer of this format usually is (sizes the table)
   */
  constructor(budget: CacheBudget, options: { averageBytes: number }) {
    this.#budget = budget;
    const half = Math.floor((budget.limit - budget.held) / 2);
    // The table size that holds the most answers of the average size: the table and the
    // arena full together.
    let slots = FEWEST_SLOTS;
    const fit = (n: number) =>
      Math.min(n * LOAD, Math.max(0, half - n * SLOT_BYTES) / options.averageBytes);
    while (fit(slots * 2) > fit(slots)) slots *= 2;
    this.#slots = slots;
    const arena = half - slots * SLOT_BYTES;
    // Too small a budget for a table and answers: keep nothing.
    this.#arenaBytes = arena >= SMALLEST_ARENA ? arena : 0;
    this.#generationBytes = this.#arenaBytes === 0 ? 0 : half;
  }

  /**
   * Writes the answer kept for a record at the end of `out`, counting a hit or a miss.
   *
   * @param offset the record's data-section offset
   * @param out where the answer goes
   * @returns whether one was kept (else nothing was written: render it, then
   *   {@linkcode RecordAnswers.keep})
   */
  copyInto(offset: number, out: ReplyBuffer): boolean {
    const current = this.#current;
    const slot = current === null ? -1 : current.find(offset);
    if (slot >= 0) {
      append(out, current!, slot);
      this.#hits++;
      return true;
    }
    return this.#fromPrevious(offset, out);
  }

  /** Looks in the previous generation after a miss in the current one. */
  #fromPrevious(offset: number, out: ReplyBuffer): boolean {
    const previous = this.#current === null ? null : this.#previous;
    const slot = previous === null ? -1 : previous.find(offset);
    if (slot < 0) {
      this.#misses++;
      return false;
    }
    const from = out.length;
    append(out, previous!, slot);
    this.#hits++;
    // Repeated: it moves to the current generation, so it outlives the previous one.
    this.keep(offset, { out, from });
    return true;
  }

  /**
   * Keeps the answer just written at `out[from..]` (after a miss).
   *
   * @param offset the record's data-section offset
   * @param written the reply buffer, and where the answer starts in it
   */
  keep(offset: number, written: { out: ReplyBuffer; from: number }): void {
    const { out, from } = written;
    const length = out.length - from;
    if (offset > 0x7fffffff) return; // beyond the table's keys (a data section over 2 GiB)
    // An answer of more than an eighth of a generation would churn it: it is not kept.
    if (this.#generationBytes === 0 || length > this.#arenaBytes >> 3 || length > LONGEST) return;
    let current = this.#current;
    if (current === null || !this.#charged || !current.fits(length)) {
      current = this.#start();
      if (current === null || !current.fits(length)) return;
    }
    current.add(offset, out.bytes, { start: from, end: out.length });
  }

  /**
   * Starts a new current generation, charged to the budget first: to make room the budget
   * drops the oldest generations it holds (two of one cache fill it). A full current
   * generation becomes the previous one.
   *
   * @returns the new generation, or null when the budget cannot take one
   */
  #start(): Generation | null {
    this.#rotating = true;
    const admitted = this.#budget.admit(this, this.#generationBytes);
    this.#rotating = false;
    if (!admitted) return null;
    let next: Generation | null;
    if (this.#current !== null && this.#charged) {
      this.#previous = this.#current;
      next = this.#spare;
      this.#spare = null;
    } else {
      // None yet, or the budget dropped the current one: it is started again.
      next = this.#current ?? this.#spare;
      if (next === this.#spare) this.#spare = null;
    }
    if (next === null) next = new Generation(this.#slots, this.#arenaBytes);
    else next.clear();
    this.#current = next;
    this.#charged = true;
    return next;
  }

  /**
   * Drops the oldest generation; called by the budget.
   *
   * @returns what it was charged
   */
  evictOldest(): number {
    // Dropped to make room for this cache's next generation, a generation is kept to be
    // started again; dropped for another cache, its memory is let go.
    if (this.#previous !== null) {
      if (this.#rotating) {
        this.#previous.clear();
        this.#spare = this.#previous;
      }
      this.#previous = null;
      return this.#generationBytes;
    }
    if (this.#current !== null && this.#charged) {
      this.#current.clear();
      if (!this.#rotating) this.#current = null;
      this.#charged = false;
      return this.#generationBytes;
    }
    return 0;
  }

  /** Hits so far. */
  get hits(): number {
    return this.#hits;
  }

  /** Misses so far. */
  get misses(): number {
    return this.#misses;
  }

  /** @returns the counts so far; `bytes` is what the generations held charge the budget */
  stats(): CacheStats {
    const current = this.#charged ? this.#current : null;
    const previous = this.#previous;
    const held = (current === null ? 0 : 1) + (previous === null ? 0 : 1);
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: (current?.count ?? 0) + (previous?.count ?? 0),
      bytes: held * this.#generationBytes,
    };
  }
}

/** Writes the answer in a generation's slot at the end of `out`. */
function append(out: ReplyBuffer, generation: Generation, slot: number): void {
  const length = generation.lengths[slot]!;
  const target = out.room(length);
  copyBytes(generation.arena, generation.starts[slot]!, target, out.length, length);
  out.length += length;
}

/** Copies bytes between buffers; a loop for short runs, where a view would cost more. */
function copyBytes(
  source: Uint8Array,
  from: number,
  target: Uint8Array,
  to: number,
  length: number,
): void {
  if (length > 128) {
    target.set(source.subarray(from, from + length), to);
    return;
  }
  for (let i = 0; i < length; i++) target[to + i] = source[from + i]!;
}

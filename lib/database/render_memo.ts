/**
 * JSON text rendered from values that records share through pointers (a city's country,
 * continent, subdivisions, often its whole city map), kept by the pointer's target, so
 * that the next record pointing there gets a copy instead of a walk. Bounded in bytes: a
 * table of integer keys and an arena, allocated once; when either is full, everything is
 * dropped at once (no allocation per lookup, no eviction order).
 *
 * @module
 */

import type { ByteSink } from "./byte_sink.ts";

/** Table bytes per slot: the key, the start, the length, and what the rendering read. */
const SLOT_BYTES = 16;
/** How full the table may get before everything is dropped. */
const LOAD = 0.75;
/** The table's share of the budget. */
const TABLE_SHARE = 0.25;
/** The fewest bytes a memo is worth having for. */
const SMALLEST = 16 * 1024;

/**
 * Rendered bytes by the file offset of the value they were rendered from.
 *
 * @example
 * ```ts
 * import { RenderMemo } from "./render_memo.ts";
 * const memo = new RenderMemo(64 * 1024);
 * const sink = { bytes: new Uint8Array(64), length: 0, room(_n: number) { return this.bytes; } };
 * sink.bytes.set([0x22, 0x47, 0x42, 0x22]); // '"GB"', just rendered at sink[0..4)
 * sink.length = 4;
 * memo.keep(1234, { sink, from: 0, values: 1, height: 0 });
 * sink.length = 0;
 * const slot = memo.find(1234);
 * console.log(memo.values(slot), memo.height(slot)); // 1 0
 * memo.copy(slot, sink);
 * console.log(sink.length); // 4
 * ```
 */
export class RenderMemo {
  /** The bytes the memo holds at most (0: it keeps nothing). */
  readonly bytes: number;
  readonly #keys: Int32Array;
  readonly #starts: Int32Array;
  readonly #lengths: Int32Array;
  /** Per slot: the values read to render it, and how deep its containers nest. */
  readonly #reads: Int32Array;
  readonly #arena: Uint8Array;
  readonly #shift: number;
  readonly #most: number;
  #count = 0;
  #used = 0;

  /** @param bytes the most bytes to hold (under 16 KiB: the memo keeps nothing) */
  constructor(bytes: number) {
    const usable = bytes >= SMALLEST ? bytes : 0;
    let slots = 16;
    while (slots * 2 * SLOT_BYTES <= usable * TABLE_SHARE) slots *= 2;
    if (usable === 0) slots = 16;
    this.#keys = new Int32Array(slots).fill(-1);
    this.#starts = new Int32Array(slots);
    this.#lengths = new Int32Array(slots);
    this.#reads = new Int32Array(slots);
    this.#arena = new Uint8Array(usable === 0 ? 0 : usable - slots * SLOT_BYTES);
    this.#shift = 32 - Math.log2(slots);
    this.#most = usable === 0 ? 0 : Math.floor(slots * LOAD);
    this.bytes = usable === 0 ? 0 : slots * SLOT_BYTES + this.#arena.length;
  }

  /**
   * @param key a file offset from 0 to 2^31 - 1
   * @returns the slot of what is kept for it, or -1
   */
  find(key: number): number {
    if (this.#most === 0) return -1;
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let slot = Math.imul(key, 0x9e3779b1) >>> this.#shift;; slot = (slot + 1) & mask) {
      const found = keys[slot]!;
      if (found === key) return slot;
      if (found === -1) return -1;
    }
  }

  /** @returns how many values rendering the slot's bytes read */
  values(slot: number): number {
    return this.#reads[slot]! >>> 8;
  }

  /** @returns how deep below the value its maps and arrays nest (0: none below it) */
  height(slot: number): number {
    return this.#reads[slot]! & 0xff;
  }

  /**
   * Writes a slot's bytes at the end of a sink.
   *
   * @param slot from {@linkcode RenderMemo.find}
   * @param sink where they go
   */
  copy(slot: number, sink: ByteSink): void {
    const length = this.#lengths[slot]!;
    const start = this.#starts[slot]!;
    const out = sink.room(length);
    const at = sink.length;
    const arena = this.#arena;
    if (length > 128) out.set(arena.subarray(start, start + length), at);
    else for (let i = 0; i < length; i++) out[at + i] = arena[start + i]!;
    sink.length = at + length;
  }

  /**
   * Keeps the bytes just rendered at the end of a sink (for a key not kept yet).
   *
   * @param key a file offset from 0 to 2^31 - 1
   * @param rendered the sink and where the bytes start in it, how many values the
   *   rendering read and how deep its containers nest
   */
  keep(
    key: number,
    rendered: { sink: ByteSink; from: number; values: number; height: number },
  ): void {
    const { sink, from, values, height } = rendered;
    const length = sink.length - from;
    if (this.#most === 0 || length > this.#arena.length >> 4 || values >= 1 << 23) return;
    if (this.#count >= this.#most || this.#used + length > this.#arena.length) this.clear();
    const keys = this.#keys;
    const mask = keys.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> this.#shift;
    while (keys[slot] !== -1) slot = (slot + 1) & mask;
    keys[slot] = key;
    this.#starts[slot] = this.#used;
    this.#lengths[slot] = length;
    this.#reads[slot] = (values << 8) | Math.min(height, 0xff);
    const source = sink.room(0);
    const arena = this.#arena;
    const used = this.#used;
    for (let i = 0; i < length; i++) arena[used + i] = source[from + i]!;
    this.#used = used + length;
    this.#count++;
  }

  /** Drops everything kept. */
  clear(): void {
    this.#keys.fill(-1);
    this.#count = 0;
    this.#used = 0;
  }
}

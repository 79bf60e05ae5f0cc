/**
 * Packs the UTF-8 bytes of many small answers into shared slabs: a `Uint8Array` with a
 * buffer of its own costs about 200 bytes beyond its bytes (the `ArrayBuffer`, its backing
 * store's bookkeeping, the allocator's header), a view into a slab only the view. A cache
 * that drops its entries first in, first out drops a slab's views together, so a slab is
 * freed soon after its last answer leaves.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Slab size: 64 KiB, a thousand TSV lines. */
export const SLAB_BYTES = 64 * 1024;
/** Text longer than this gets a buffer of its own (it would waste much of a slab). */
const LARGEST_PACKED = SLAB_BYTES / 16;

/**
 * Encodes texts into views of shared slabs.
 *
 * @example
 * ```ts
 * import { ByteSlab } from "./byte_slab.ts";
 * const slab = new ByteSlab();
 * const a = slab.encode("GB\tENG");
 * const b = slab.encode("FR\tIDF");
 * console.log(a.length, a.buffer === b.buffer); // 6 true
 * ```
 */
export class ByteSlab {
  #slab = new Uint8Array(0);
  #used = 0;

  /**
   * @param text the text to encode
   * @returns its UTF-8 bytes, a view into a slab (or in a buffer of their own when long)
   */
  encode(text: string): Uint8Array {
    const most = text.length * 3;
    if (most > LARGEST_PACKED) return encoder.encode(text);
    if (this.#used + most > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#used = 0;
    }
    const start = this.#used;
    const { written } = encoder.encodeInto(text, this.#slab.subarray(start));
    this.#used = start + written;
    return this.#slab.subarray(start, start + written);
  }

  /**
   * Copies bytes into a slab.
   *
   * @param source bytes to copy from
   * @param range which of them: `source[start..end)`
   * @returns a view of the copy
   */
  copy(source: Uint8Array, range: { start: number; end: number }): Uint8Array {
    const size = range.end - range.start;
    if (size > LARGEST_PACKED) return source.slice(range.start, range.end);
    if (this.#used + size > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#used = 0;
    }
    const start = this.#used;
    this.#slab.set(source.subarray(range.start, range.end), start);
    this.#used = start + size;
    return this.#slab.subarray(start, start + size);
  }
}

/**
 * Where answers written from the database bytes go: a growable byte buffer that a writer
 * fills in place, with integer offsets.
 *
 * @module
 */

/**
 * A buffer that answers are written into: room is asked for first, then bytes are
 * written at {@linkcode ByteSink.length} and the length moved past them.
 *
 * @example
 * ```ts
 * import type { ByteSink } from "./byte_sink.ts";
 * class Bytes implements ByteSink {
 *   bytes = new Uint8Array(4);
 *   length = 0;
 *   room(extra: number): Uint8Array {
 *     if (this.length + extra > this.bytes.length) {
 *       const grown = new Uint8Array((this.length + extra) * 2);
 *       grown.set(this.bytes.subarray(0, this.length));
 *       this.bytes = grown;
 *     }
 *     return this.bytes;
 *   }
 * }
 * const sink = new Bytes();
 * const bytes = sink.room(2);
 * bytes[sink.length++] = 0x4f;
 * bytes[sink.length++] = 0x4b;
 * console.log(new TextDecoder().decode(sink.bytes.subarray(0, sink.length))); // "OK"
 * ```
 */
export interface ByteSink {
  /** The bytes written so far: the sink's first `length` bytes. */
  length: number;
  /**
   * Makes room for `extra` more bytes after `length`.
   *
   * @param extra how many bytes are about to be written
   * @returns the buffer to write them into, from index `length` (valid until the next call)
   */
  room(extra: number): Uint8Array;
}

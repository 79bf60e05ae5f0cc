/**
 * A reusable buffer that replies are assembled in, as UTF-8, without allocating per
 * reply (it grows when a reply is larger than any before).
 *
 * @module
 */

import type { ByteSink } from "../database/mod.ts";

/**
 * Assembles reply bytes in one buffer reused for every reply. Answers written from the
 * database bytes go straight into it (it is a {@linkcode ByteSink}).
 *
 * @example
 * ```ts
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * const buffer = new ReplyBuffer(16);
 * buffer.reset();
 * buffer.appendText("NOT_");
 * buffer.append(new TextEncoder().encode("FOUND"));
 * console.log(new TextDecoder().decode(buffer.view())); // "NOT_FOUND"
 * ```
 */
export class ReplyBuffer implements ByteSink {
  readonly #encoder = new TextEncoder();
  #bytes: Uint8Array;
  #length = 0;

  /** @param initialSize bytes to start with */
  constructor(initialSize = 64 * 1024) {
    this.#bytes = new Uint8Array(initialSize);
  }

  /** Empties the buffer for the next reply. */
  reset(): void {
    this.#length = 0;
  }

  /** @param bytes bytes to add at the end */
  append(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** @param byte one byte to add at the end, e.g. a line feed */
  appendByte(byte: number): void {
    this.#reserve(1);
    this.#bytes[this.#length++] = byte;
  }

  /** @param text text to add at the end, as UTF-8 */
  appendText(text: string): void {
    this.#reserve(text.length * 3);
    const written = this.#encoder.encodeInto(text, this.#bytes.subarray(this.#length));
    this.#length += written.written;
  }

  /** The backing buffer: the reply is its first {@linkcode ReplyBuffer.length} bytes. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** The reply's size so far. */
  get length(): number {
    return this.#length;
  }

  /** Moves the end of the reply: a writer sets it past the bytes it wrote after `room`. */
  set length(length: number) {
    this.#length = length;
  }

  /**
   * Makes room for `extra` more bytes at the end.
   *
   * @param extra how many bytes are about to be written
   * @returns the backing buffer, to write into from index `length` (valid until it grows)
   */
  room(extra: number): Uint8Array {
    this.#reserve(extra);
    return this.#bytes;
  }

  /**
   * @param source bytes to copy from
   * @param range which of them: `source[start..end)`
   */
  appendRange(source: Uint8Array, range: { start: number; end: number }): void {
    const { start, end } = range;
    const size = end - start;
    this.#reserve(size);
    const bytes = this.#bytes;
    const at = this.#length;
    // A short run is copied byte by byte: a view for `set` would be garbage per call.
    if (size > 128) bytes.set(source.subarray(start, end), at);
    else for (let i = 0; i < size; i++) bytes[at + i] = source[start + i]!;
    this.#length = at + size;
  }

  /** @returns the bytes so far, a view valid until the buffer changes */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /**
   * Replaces the content with one text.
   *
   * @param text the reply
   * @returns its UTF-8 bytes, a view valid until the buffer changes
   */
  encode(text: string): Uint8Array {
    this.reset();
    this.appendText(text);
    return this.view();
  }

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + extra));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}

/**
 * A reusable buffer that UTF-8-encodes replies without allocating per reply (it grows
 * when a reply is larger than any before).
 *
 * @module
 */

/**
 * Encodes reply text into one buffer reused for every reply.
 *
 * @example
 * ```ts
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * const buffer = new ReplyBuffer(16);
 * console.log(buffer.encode("pong").length); // 4
 * ```
 */
export class ReplyBuffer {
  readonly #encoder = new TextEncoder();
  #bytes: Uint8Array;

  /** @param initialSize bytes to start with */
  constructor(initialSize = 64 * 1024) {
    this.#bytes = new Uint8Array(initialSize);
  }

  /**
   * @param text the reply
   * @returns its UTF-8 bytes, a view valid until the next call
   */
  encode(text: string): Uint8Array {
    let written = this.#encoder.encodeInto(text, this.#bytes);
    if (written.read < text.length) {
      this.#bytes = new Uint8Array(text.length * 3);
      written = this.#encoder.encodeInto(text, this.#bytes);
    }
    return this.#bytes.subarray(0, written.written);
  }
}

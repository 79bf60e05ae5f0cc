/**
 * The field lists of `get` requests, parsed once and kept in a small budget of bytes of
 * their own: a front end asks for the same few lists over and over, and an attacker who
 * sends thousands of distinct long lists cannot make a thread hold more than the budget.
 *
 * @module
 */

import { type FieldPath, type Parsed, parseFieldList } from "../protocol/mod.ts";

/** Bytes of parsed field lists one thread keeps at most (the text and its parsed paths). */
export const FIELD_LIST_MEMO_BYTES = 256 * 1024;
/** A list whose text is longer is parsed for each request and never kept. */
export const FIELD_LIST_KEPT_MAX_CHARS = 4096;
/**
 * What one parsed path costs beside its text, in bytes: the object, its array of
 * segments and their strings' headers (measured with V8's heap statistics, rounded up).
 */
const BYTES_PER_PATH = 160;

/**
 * Parses `get` field lists, keeping the most recently used ones within
 * {@linkcode FIELD_LIST_MEMO_BYTES}.
 *
 * @example
 * ```ts
 * import { FieldListMemo } from "./field_list_memo.ts";
 * const memo = new FieldListMemo();
 * const parsed = memo.parse("city.name,country.iso_code");
 * console.log(parsed.ok && parsed.value.length, memo.kept); // 2 1
 * console.log(memo.parse("city.name,country.iso_code") === parsed); // true
 * ```
 */
export class FieldListMemo {
  readonly #lists = new Map<string, { parsed: Parsed<FieldPath[]>; bytes: number }>();
  readonly #maxBytes: number;
  #bytes = 0;

  /** @param maxBytes the budget (default {@linkcode FIELD_LIST_MEMO_BYTES}) */
  constructor(maxBytes: number = FIELD_LIST_MEMO_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Lists kept now. */
  get kept(): number {
    return this.#lists.size;
  }

  /** Bytes the kept lists are charged. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * @param text a field list as sent (`city.name,country.iso_code`)
   * @returns the list parsed, or why it was refused
   */
  parse(text: string): Parsed<FieldPath[]> {
    const known = this.#lists.get(text);
    if (known !== undefined) {
      // Most recently used last: the first in the map is the one to drop.
      this.#lists.delete(text);
      this.#lists.set(text, known);
      return known.parsed;
    }
    const parsed = parseFieldList(text);
    if (text.length > FIELD_LIST_KEPT_MAX_CHARS) return parsed;
    const bytes = 2 * text.length + BYTES_PER_PATH * (parsed.ok ? parsed.value.length : 1);
    if (bytes > this.#maxBytes) return parsed;
    while (this.#bytes + bytes > this.#maxBytes) {
      const [oldest, entry] = this.#lists.entries().next().value!;
      this.#lists.delete(oldest);
      this.#bytes -= entry.bytes;
    }
    this.#lists.set(text, { parsed, bytes });
    this.#bytes += bytes;
    return parsed;
  }
}

/**
 * Values of a data section written as text straight from the bytes: JSON (what
 * `JSON.stringify` writes for the value `npm:maxmind` decodes, with 64- and 128-bit
 * integers as exact numbers and bytes as arrays of numbers) and the text of a field in a
 * tab-separated line.
 *
 * Where the decoder's object would not give the same JSON as the bytes read in order (a
 * map with a key twice, a key JavaScript orders first or treats specially, a string that
 * is not valid UTF-8), the writer throws {@linkcode DataSectionError}, so a caller falls
 * back to decoding.
 *
 * @module
 */

import { formatFixed6 } from "../protocol/mod.ts";
import type { ByteSink } from "./byte_sink.ts";
import { RenderMemo } from "./render_memo.ts";
import { fixed6Digits } from "./fixed6_digits.ts";
import { DataSection, DataSectionError, DataType, MAX_DEPTH } from "./data_section.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const HEX = new TextEncoder().encode("0123456789abcdef");
/** `__proto__`: as a key of a decoded object it sets the prototype, it is not a member. */
const PROTO = new TextEncoder().encode("__proto__");
/** The most keys one map may have here (checked for duplicates pairwise). */
const MAX_KEYS = 256;

/**
 * Writes values of one data section into a sink.
 *
 * @example
 * ```ts
 * import { DataSection } from "./data_section.ts";
 * import { ValueWriter } from "./value_writer.ts";
 * // {"a": [1, "é"]}
 * const bytes = new Uint8Array([0xe1, 0x41, 0x61, 0x02, 0x04, 0xa1, 0x01, 0x42, 0xc3, 0xa9]);
 * const sink = {
 *   bytes: new Uint8Array(64),
 *   length: 0,
 *   room(_extra: number) {
 *     return this.bytes;
 *   },
 * };
 * const section = new DataSection(bytes, 0);
 * const writer = new ValueWriter(section);
 * section.start();
 * writer.begin(sink);
 * writer.json(0);
 * writer.end();
 * console.log(new TextDecoder().decode(sink.bytes.subarray(0, sink.length))); // '{"a":[1,"é"]}'
 * ```
 */
export class ValueWriter {
  #sink: ByteSink = { length: 0, room: () => new Uint8Array(0) };
  /** The sink's buffer, and where the next byte goes (the sink's length is set at the end). */
  #out: Uint8Array = new Uint8Array(0);
  #n = 0;
  readonly #section: DataSection;
  /** Keys of the maps being written, for the duplicate check: payload offset and size. */
  readonly #keyAt = new Int32Array(MAX_DEPTH * MAX_KEYS);
  readonly #keySize = new Int32Array(MAX_DEPTH * MAX_KEYS);
  /** Where a number's digits are made before they are copied. */
  readonly #digits = new Uint8Array(32);
  /** JSON of values reached through pointers, by target (none until `memoize`). */
  #memo: RenderMemo | null = null;
  /** The depth of the deepest map or array met since it was last reset (memo heights). */
  #deepest = 0;

  /** @param section the data section values are read from */
  constructor(section: DataSection) {
    this.#section = section;
  }

  /**
   * Starts writing at the end of a sink: call {@linkcode ValueWriter.end} when done.
   *
   * @param sink where the text goes
   */
  begin(sink: ByteSink): void {
    this.#sink = sink;
    this.#n = sink.length;
    this.#out = sink.room(0);
  }

  /** Ends writing: the sink's length is set past what was written. */
  end(): void {
    this.#sink.length = this.#n;
  }

  /** @returns the sink's buffer, with room for `extra` more bytes at `#n` */
  #room(extra: number): Uint8Array {
    if (this.#n + extra > this.#out.length) {
      this.#sink.length = this.#n;
      this.#out = this.#sink.room(extra);
    }
    return this.#out;
  }

  /**
   * Writes a value as JSON.
   *
   * @param offset where the value (or a pointer to it) lies in the file
   * @returns where the next value of the stream starts
   * @throws {DataSectionError} when the value cannot be written as the decoder would
   */
  json(offset: number): number {
    return this.#json(offset, 0);
  }

  /**
   * Keeps the JSON of values reached through a pointer (which records share: a country,
   * a continent, a city) by the pointer's target, in a memo of at most `bytes`; a value
   * met again is copied. Errors are the same: a copy counts the values its rendering read
   * against the record's budget, and is used only where its maps would nest no deeper
   * than they may.
   *
   * @param bytes the memo's budget (under 16 KiB: no memo)
   * @returns the bytes the memo holds
   */
  memoize(bytes: number): number {
    this.#memo = bytes > 0 ? new RenderMemo(bytes) : null;
    return this.#memo?.bytes ?? 0;
  }

  #json(offset: number, depth: number): number {
    if (this.#memo !== null && depth > 0) {
      const target = this.#section.pointerTarget(offset);
      if (target >= 0 && target <= 0x7fffffff) return this.#shared(offset, target, depth);
    }
    return this.#value(offset, depth);
  }

  /** Writes a value reached through a pointer: from the memo, or rendered and kept. */
  #shared(offset: number, target: number, depth: number): number {
    const memo = this.#memo!;
    const section = this.#section;
    const sink = this.#sink;
    const slot = memo.find(target);
    if (slot >= 0 && depth + memo.height(slot) < MAX_DEPTH) {
      section.charge(memo.values(slot));
      sink.length = this.#n;
      memo.copy(slot, sink);
      this.#n = sink.length;
      this.#out = sink.room(0);
      return offset + 2 + ((section.bytes[offset]! >> 3) & 3);
    }
    const from = this.#n;
    const left = section.valuesLeft;
    const deepest = this.#deepest;
    this.#deepest = depth;
    const next = this.#value(offset, depth);
    const height = this.#deepest - depth;
    if (deepest > this.#deepest) this.#deepest = deepest;
    sink.length = this.#n;
    memo.keep(target, { sink, from, values: left - section.valuesLeft, height });
    return next;
  }

  #value(offset: number, depth: number): number {
    const section = this.#section;
    const next = section.read(offset);
    const type = section.type;
    const size = section.size;
    const payload = section.payload;
    switch (type) {
      case DataType.string:
        this.jsonString(payload, size);
        return next;
      case DataType.map:
        return this.#map(next, depth, size, payload);
      case DataType.array: {
        if (depth >= MAX_DEPTH) throw deep();
        if (depth > this.#deepest) this.#deepest = depth;
        this.byte(0x5b);
        let at = payload;
        for (let i = 0; i < size; i++) {
          if (i > 0) this.byte(0x2c);
          at = this.#json(at, depth + 1);
        }
        this.byte(0x5d);
        return next === -1 ? at : next;
      }
      case DataType.boolean:
        this.ascii(size !== 0 ? "true" : "false");
        return next;
      case DataType.bytes: {
        const b = section.bytes;
        this.byte(0x5b);
        for (let i = 0; i < size; i++) {
          if (i > 0) this.byte(0x2c);
          this.uint(b[payload + i]!);
        }
        this.byte(0x5d);
        return next;
      }
      case DataType.uint64:
      case DataType.uint128:
        this.ascii(section.bigint().toString());
        return next;
      case DataType.double:
      case DataType.float: {
        const value = section.number();
        this.ascii(Number.isFinite(value) ? String(value) : "null");
        return next;
      }
      case DataType.int32:
        if (size === 4) {
          this.ascii(String(section.number()));
          return next;
        }
        this.uint(section.uint());
        return next;
      default:
        this.uint(section.uint());
        return next;
    }
  }

  #map(next: number, depth: number, size: number, payload: number): number {
    if (depth >= MAX_DEPTH) throw deep();
    if (depth > this.#deepest) this.#deepest = depth;
    if (size > MAX_KEYS) throw new DataSectionError(`map of more than ${MAX_KEYS} keys`);
    const section = this.#section;
    const b = section.bytes;
    const keyAt = this.#keyAt;
    const keySize = this.#keySize;
    const first = depth * MAX_KEYS;
    this.byte(0x7b);
    let at = payload;
    for (let i = 0; i < size; i++) {
      if (i > 0) this.byte(0x2c);
      at = section.read(at);
      if (section.type !== DataType.string) throw new DataSectionError("a map key is not a string");
      const p = section.payload;
      const n = section.size;
      // Keys the decoder's object would order or treat otherwise than the bytes.
      const c = b[p];
      if (n > 0 && c! >= 0x30 && c! <= 0x39) throw new DataSectionError("a numeric map key");
      if (n === PROTO.length && this.#isProto(p)) {
        throw new DataSectionError("a __proto__ map key");
      }
      for (let k = first; k < first + i; k++) {
        if (keySize[k] === n && this.#same(keyAt[k]!, p, n)) {
          throw new DataSectionError("a map key appears twice");
        }
      }
      keyAt[first + i] = p;
      keySize[first + i] = n;
      this.jsonString(p, n);
      this.byte(0x3a);
      at = this.#json(at, depth + 1);
    }
    this.byte(0x7d);
    return next === -1 ? at : next;
  }

  /**
   * Writes a string of the file as a JSON string: quoted, escaped as `JSON.stringify`
   * escapes.
   *
   * @param start where its UTF-8 bytes start in the file
   * @param size how many there are
   * @throws {DataSectionError} when they are not valid UTF-8
   */
  jsonString(start: number, size: number): void {
    const b = this.#section.bytes;
    const out = this.#room(size * 6 + 2);
    let n = this.#n;
    out[n++] = QUOTE;
    const end = start + size;
    for (let i = start; i < end;) {
      const c = b[i]!;
      if (c < 0x80) {
        i++;
        if (c >= SPACE && c !== QUOTE && c !== BACKSLASH) {
          out[n++] = c;
          continue;
        }
        out[n++] = BACKSLASH;
        switch (c) {
          case QUOTE:
          case BACKSLASH:
            out[n++] = c;
            break;
          case 0x08:
            out[n++] = 0x62; // b
            break;
          case 0x09:
            out[n++] = 0x74; // t
            break;
          case 0x0a:
            out[n++] = 0x6e; // n
            break;
          case 0x0c:
            out[n++] = 0x66; // f
            break;
          case 0x0d:
            out[n++] = 0x72; // r
            break;
          default:
            out[n++] = 0x75; // u00XX
            out[n++] = 0x30;
            out[n++] = 0x30;
            out[n++] = HEX[c >> 4]!;
            out[n++] = HEX[c & 15]!;
        }
        continue;
      }
      const length = this.#utf8(i, end);
      if (length === 0) throw new DataSectionError(`invalid UTF-8 at offset ${i}`);
      for (let k = 0; k < length; k++) out[n++] = b[i + k]!;
      i += length;
    }
    out[n++] = QUOTE;
    this.#n = n;
  }

  /**
   * Writes a string of the file as a field of a tab-separated line: as it is, with tabs
   * and line breaks made spaces.
   *
   * @param start where its UTF-8 bytes start in the file
   * @param size how many there are
   * @throws {DataSectionError} when they are not valid UTF-8
   */
  plainString(start: number, size: number): void {
    const b = this.#section.bytes;
    const out = this.#room(size);
    let n = this.#n;
    const end = start + size;
    for (let i = start; i < end;) {
      const c = b[i]!;
      if (c < 0x80) {
        out[n++] = c === 0x09 || c === 0x0a || c === 0x0d ? SPACE : c;
        i++;
        continue;
      }
      const length = this.#utf8(i, end);
      if (length === 0) throw new DataSectionError(`invalid UTF-8 at offset ${i}`);
      for (let k = 0; k < length; k++) out[n++] = b[i + k]!;
      i += length;
    }
    this.#n = n;
  }

  /** @param value a whole number from 0 to 2^53, written in decimal */
  uint(value: number): void {
    const out = this.#room(16);
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    let n = this.#n + digits;
    this.#n = n;
    let v = value;
    do {
      out[--n] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
  }

  /**
   * Writes a number with six decimals as {@linkcode formatFixed6} does (C's `%f`: ties to
   * even), without making a string: the digits of the rounded value times 10^6. A value
   * whose scaled fraction lies near a half (where the double's product could round the
   * other way), or that is too large for the product to be exact enough, is written by
   * `formatFixed6` itself.
   *
   * @param value a finite number
   */
  fixed6(value: number): void {
    const digits = this.#digits;
    const length = fixed6Digits(value, digits);
    if (length < 0) {
      this.ascii(formatFixed6(value));
      return;
    }
    const out = this.#room(length);
    const n = this.#n;
    for (let i = 0; i < length; i++) out[n + i] = digits[i]!;
    this.#n = n + length;
  }

  /** @param text ASCII text, written as it is */
  ascii(text: string): void {
    const out = this.#room(text.length);
    let n = this.#n;
    for (let i = 0; i < text.length; i++) out[n++] = text.charCodeAt(i);
    this.#n = n;
  }

  /** @param value one byte */
  byte(value: number): void {
    this.#room(1)[this.#n++] = value;
  }

  /** Whether the key at `at` (9 bytes) is `__proto__`. */
  #isProto(at: number): boolean {
    const b = this.#section.bytes;
    for (let i = 0; i < PROTO.length; i++) if (b[at + i] !== PROTO[i]) return false;
    return true;
  }

  /** Whether the `size` bytes at `a` and at `b` are the same. */
  #same(a: number, b: number, size: number): boolean {
    if (a === b) return true;
    const bytes = this.#section.bytes;
    for (let i = 0; i < size; i++) if (bytes[a + i] !== bytes[b + i]) return false;
    return true;
  }

  /**
   * The length of the valid UTF-8 sequence of two to four bytes at `at`, or 0 when it is
   * not one (as a decoder would replace it).
   */
  #utf8(at: number, end: number): number {
    const b = this.#section.bytes;
    const c = b[at]!;
    if (c >= 0xc2 && c <= 0xdf) {
      return at + 1 < end && (b[at + 1]! & 0xc0) === 0x80 ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
      if (at + 2 >= end) return 0;
      const c1 = b[at + 1]!;
      if (c1 < (c === 0xe0 ? 0xa0 : 0x80) || c1 > (c === 0xed ? 0x9f : 0xbf)) return 0;
      return (b[at + 2]! & 0xc0) === 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
      if (at + 3 >= end) return 0;
      const c1 = b[at + 1]!;
      if (c1 < (c === 0xf0 ? 0x90 : 0x80) || c1 > (c === 0xf4 ? 0x8f : 0xbf)) return 0;
      return (b[at + 2]! & 0xc0) === 0x80 && (b[at + 3]! & 0xc0) === 0x80 ? 4 : 0;
    }
    return 0;
  }
}

function deep(): DataSectionError {
  return new DataSectionError(`values nest deeper than ${MAX_DEPTH}`);
}

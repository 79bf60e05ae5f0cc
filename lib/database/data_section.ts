/**
 * The data section of a MaxMind DB read in place: a value's head (type, size, where its
 * payload starts) parsed from the bytes with integer offsets, pointers followed, values
 * skipped, members of a map found by key. Nothing is allocated per value: the head of the
 * last value read is left in the reader's fields.
 *
 * The reader is strict where `npm:maxmind`'s decoder is lenient (a value that runs past
 * the end of the file, a pointer to a pointer chain, a record nested very deep): it
 * throws {@linkcode DataSectionError}, and callers that must answer exactly as the
 * decoder does fall back to it.
 *
 * @module
 */

/** Data types, by the number the format gives them. */
export const DataType = {
  pointer: 1,
  string: 2,
  double: 3,
  bytes: 4,
  uint16: 5,
  uint32: 6,
  map: 7,
  int32: 8,
  uint64: 9,
  uint128: 10,
  array: 11,
  boolean: 14,
  float: 15,
} as const;

/** The most values one record may hold (as the decoder's budget; see `MAX_RECORD_VALUES`). */
const MAX_VALUES = 20_000;
/** The deepest a record's maps and arrays may nest here (real records: 4). */
export const MAX_DEPTH = 32;
/** The most pointers followed in a row (the format allows one). */
const MAX_HOPS = 4;
/** Added to a pointer's packed value, by its size (the format's offsets). */
const POINTER_BIAS_1 = 2048;
const POINTER_BIAS_2 = 526336;

/**
 * The reader met bytes it does not take: out of bounds, an unknown type, a size that does
 * not fit its type, nesting too deep, too many values. The message says which.
 */
export class DataSectionError extends Error {
  /** @param message one line */
  constructor(message: string) {
    super(message);
    this.name = "DataSectionError";
  }
}

/**
 * Reads values of a data section where they lie.
 *
 * @example
 * ```ts
 * import { DataSection, DataType } from "./data_section.ts";
 * // A map of one entry: "a" => uint16 7.
 * const bytes = new Uint8Array([0xe1, 0x41, 0x61, 0xa1, 0x07]);
 * const section = new DataSection(bytes, 0);
 * section.start();
 * const value = section.memberOf(0, new TextEncoder().encode("a"));
 * section.read(value);
 * console.log(section.type === DataType.uint16, section.uint()); // true 7
 * ```
 */
export class DataSection {
  /** The whole file. */
  readonly bytes: Uint8Array<ArrayBufferLike>;
  /** Where the data section starts in the file: pointers and record offsets count from it. */
  readonly base: number;
  /** The type of the last value read ({@linkcode DataType}). */
  type = 0;
  /** The size of the last value read: bytes, or entries of a map or an array. */
  size = 0;
  /** Where the payload of the last value read starts, in the file. */
  payload = 0;
  readonly #view: DataView;
  readonly #end: number;
  #values = MAX_VALUES;

  /**
   * @param bytes the whole file
   * @param base where the data section starts (the search tree's size plus 16)
   */
  constructor(bytes: Uint8Array<ArrayBufferLike>, base: number) {
    this.bytes = bytes;
    this.base = base;
    this.#end = bytes.length;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Starts a record: resets the budget of values it may read. */
  start(): void {
    this.#values = MAX_VALUES;
  }

  /** How many more values the record started last may read. */
  get valuesLeft(): number {
    return this.#values;
  }

  /**
   * Counts values read elsewhere (a rendering kept from an earlier record) against the
   * record's budget, as if they had been read here.
   *
   * @param count how many
   * @throws {DataSectionError} when the record has then read too many
   */
  charge(count: number): void {
    this.#values -= count;
    if (this.#values < 0) throw new DataSectionError(`record has more than ${MAX_VALUES} values`);
  }

  /**
   * Where the pointer at `offset` points, without reading what lies there.
   *
   * @param offset where a value lies (inside the file)
   * @returns the file offset it points to, or -1 when it is not a pointer
   */
  pointerTarget(offset: number): number {
    const b = this.bytes;
    const control = b[offset]!;
    if (control >> 5 !== DataType.pointer) return -1;
    const size = (control >> 3) & 3;
    const o = offset + 1;
    if (o + size + 1 > this.#end) return -1;
    switch (size) {
      case 0:
        return this.base + (((control & 7) << 8) | b[o]!);
      case 1:
        return this.base + (((control & 7) << 16) | (b[o]! << 8) | b[o + 1]!) + POINTER_BIAS_1;
      case 2:
        return this.base +
          (((control & 7) << 24) | (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!) + POINTER_BIAS_2;
      default:
        return this.base + b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
    }
  }

  /**
   * @param recordOffset a record's offset in the data section (from the tree walk)
   * @returns where it lies in the file
   */
  at(recordOffset: number): number {
    return this.base + recordOffset;
  }

  /**
   * Reads the head of the value at `offset`, following pointers; the head is left in
   * {@linkcode DataSection.type}, {@linkcode DataSection.size} and
   * {@linkcode DataSection.payload}.
   *
   * @param offset where the value (or a pointer to it) lies in the file
   * @returns where the next value of the stream starts (after the pointer, when it was
   *   one), or -1 for a map or an array met in place (its end is known once it is walked)
   * @throws {DataSectionError} when the bytes are not a value this reader takes
   */
  read(offset: number): number {
    const b = this.bytes;
    let next = -2;
    for (let hops = 0;; hops++) {
      if (offset >= this.#end || offset < 0) throw outside(offset);
      const control = b[offset]!;
      if (control >> 5 !== DataType.pointer) {
        const after = this.#head(offset);
        return next === -2 ? after : next;
      }
      if (hops === MAX_HOPS) throw new DataSectionError(`pointer chain at offset ${offset}`);
      const size = (control >> 3) & 3;
      const o = offset + 1;
      if (o + size + 1 > this.#end) throw outside(offset);
      let target: number;
      switch (size) {
        case 0:
          target = ((control & 7) << 8) | b[o]!;
          break;
        case 1:
          target = (((control & 7) << 16) | (b[o]! << 8) | b[o + 1]!) + POINTER_BIAS_1;
          break;
        case 2:
          target = (((control & 7) << 24) | (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!) +
            POINTER_BIAS_2;
          break;
        default:
          target = b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
      }
      if (next === -2) next = o + size + 1;
      offset = this.base + target;
    }
  }

  /** Reads a head that is not a pointer; returns the stream's next offset (-1: a container). */
  #head(offset: number): number {
    const b = this.bytes;
    const end = this.#end;
    const control = b[offset++]!;
    let type = control >> 5;
    if (type === 0) {
      if (offset >= end) throw outside(offset);
      type = b[offset++]! + 7;
      if (type < 8) throw new DataSectionError(`invalid extended type at offset ${offset}`);
    }
    if (--this.#values < 0) {
      throw new DataSectionError(`record has more than ${MAX_VALUES} values`);
    }
    let size = control & 0x1f;
    if (size >= 29) {
      if (size === 29) {
        if (offset >= end) throw outside(offset);
        size = 29 + b[offset++]!;
      } else if (size === 30) {
        if (offset + 2 > end) throw outside(offset);
        size = 285 + ((b[offset]! << 8) | b[offset + 1]!);
        offset += 2;
      } else {
        if (offset + 3 > end) throw outside(offset);
        size = 65821 + ((b[offset]! << 16) | (b[offset + 1]! << 8) | b[offset + 2]!);
        offset += 3;
      }
    }
    this.type = type;
    this.size = size;
    this.payload = offset;
    switch (type) {
      case DataType.map:
      case DataType.array:
        return -1;
      case DataType.boolean:
        return offset;
      case DataType.string:
      case DataType.bytes:
        break;
      case DataType.double:
        if (size !== 8) throw badSize(type, size, offset);
        break;
      case DataType.float:
        if (size !== 4) throw badSize(type, size, offset);
        break;
      case DataType.uint16:
        if (size > 2) throw badSize(type, size, offset);
        break;
      case DataType.uint32:
      case DataType.int32:
        if (size > 4) throw badSize(type, size, offset);
        break;
      case DataType.uint64:
        if (size > 8) throw badSize(type, size, offset);
        break;
      case DataType.uint128:
        if (size > 16) throw badSize(type, size, offset);
        break;
      default:
        throw new DataSectionError(`unknown type ${type} at offset ${offset}`);
    }
    if (offset + size > end) throw outside(offset);
    return offset + size;
  }

  /**
   * @param offset where a value lies (not followed if it is a pointer)
   * @param depth how deep the value is nested (0 for a record's own members)
   * @returns where the next value of the stream starts
   * @throws {DataSectionError} when the bytes are not a value this reader takes
   */
  skip(offset: number, depth = 0): number {
    const b = this.bytes;
    if (offset >= this.#end || offset < 0) throw outside(offset);
    const control = b[offset]!;
    if (control >> 5 === DataType.pointer) {
      const after = offset + 2 + ((control >> 3) & 3);
      if (after > this.#end) throw outside(offset);
      return after;
    }
    const next = this.#head(offset);
    if (next !== -1) return next;
    if (depth >= MAX_DEPTH) throw new DataSectionError(`values nest deeper than ${MAX_DEPTH}`);
    const count = this.type === DataType.map ? this.size * 2 : this.size;
    let at = this.payload;
    for (let i = 0; i < count; i++) at = this.skip(at, depth + 1);
    return at;
  }

  /**
   * Finds a member of a map by key: the first one, as libmaxminddb does.
   *
   * @param offset where the map (or a pointer to it) lies
   * @param key the key's UTF-8 bytes
   * @returns where the member's value lies (maybe a pointer), or -1 when the value at
   *   `offset` is not a map or has no such key
   */
  memberOf(offset: number, key: Uint8Array): number {
    this.read(offset);
    if (this.type !== DataType.map) return -1;
    let at = this.payload;
    for (let i = this.size; i > 0; i--) {
      const value = this.#key(at);
      if (this.#keyIs(key)) return value;
      at = this.skip(value);
    }
    return -1;
  }

  /**
   * Finds several members of a map in one pass: for each key, the first member's value.
   *
   * @param offset where the map (or a pointer to it) lies
   * @param options the keys' UTF-8 bytes, and where each value's offset goes (-1: none)
   * @returns false when the value at `offset` is not a map (`found` is then all -1)
   */
  members(
    offset: number,
    options: { keys: readonly Uint8Array[]; found: Int32Array },
  ): boolean {
    const { keys, found } = options;
    found.fill(-1);
    this.read(offset);
    if (this.type !== DataType.map) return false;
    let missing = keys.length;
    let at = this.payload;
    for (let i = this.size; i > 0 && missing > 0; i--) {
      const value = this.#key(at);
      for (let k = 0; k < keys.length; k++) {
        if (found[k] === -1 && this.#keyIs(keys[k]!)) {
          found[k] = value;
          missing--;
          break;
        }
      }
      at = this.skip(value);
    }
    return true;
  }

  /**
   * The element of an array.
   *
   * @param offset where the array (or a pointer to it) lies
   * @param index which element
   * @returns where the element lies, or -1 when the value is not an array or is shorter
   */
  elementOf(offset: number, index: number): number {
    this.read(offset);
    if (this.type !== DataType.array || index >= this.size) return -1;
    let at = this.payload;
    for (let i = 0; i < index; i++) at = this.skip(at);
    return at;
  }

  /** Reads a map key's head at `at` (a string); returns where its value lies. */
  #key(at: number): number {
    const next = this.read(at);
    if (this.type !== DataType.string) {
      throw new DataSectionError(`map key of type ${this.type} at offset ${at}`);
    }
    return next;
  }

  /** Whether the string just read is `key`. */
  #keyIs(key: Uint8Array): boolean {
    if (this.size !== key.length) return false;
    const b = this.bytes;
    const p = this.payload;
    for (let i = 0; i < key.length; i++) if (b[p + i] !== key[i]) return false;
    return true;
  }

  /** @returns the unsigned integer just read (uint16, uint32; int32 of under 4 bytes) */
  uint(): number {
    const b = this.bytes;
    let value = 0;
    for (let i = this.payload, end = i + this.size; i < end; i++) value = value * 256 + b[i]!;
    return value;
  }

  /** @returns the number just read, for any numeric type but uint64 and uint128 */
  number(): number {
    switch (this.type) {
      case DataType.double:
        return this.#view.getFloat64(this.payload);
      case DataType.float:
        return this.#view.getFloat32(this.payload);
      case DataType.int32:
        return this.size === 4 ? this.#view.getInt32(this.payload) : this.uint();
      default:
        return this.uint();
    }
  }

  /** @returns the uint64 or uint128 just read */
  bigint(): bigint {
    const b = this.bytes;
    let value = 0n;
    for (let i = this.payload, end = i + this.size; i < end; i++) {
      value = (value << 8n) | BigInt(b[i]!);
    }
    return value;
  }
}

/** Whether a type is a number JavaScript holds exactly (not uint64, uint128). */
export function isSmallNumber(type: number): boolean {
  return type === DataType.uint16 || type === DataType.uint32 || type === DataType.int32 ||
    type === DataType.double || type === DataType.float;
}

function outside(offset: number): DataSectionError {
  return new DataSectionError(`value at offset ${offset} runs past the end of the file`);
}

function badSize(type: number, size: number, offset: number): DataSectionError {
  return new DataSectionError(`invalid size ${size} for type ${type} at offset ${offset}`);
}

/**
 * The `get` answer written straight from a record's bytes: each asked path is walked to
 * its value, and only that value is read (a map or a list is written as JSON).
 *
 * @module
 */

import { type FieldPath, MISSING_FIELD } from "../protocol/mod.ts";
import type { ByteSink } from "./byte_sink.ts";
import { DataSection, DataType, isSmallNumber } from "./data_section.ts";
import { ValueWriter } from "./value_writer.ts";

const encoder = new TextEncoder();
const INDEX = /^(?:0|[1-9][0-9]*)$/;
const NAMES = encoder.encode("names");
const TAB = 0x09;

/** A path ready for the walk: each part's key bytes, and its index when it is one. */
interface CompiledPath {
  keys: Uint8Array[];
  /** Per part: the list index it names, or -1. */
  indices: number[];
  /** Whether the path ends in `.name` (read in the preferred language). */
  localized: boolean;
}

/**
 * Writes `get` answers from records of one database.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "./mod.ts";
 * import { parseFieldList } from "../protocol/mod.ts";
 * import { FieldWriter } from "./field_writer.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const offset = database.findOffset(new Uint8Array([81, 2, 69, 160]), 4);
 * const sink = { bytes: new Uint8Array(256), length: 0, room(_n: number) { return this.bytes; } };
 * const fields = parseFieldList("country.iso_code,city.name,location");
 * if (fields.ok) new FieldWriter(database.section, ["en"]).write(offset, { fields: fields.value, sink });
 * console.log(new TextDecoder().decode(sink.bytes.subarray(0, sink.length)));
 * // 'GB\tEast Finchley\t{"accuracy_radius":10,"latitude":51.5967,"longitude":-0.1593,"time_zone":"Europe/London"}'
 * ```
 */
export class FieldWriter {
  readonly #section: DataSection;
  readonly #values: ValueWriter;
  readonly #languages: readonly Uint8Array[];
  readonly #names: Int32Array;
  /** The search of a names map, made once (an object per call would be garbage). */
  readonly #namesSearch: { keys: readonly Uint8Array[]; found: Int32Array };
  readonly #compiled = new WeakMap<FieldPath, CompiledPath>();

  /**
   * @param section the data section of the database
   * @param languages languages for paths ending in `.name`, most preferred first
   *   (English is the fallback)
   */
  constructor(section: DataSection, languages: readonly string[]) {
    this.#section = section;
    this.#values = new ValueWriter(section);
    // Each language once: a duplicate would keep the scan of the names map going.
    this.#languages = [...new Set([...languages, "en"])].map((language) =>
      encoder.encode(language)
    );
    this.#names = new Int32Array(this.#languages.length);
    this.#namesSearch = { keys: this.#languages, found: this.#names };
  }

  /**
   * Writes the `get` line of a record (without a line break): the fields' values,
   * tab-separated, `(null)` where the record has none.
   *
   * @param recordOffset the record's offset in the data section
   * @param options the parsed field list, and where the line goes
   * @throws {import("./data_section.ts").DataSectionError} when a value on the way is
   *   corrupt, or not as the decoder would read it
   */
  write(
    recordOffset: number,
    options: { fields: readonly FieldPath[]; sink: ByteSink },
  ): void {
    const { fields, sink } = options;
    const section = this.#section;
    this.#values.begin(sink);
    section.start();
    const record = section.at(recordOffset);
    for (let i = 0; i < fields.length; i++) {
      if (i > 0) this.#values.byte(TAB);
      this.#render(this.#resolve(record, fields[i]!));
    }
    this.#values.end();
  }

  /** Where a path's value lies, or -1. */
  #resolve(record: number, field: FieldPath): number {
    let path = this.#compiled.get(field);
    if (path === undefined) {
      const segments = field.segments;
      const localized = segments.length >= 2 && segments[segments.length - 1] === "name";
      const parts = localized ? segments.slice(0, -1) : segments;
      path = {
        keys: parts.map((part) => encoder.encode(part)),
        indices: parts.map((part) => INDEX.test(part) ? Number(part) : -1),
        localized,
      };
      this.#compiled.set(field, path);
    }
    const section = this.#section;
    let at = record;
    for (let i = 0; i < path.keys.length && at >= 0; i++) {
      section.read(at);
      if (section.type === DataType.map) at = section.memberOf(at, path.keys[i]!);
      else if (section.type === DataType.array && path.indices[i]! >= 0) {
        at = section.elementOf(at, path.indices[i]!);
      } else at = -1;
    }
    if (!path.localized || at < 0) return at;
    const names = section.memberOf(at, NAMES);
    if (names < 0) return -1;
    const found = this.#names;
    section.members(names, this.#namesSearch);
    for (let i = 0; i < found.length; i++) {
      if (found[i]! < 0) continue;
      section.read(found[i]!);
      if (section.type === DataType.string) return found[i]!;
    }
    return -1;
  }

  /** A value as one field: see `renderField` in lib/protocol. */
  #render(at: number): void {
    const values = this.#values;
    if (at < 0) {
      values.ascii(MISSING_FIELD);
      return;
    }
    const section = this.#section;
    section.read(at);
    const type = section.type;
    if (type === DataType.string) values.plainString(section.payload, section.size);
    else if (isSmallNumber(type)) {
      const value = section.number();
      values.ascii(Number.isFinite(value) ? String(value) : MISSING_FIELD);
    } else if (type === DataType.uint64 || type === DataType.uint128) {
      values.ascii(section.bigint().toString());
    } else if (type === DataType.boolean) values.ascii(section.size !== 0 ? "true" : "false");
    else values.json(at);
  }
}

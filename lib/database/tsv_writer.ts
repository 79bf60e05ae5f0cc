/**
 * The `geoip` answer (the original geoipmq's eight tab-separated fields) written straight
 * from a record's bytes: the walk goes to those fields only, as libmaxminddb's
 * `MMDB_aget_value` does, and nothing is decoded on the way.
 *
 * @module
 */

import { MISSING_FIELD } from "../protocol/mod.ts";
import type { ByteSink } from "./byte_sink.ts";
import { DataSection, DataType, isSmallNumber } from "./data_section.ts";
import { ValueWriter } from "./value_writer.ts";

const encoder = new TextEncoder();
const key = (name: string) => encoder.encode(name);
const TOP = [key("country"), key("subdivisions"), key("city"), key("postal"), key("location")];
const LOCATION = [key("latitude"), key("longitude"), key("metro_code")];
const ISO_CODE = key("iso_code");
const NAMES = key("names");
const CODE = key("code");
const TAB = 0x09;

/**
 * Writes `geoip` answers from records of one database.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "./mod.ts";
 * import { TsvWriter } from "./tsv_writer.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const offset = database.findOffset(new Uint8Array([81, 2, 69, 160]), 4);
 * const sink = { bytes: new Uint8Array(256), length: 0, room(_n: number) { return this.bytes; } };
 * new TsvWriter(database.section, ["en"]).write(offset, sink);
 * console.log(new TextDecoder().decode(sink.bytes.subarray(0, sink.length)));
 * // "GB\tENG\tEast Finchley\tN2\t51.596700\t-0.159300\t(null)\t(null)"
 * ```
 */
export class TsvWriter {
  readonly #section: DataSection;
  readonly #values: ValueWriter;
  /** The city name's languages, most preferred first, English last. */
  readonly #languages: readonly Uint8Array[];
  readonly #top = new Int32Array(TOP.length);
  readonly #location = new Int32Array(LOCATION.length);
  readonly #names: Int32Array;
  /** The searches of `members`, made once: an object per call would be garbage per line. */
  readonly #topSearch: { keys: readonly Uint8Array[]; found: Int32Array };
  readonly #locationSearch: { keys: readonly Uint8Array[]; found: Int32Array };
  readonly #namesSearch: { keys: readonly Uint8Array[]; found: Int32Array };

  /**
   * @param section the data section of the database
   * @param languages the city name's languages, most preferred first (English is the
   *   fallback)
   */
  constructor(section: DataSection, languages: readonly string[]) {
    this.#section = section;
    this.#values = new ValueWriter(section);
    // Each language once: a duplicate would keep the scan of the names map going.
    this.#languages = [...new Set([...languages, "en"])].map(key);
    this.#names = new Int32Array(this.#languages.length);
    this.#topSearch = { keys: TOP, found: this.#top };
    this.#locationSearch = { keys: LOCATION, found: this.#location };
    this.#namesSearch = { keys: this.#languages, found: this.#names };
  }

  /**
   * Writes the TSV line of a record (without a line break).
   *
   * @param recordOffset the record's offset in the data section
   * @param sink where the line goes
   * @throws {import("./data_section.ts").DataSectionError} when a field on the way is
   *   corrupt, or not as the decoder would read it
   */
  write(recordOffset: number, sink: ByteSink): void {
    const section = this.#section;
    const values = this.#values;
    values.begin(sink);
    section.start();
    const top = this.#top;
    section.members(section.at(recordOffset), this.#topSearch);
    const country = top[0]!;
    this.#text(country < 0 ? -1 : section.memberOf(country, ISO_CODE));
    values.byte(TAB);
    const subdivision = top[1]! < 0 ? -1 : section.elementOf(top[1]!, 0);
    this.#text(subdivision < 0 ? -1 : section.memberOf(subdivision, ISO_CODE));
    values.byte(TAB);
    this.#cityName(top[2]!);
    values.byte(TAB);
    this.#text(top[3]! < 0 ? -1 : section.memberOf(top[3]!, CODE));
    values.byte(TAB);
    const location = this.#location;
    if (top[4]! < 0) location.fill(-1);
    else section.members(top[4]!, this.#locationSearch);
    this.#coordinate(location[0]!);
    values.byte(TAB);
    this.#coordinate(location[1]!);
    values.byte(TAB);
    this.#integer(location[2]!);
    values.byte(TAB);
    values.ascii(MISSING_FIELD);
    values.end();
  }

  /** The city's name in the first language that has one (a string). */
  #cityName(city: number): void {
    const section = this.#section;
    const names = city < 0 ? -1 : section.memberOf(city, NAMES);
    if (names >= 0) {
      const found = this.#names;
      section.members(names, this.#namesSearch);
      for (let i = 0; i < found.length; i++) {
        if (found[i]! < 0) continue;
        section.read(found[i]!);
        if (section.type === DataType.string) {
          this.#values.plainString(section.payload, section.size);
          return;
        }
      }
    }
    this.#values.ascii(MISSING_FIELD);
  }

  /** A string as it is, a number as JavaScript writes it, else `(null)`. */
  #text(at: number): void {
    const values = this.#values;
    if (at < 0) {
      values.ascii(MISSING_FIELD);
      return;
    }
    const section = this.#section;
    section.read(at);
    const type = section.type;
    if (type === DataType.string) values.plainString(section.payload, section.size);
    else if (isSmallNumber(type)) values.ascii(String(section.number()));
    else if (type === DataType.uint64 || type === DataType.uint128) {
      values.ascii(section.bigint().toString());
    } else values.ascii(MISSING_FIELD);
  }

  /** A number (not a 64- or 128-bit integer) with six decimals, else `(null)`. */
  #coordinate(at: number): void {
    const values = this.#values;
    if (at >= 0) {
      const section = this.#section;
      section.read(at);
      if (isSmallNumber(section.type)) {
        const value = section.number();
        if (Number.isFinite(value)) {
          values.fixed6(value);
          return;
        }
      }
    }
    values.ascii(MISSING_FIELD);
  }

  /** A whole number, else `(null)`. */
  #integer(at: number): void {
    const values = this.#values;
    if (at >= 0) {
      const section = this.#section;
      section.read(at);
      const type = section.type;
      if (type === DataType.uint64 || type === DataType.uint128) {
        values.ascii(section.bigint().toString());
        return;
      }
      if (isSmallNumber(type)) {
        const value = section.number();
        if (Number.isInteger(value)) {
          values.ascii(String(value));
          return;
        }
      }
    }
    values.ascii(MISSING_FIELD);
  }
}

/**
 * The JSON of location records, kept by record offset: the record of a `json` answer,
 * alone or with other databases' fields spliced under `traits` (`merged_json.ts`).
 *
 * @module
 */

import { type GeoDatabase, ValueWriter } from "../database/mod.ts";
import { stringifyJson } from "../protocol/mod.ts";
import type { CacheBudget } from "./cache_budget.ts";
import { RecordAnswers } from "./record_answers.ts";
import type { ReplyBuffer } from "./reply_buffer.ts";

/** About what a `json` record of a real City database takes: sizes the cache's table. */
const JSON_AVERAGE_BYTES = 1024;
/** The JSON memo's share of the cache budget (a sixteenth), and its most bytes. */
const MEMO_SHARE = 16;
const MEMO_MOST_BYTES = 512 * 1024;

/**
 * Writes location records as JSON: from the cache when the record was met before, else
 * from the database bytes (and kept), else, where the bytes are not as the reader takes
 * them, from the decoded record.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { CacheBudget } from "./cache_budget.ts";
 * import { LocationJson } from "./location_json.ts";
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const location = new LocationJson(database, new CacheBudget(1024 * 1024));
 * const offset = database.findOffset(new Uint8Array([81, 2, 69, 160]), 4);
 * const out = new ReplyBuffer();
 * location.write(offset, out);
 * location.write(offset, out);
 * const [first] = new TextDecoder().decode(out.view()).split('}{"city"');
 * console.log(JSON.parse(first + "}").city.names.en); // "East Finchley"
 * console.log(location.cache.hits); // 1
 * ```
 */
export class LocationJson {
  /** The records' JSON, by record offset. */
  readonly cache: RecordAnswers;
  readonly #database: GeoDatabase;
  readonly #writer: ValueWriter;

  /**
   * @param database the location database
   * @param budget the cache budget: the memo of shared values' JSON takes its share first,
   *   the cache shares the rest with the others
   */
  constructor(database: GeoDatabase, budget: CacheBudget) {
    this.#database = database;
    this.#writer = new ValueWriter(database.section);
    const memo = Math.min(MEMO_MOST_BYTES, Math.floor(budget.limit / MEMO_SHARE));
    if (memo > 0 && budget.hold(memo)) this.#writer.memoize(memo);
    this.cache = new RecordAnswers(budget, { averageBytes: JSON_AVERAGE_BYTES });
  }

  /**
   * Appends the JSON of the record at an offset.
   *
   * @param offset the record's data-section offset
   * @param out where it goes
   * @throws a decoder's error for a record that cannot be read at all (`out` is then as it was)
   */
  write(offset: number, out: ReplyBuffer): void {
    if (this.cache.copyInto(offset, out)) return;
    const from = out.length;
    this.#render(offset, out);
    this.cache.keep(offset, { out, from });
  }

  /** Writes the record from the bytes; where they are not as the reader takes them, decoded. */
  #render(offset: number, out: ReplyBuffer): void {
    const from = out.length;
    try {
      const section = this.#database.section;
      section.start();
      this.#writer.begin(out);
      this.#writer.json(section.at(offset));
      this.#writer.end();
    } catch {
      out.length = from;
      out.appendText(stringifyJson(this.#database.decodeRecord(offset)));
    }
  }
}

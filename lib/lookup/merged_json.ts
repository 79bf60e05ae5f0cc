/**
 * The `json` answer when several databases answer (`--db` more than once): the location
 * record with each other database's fields under `traits`. Where the fragments just join,
 * the location record's JSON (kept by record offset, as for one database) with the others'
 * fields written from the bytes after it; else merged from the decoded records
 * (`mergeTraits`) and kept, as text, by the combination of records found.
 *
 * @module
 */

import { DataType } from "../database/mod.ts";
import { stringifyJson } from "../protocol/mod.ts";
import { AnswerCache } from "./answer_cache.ts";
import type { CacheBudget } from "./cache_budget.ts";
import type { LocationJson } from "./location_json.ts";
import type { ReplyBuffer } from "./reply_buffer.ts";
import type { ResponderDatabases } from "./responder_databases.ts";

const encoder = new TextEncoder();
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;
const TRAITS_KEY = encoder.encode("traits");
const TRAITS_OPEN = encoder.encode(',"traits":{');

/**
 * Writes the records of `json` answers merged from several databases.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { CacheBudget } from "./cache_budget.ts";
 * import { LocationJson } from "./location_json.ts";
 * import { MergedJson } from "./merged_json.ts";
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * import { ResponderDatabases } from "./responder_databases.ts";
 * const databases = new ResponderDatabases([await GeoDatabase.open(bundledDatabasePath())]);
 * const budget = new CacheBudget(1024 * 1024);
 * const location = new LocationJson(databases.location, budget);
 * const merged = new MergedJson(databases, { budget, location });
 * const out = new ReplyBuffer();
 * assert.equal(databases.locate(new Uint8Array([10, 0, 0, 1]), 4), false);
 * assert.equal(databases.locate(new Uint8Array([81, 2, 69, 160]), 4), true);
 * assert.equal(merged.writeRecord(out), true);
 * const record = JSON.parse(new TextDecoder().decode(out.view()));
 * console.log(record.city.names.en); // "East Finchley"
 * ```
 */
export class MergedJson {
  readonly #databases: ResponderDatabases;
  readonly #location: LocationJson;
  /** Merged records, by the combination of records found. */
  readonly cache: AnswerCache<string, string>;

  /**
   * @param databases the location database and the others
   * @param parts the cache budget to keep merged records on, and the writer of location
   *   records' JSON
   */
  constructor(
    databases: ResponderDatabases,
    parts: { budget: CacheBudget; location: LocationJson },
  ) {
    this.#databases = databases;
    this.#location = parts.location;
    this.cache = new AnswerCache(parts.budget);
  }

  /**
   * Writes the merged record of the combination {@linkcode ResponderDatabases.locate} found,
   * as the `record` of a `json` answer.
   *
   * @param out where it goes
   * @returns false when nobody has a record (`out` is then as it was)
   * @throws a decoder's error for a record that cannot be read at all
   */
  writeRecord(out: ReplyBuffer): boolean {
    if (this.#splice(out)) return true;
    const key = this.#databases.key();
    let record = this.cache.peek(key);
    if (record === undefined) {
      const merged = this.#databases.mergedRecord("stored");
      record = this.cache.put(key, merged === null ? "null" : stringifyJson(merged));
    }
    if (record === "null") return false;
    out.appendText(record);
    return true;
  }

  /**
   * Writes the merged record of the combination found from the bytes: the location
   * record's JSON, and each other database's fields under `traits`. The same text as
   * `mergeTraits` then JSON gives.
   *
   * @returns whether it wrote a record: false when nobody has anything, or where this
   *   cannot be done so (the location record is not a map or has `traits` of its own, two
   *   databases can add the same field, a record is not as the reader takes it); then
   *   `out` is as it was and the whole record is merged
   */
  #splice(out: ReplyBuffer): boolean {
    const databases = this.#databases;
    if (!databases.disjoint) return false;
    const from = out.length;
    try {
      const offset = databases.offsets[0]!;
      /** Whether the location record had members (then `traits` follows a comma). */
      let members = false;
      if (offset >= 0) {
        const section = databases.location.section;
        section.start();
        const at = section.at(offset);
        section.read(at);
        if (section.type !== DataType.map || section.memberOf(at, TRAITS_KEY) >= 0) return false;
        this.#location.write(offset, out);
        out.length--; // the closing brace
        members = out.length - from > 1;
      }
      const traits = this.#traits(out, { offset, members });
      if (!traits && offset < 0) {
        out.length = from;
        return false;
      }
      if (traits) out.appendByte(CLOSE_BRACE);
      out.appendByte(CLOSE_BRACE);
      return true;
    } catch {
      out.length = from;
      return false;
    }
  }

  /**
   * Writes the other databases' fields, each after the `traits` opening or a comma.
   *
   * @returns whether any was written (then `traits` is open)
   */
  #traits(out: ReplyBuffer, location: { offset: number; members: boolean }): boolean {
    const databases = this.#databases;
    let traits = false;
    for (let i = 0; i < databases.others.length; i++) {
      const record = databases.offsets[i + 1]!;
      if (record < 0) continue;
      const source = databases.others[i]!;
      const section = source.database.section;
      section.start();
      if (!section.members(section.at(record), source.search)) continue;
      const found = source.search.found;
      for (let k = 0; k < found.length; k++) {
        if (found[k]! < 0) continue;
        if (traits) out.appendByte(COMMA);
        else if (location.offset < 0) out.appendText('{"traits":{');
        else out.append(location.members ? TRAITS_OPEN : TRAITS_OPEN.subarray(1));
        traits = true;
        out.append(source.names[k]!);
        source.writer.begin(out);
        source.writer.json(found[k]!);
        source.writer.end();
      }
    }
    return traits;
  }
}

/**
 * The `json` answer when several databases answer (`--db` more than once): the location
 * record with each other database's fields under `traits`. Written from the bytes where
 * the fragments just join; else merged from the decoded records (`mergeTraits`)
 * and kept, as text, by the combination of records found.
 *
 * @module
 */

import { DataType, ValueWriter } from "../database/mod.ts";
import { formatNetwork, type IpAddress, stringifyJson } from "../protocol/mod.ts";
import { AnswerCache } from "./answer_cache.ts";
import type { AddressOutcome } from "./address_outcome.ts";
import type { CacheBudget } from "./cache_budget.ts";
import type { ReplyBuffer } from "./reply_buffer.ts";
import type { ResponderDatabases } from "./responder_databases.ts";

const encoder = new TextEncoder();
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;
const TRAITS_KEY = encoder.encode("traits");
const TRAITS_OPEN = encoder.encode(',"traits":{');

/**
 * Writes `json` answers merged from several databases.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { AddressOutcome } from "./address_outcome.ts";
 * import { CacheBudget } from "./cache_budget.ts";
 * import { MergedJson } from "./merged_json.ts";
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * import { ResponderDatabases } from "./responder_databases.ts";
 * const databases = new ResponderDatabases([await GeoDatabase.open(bundledDatabasePath())]);
 * const tally = { verb: "json", outcome: "ok", found: 0, notFound: 0, invalid: 0, error: 0 } as const;
 * const outcome = new AddressOutcome({ ...tally });
 * const merged = new MergedJson(databases, { budget: new CacheBudget(0), outcome });
 * const out = new ReplyBuffer();
 * merged.write({ version: 4, bytes: new Uint8Array([10, 0, 0, 1]) }, { text: "10.0.0.1", out });
 * console.log(new TextDecoder().decode(out.view())); // '{"ip":"10.0.0.1","network":null,"record":null}'
 * ```
 */
export class MergedJson {
  readonly #databases: ResponderDatabases;
  readonly #outcome: AddressOutcome;
  readonly #writer: ValueWriter;
  /** Merged records, by the combination of records found. */
  readonly cache: AnswerCache<string, string>;

  /**
   * @param databases the location database and the others
   * @param parts the cache budget to keep merged records on, and the tally
   */
  constructor(
    databases: ResponderDatabases,
    parts: { budget: CacheBudget; outcome: AddressOutcome },
  ) {
    this.#databases = databases;
    this.#outcome = parts.outcome;
    this.#writer = new ValueWriter(databases.location.section);
    this.cache = new AnswerCache(parts.budget);
  }

  /**
   * Writes the `json` answer of an address (not found: with a null record).
   *
   * @param address the address
   * @param answer the address as sent, and where the answer goes
   * @throws {import("../database/mod.ts").AddressFamilyError} for an IPv6 address in an
   *   IPv4-only location database; a decoder's error for a corrupt record
   */
  write(address: IpAddress, answer: { text: string; out: ReplyBuffer }): void {
    const { text, out } = answer;
    const databases = this.#databases;
    const found = databases.locate(address.bytes, address.version);
    const prefix = databases.location.lastPrefixLength;
    const locationFound = databases.offsets[0]! >= 0;
    const network = locationFound ? `"${formatNetwork(address, prefix)}"` : "null";
    const from = out.length;
    out.appendText(`{"ip":"${text}","network":${network},"record":`);
    const start = out.length;
    let written = found && this.#splice(out);
    if (found && !written) {
      out.length = start;
      const key = databases.key();
      let record = this.cache.peek(key);
      if (record === undefined) {
        const merged = databases.mergedRecord("stored");
        record = this.cache.put(key, merged === null ? "null" : stringifyJson(merged));
      }
      if (record !== "null") {
        out.appendText(record);
        written = true;
      }
    }
    if (!written) {
      out.length = from;
      this.#outcome.notFound();
      out.appendText(`{"ip":"${text}","network":null,"record":null}`);
      return;
    }
    out.appendByte(CLOSE_BRACE);
    this.#outcome.found();
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
        this.#writer.begin(out);
        this.#writer.json(at);
        this.#writer.end();
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

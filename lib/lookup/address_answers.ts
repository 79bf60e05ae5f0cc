/**
 * The `geoip` line and the `json` envelope of one address, written into a reply: from
 * the cache of rendered answers when the record was met before, else from the database
 * bytes (and kept), else, where the bytes are not as the reader takes them or the record
 * is a vendor's, from the decoded record.
 *
 * @module
 */

import { TsvWriter } from "../database/mod.ts";
import { formatNetwork, formatTsv, NOT_FOUND, parseIpInto } from "../protocol/mod.ts";
import type { AddressOutcome } from "./address_outcome.ts";
import type { CacheBudget } from "./cache_budget.ts";
import type { LocationJson } from "./location_json.ts";
import type { MergedJson } from "./merged_json.ts";
import { RecordAnswers } from "./record_answers.ts";
import type { ReplyBuffer } from "./reply_buffer.ts";
import type { ResponderDatabases } from "./responder_databases.ts";
import { latin1 } from "./request_text.ts";

const encoder = new TextEncoder();
const NOT_FOUND_BYTES = encoder.encode(NOT_FOUND);
const CLOSE_BRACE = 0x7d;
const DOT = 0x2e;
const SLASH = 0x2f;
const IP_OPEN = encoder.encode('{"ip":"');
const NOT_FOUND_TAIL = encoder.encode('","network":null,"record":null}');
const NETWORK_OPEN = encoder.encode('","network":"');
const RECORD_OPEN = encoder.encode('","record":');
const NO_NETWORK_RECORD_OPEN = encoder.encode('","network":null,"record":');
/** About what a `geoip` line of a real City database takes: sizes the cache's table. */
const TSV_AVERAGE_BYTES = 56;
/** How request frames are read as text in messages (as `RequestScan.addressText` does). */
const latin1Decoder = new TextDecoder("latin1");

/** Where an address lies in a frame, and where its answer goes. */
export interface AddressPlace {
  start: number;
  end: number;
  out: ReplyBuffer;
  /** The address as text, when the caller has it (else read from the frame). */
  text?: string;
}

/**
 * Writes the `geoip` and `json` answers of addresses.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { AddressAnswers } from "./address_answers.ts";
 * import { AddressOutcome } from "./address_outcome.ts";
 * import { CacheBudget } from "./cache_budget.ts";
 * import { LocationJson } from "./location_json.ts";
 * import { MergedJson } from "./merged_json.ts";
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * import { ResponderDatabases } from "./responder_databases.ts";
 * const databases = new ResponderDatabases([await GeoDatabase.open(bundledDatabasePath())]);
 * const tally = { verb: "geoip", outcome: "ok", found: 0, notFound: 0, invalid: 0, error: 0 } as const;
 * const outcome = new AddressOutcome({ ...tally });
 * const budget = new CacheBudget(1024 * 1024);
 * const location = new LocationJson(databases.location, budget);
 * const merged = new MergedJson(databases, { budget, location });
 * const answers = new AddressAnswers(databases, {
 *   budget,
 *   outcome,
 *   languages: ["en"],
 *   location,
 *   merged,
 * });
 * const frame = new TextEncoder().encode("81.2.69.160");
 * const out = new ReplyBuffer();
 * answers.tsv(frame, { start: 0, end: frame.length, out });
 * console.log(new TextDecoder().decode(out.view()).split("\t")[2]); // "East Finchley"
 * ```
 */
export class AddressAnswers {
  readonly #databases: ResponderDatabases;
  readonly #outcome: AddressOutcome;
  readonly #languages: readonly string[];
  readonly #merged: MergedJson;
  readonly #location: LocationJson;
  readonly #tsvWriter: TsvWriter;
  readonly #address = new Uint8Array(16);
  /** `geoip` lines by record offset. */
  readonly tsvCache: RecordAnswers;

  /**
   * @param databases the location database and the others
   * @param parts the cache budget, the tally, the languages of names, the writer of
   *   location records' JSON, and the writer of the `json` of several databases
   */
  constructor(
    databases: ResponderDatabases,
    parts: {
      budget: CacheBudget;
      outcome: AddressOutcome;
      languages: readonly string[];
      location: LocationJson;
      merged: MergedJson;
    },
  ) {
    this.#databases = databases;
    this.#outcome = parts.outcome;
    this.#languages = parts.languages;
    this.#merged = parts.merged;
    this.#location = parts.location;
    this.#tsvWriter = new TsvWriter(databases.location.section, parts.languages);
    this.tsvCache = new RecordAnswers(parts.budget, { averageBytes: TSV_AVERAGE_BYTES });
  }

  /**
   * Writes the `geoip` answer for the address at `frame[start..end)` into `out`: its TSV
   * line, or `NOT_FOUND`.
   *
   * @param frame the request bytes
   * @param place where the address is, and where the answer goes
   * @returns undefined, or why the address failed (nothing was written)
   */
  tsv(frame: Uint8Array, place: AddressPlace): string | undefined {
    const { start, end, out } = place;
    const outcome = this.#outcome;
    const version = parseIpInto(frame, start, end, this.#address);
    if (version === 0) return outcome.invalid(latin1(frame, { start, end }));
    const from = out.length;
    try {
      const offset = this.#databases.location.findOffset(this.#address, version);
      if (offset < 0) {
        outcome.notFound();
        out.append(NOT_FOUND_BYTES);
        return undefined;
      }
      if (!this.tsvCache.copyInto(offset, out)) {
        this.#writeTsv(offset, out);
        this.tsvCache.keep(offset, { out, from });
      }
      outcome.found();
      return undefined;
    } catch (error) {
      out.length = from;
      return outcome.lookupFailed(error, latin1(frame, { start, end }));
    }
  }

  /**
   * Writes a record's TSV line from the bytes; where they are not as the reader takes
   * them, and for a vendor's record (mapped to GeoIP2's names), from the decoded record,
   * as the decoder reads it (its error, if it has one).
   */
  #writeTsv(offset: number, out: ReplyBuffer): void {
    const from = out.length;
    // A vendor's record is mapped to GeoIP2's names first: it is decoded.
    if (this.#databases.schema.schema === "geoip2") {
      try {
        this.#tsvWriter.write(offset, out);
        return;
      } catch {
        out.length = from;
      }
    }
    out.appendText(formatTsv(this.#databases.locationRecord(offset), this.#languages));
  }

  /**
   * Writes the `json` answer for the address at `frame[start..end)` into `out`: the
   * envelope `{"ip", "network", "record"}`.
   *
   * @param frame the request bytes
   * @param place where the address is, and where the answer goes
   * @returns undefined, or why the address failed (`out` is then as it was)
   */
  json(frame: Uint8Array, place: AddressPlace): { ip: string; error: string } | undefined {
    const { start, end, out } = place;
    const outcome = this.#outcome;
    const version = parseIpInto(frame, start, end, this.#address);
    if (version === 0) {
      const ip = addressText(frame, place);
      return { ip, error: outcome.invalid(ip) };
    }
    const from = out.length;
    try {
      // A valid address is made of hex digits, dots and colons: no JSON escaping needed.
      out.append(IP_OPEN);
      out.appendRange(frame, place);
      const afterIp = out.length;
      if (this.#writeRecordPart(version, out)) {
        out.appendByte(CLOSE_BRACE);
        outcome.found();
      } else {
        out.length = afterIp;
        outcome.notFound();
        out.append(NOT_FOUND_TAIL);
      }
      return undefined;
    } catch (error) {
      out.length = from;
      const ip = addressText(frame, place);
      return { ip, error: outcome.lookupFailed(error, ip) };
    }
  }

  /**
   * Writes `","network":…,"record":…` for the address in `#address`: the location record, or
   * with several databases the merged one (the network null when only the others know it).
   *
   * @returns false when no database has a record (what it wrote is then to be dropped)
   */
  #writeRecordPart(version: 4 | 6, out: ReplyBuffer): boolean {
    const databases = this.#databases;
    const database = databases.location;
    if (databases.others.length === 0) {
      const offset = database.findOffset(this.#address, version);
      if (offset < 0) return false;
      this.#openRecord(version, out);
      this.#location.write(offset, out);
      return true;
    }
    if (!databases.locate(this.#address, version)) return false;
    if (databases.offsets[0]! >= 0) this.#openRecord(version, out);
    else out.append(NO_NETWORK_RECORD_OPEN); // found by the other databases only
    return this.#merged.writeRecord(out);
  }

  /** Writes `","network":"a.b.c.d/n","record":` for the address in `#address`. */
  #openRecord(version: 4 | 6, out: ReplyBuffer): void {
    out.append(NETWORK_OPEN);
    this.#appendNetwork(version, this.#databases.location.lastPrefixLength, out);
    out.append(RECORD_OPEN);
  }

  /** Writes the network of the address in `#address` (`a.b.c.d/n` or IPv6 CIDR). */
  #appendNetwork(version: 4 | 6, prefixLength: number, out: ReplyBuffer): void {
    const address = this.#address;
    if (version === 6) {
      out.appendText(formatNetwork({ version, bytes: address }, prefixLength));
      return;
    }
    const prefix = Math.max(0, Math.min(32, prefixLength));
    for (let i = 0; i < 4; i++) {
      const kept = Math.max(0, Math.min(8, prefix - i * 8));
      const byte = address[i]! & (0xff00 >> kept);
      if (i > 0) out.appendByte(DOT);
      appendDecimal(out, byte);
    }
    out.appendByte(SLASH);
    appendDecimal(out, prefix);
  }
}

/** The address of a place as text: as the caller gave it, else the frame's bytes as Latin-1. */
function addressText(frame: Uint8Array, place: AddressPlace): string {
  return place.text ?? latin1Decoder.decode(frame.subarray(place.start, place.end));
}

/** Writes a whole number from 0 to 255 in decimal. */
function appendDecimal(out: ReplyBuffer, value: number): void {
  if (value >= 100) out.appendByte(0x30 + Math.floor(value / 100));
  if (value >= 10) out.appendByte(0x30 + (Math.floor(value / 10) % 10));
  out.appendByte(0x30 + (value % 10));
}

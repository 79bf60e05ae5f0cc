/**
 * Turns one request frame into one reply: the whole service logic, without sockets, so
 * that a worker's loop, the HTTP front, a test and a benchmark all call the same thing.
 *
 * The request loop's path allocates nothing for a `geoip` request whose records are in
 * the cache: the frame is scanned in place, addresses are parsed from its bytes into a
 * scratch buffer, the tree walk returns a number, and the cached answer is UTF-8 bytes
 * copied into a reused reply buffer.
 *
 * @module
 */

import { AnswerCache } from "./answer_cache.ts";
import { RecordAnswers } from "./record_answers.ts";
import { ByteSlab } from "./byte_slab.ts";
import { FieldListMemo } from "./field_list_memo.ts";
import { CacheBudget } from "./cache_budget.ts";
import {
  AddressFamilyError,
  type DatabaseKind,
  databaseKind,
  DataType,
  FieldWriter,
  type GeoDatabase,
  isLocationKind,
  TsvWriter,
  ValueWriter,
} from "../database/mod.ts";
import {
  type FieldPath,
  formatFields,
  formatNetwork,
  parseIpAddress,
  parseIpInto,
} from "../protocol/mod.ts";
import { errorReply, quoteValue, type RequestLimits, RequestScan } from "../protocol/mod.ts";
import { mergeTraits, TRAIT_FIELDS } from "./record_merge.ts";
import { ReplyBuffer } from "./reply_buffer.ts";
import { toGeoip2 } from "./geoip2_record.ts";
import { type LocationSchema, locationSchema } from "./location_schema.ts";
import { formatTsv, type IpAddress, NOT_FOUND, stringifyJson } from "../protocol/mod.ts";

/** What `info` reports about the server beside the database. */
export interface ServerInfo {
  /** geoipmq's version. */
  version: string;
  /** libzmq's version. */
  libzmqVersion: string;
  /** When the server started, in milliseconds since the epoch. */
  startedAt: number;
  /** The database reloads so far, by outcome (a failed switch counts as a failure). */
  reloads?: () => { success: number; failure: number };
  /** Brokers connected to, of the `--connect` endpoints (reported when there are any). */
  brokers?: () => { connected: number; endpoints: number };
}

/** Options for {@linkcode GeoipResponder}. */
export interface ResponderOptions {
  /** Request size and batch bounds. */
  limits: RequestLimits;
  /** What `info` says about the server. */
  server: ServerInfo;
  /** Which worker this responder runs in, reported by `info`. */
  worker?: number;
  /**
   * The memory all its caches of rendered answers (TSV lines, JSON records, …) may hold
   * together, in bytes of what their entries really cost; default none (no cache).
   */
  cache?: { maxBytes: number };
  /**
   * Languages for city and other names (`--lang`), most preferred first; default English.
   * English is the fallback when none of them has a name.
   */
  languages?: readonly string[];
}

/**
 * What the last {@linkcode GeoipResponder.respondInto} did, for metrics: the verb, whether
 * the reply was an `ERROR`, and how each address fared. Reset on every request.
 */
export interface ResponseTally {
  verb: "geoip" | "json" | "get" | "ping" | "info" | "invalid";
  outcome: "ok" | "error";
  found: number;
  notFound: number;
  invalid: number;
  error: number;
}

/** How one address fared. */
export type AddressResult = "found" | "not_found" | "invalid" | "error";

/** One address's answer, for a face that is not the wire protocol (HTTP). */
export interface AddressAnswer {
  /** How the lookup went. */
  result: AddressResult;
  /**
   * `found` and `not_found`: the answer as the protocol writes it (the TSV line or
   * `NOT_FOUND`; the JSON envelope); `invalid` and `error`: the reason, one line.
   */
  text: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NOT_FOUND_BYTES = encoder.encode(NOT_FOUND);
const LINE_FEED = 0x0a;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;
const DOT = 0x2e;
const SLASH = 0x2f;
const IP_OPEN = encoder.encode('{"ip":"');
const NOT_FOUND_TAIL = encoder.encode('","network":null,"record":null}');
/** What a `geoip` line and a `json` record of a real City database take, about: sizes the caches' tables. */
const TSV_AVERAGE_BYTES = 56;
const JSON_AVERAGE_BYTES = 1024;
const NETWORK_OPEN = encoder.encode('","network":"');
const RECORD_OPEN = encoder.encode('","record":');
/** How request frames are read as text in messages (as `RequestScan.addressText` does). */
const latin1Decoder = new TextDecoder("latin1");

/** A database other than the location one, and what it adds to `traits`. */
interface TraitSource {
  kind: DatabaseKind;
  database: GeoDatabase;
  /** Writes its values as JSON. */
  writer: ValueWriter;
  /** The fields it adds, as UTF-8 keys, and their JSON names with the colon. */
  keys: Uint8Array[];
  names: Uint8Array[];
  /** Where {@linkcode DataSection.members} leaves the fields' offsets. */
  found: Int32Array;
}

const TRAITS_KEY = encoder.encode("traits");
const TRAITS_OPEN = encoder.encode(',"traits":{');

/**
 * Answers requests from one database, keeping the rendered answer of each record it has
 * met in bounded caches, so a repeated record costs a tree walk and a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { DEFAULT_LIMITS } from "../protocol/mod.ts";
 * import { GeoipResponder } from "./responder.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
 * const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
 * const reply = responder.respond(new TextEncoder().encode("geoip 81.2.69.160"));
 * assert.equal(reply, "GB\tENG\tEast Finchley\tN2\t51.596700\t-0.159300\t(null)\t(null)");
 * ```
 */
export class GeoipResponder {
  /** What the last request did; see {@linkcode ResponseTally}. */
  readonly tally: ResponseTally = {
    verb: "invalid",
    outcome: "ok",
    found: 0,
    notFound: 0,
    invalid: 0,
    error: 0,
  };
  readonly #database: GeoDatabase;
  /** The location database's schema: a vendor's records are read in GeoIP2's names. */
  readonly #schema: LocationSchema;
  readonly #databases: readonly GeoDatabase[];
  readonly #others: readonly TraitSource[];
  readonly #languages: readonly string[];
  readonly #options: ResponderOptions;
  readonly #tsvCache: RecordAnswers;
  readonly #jsonCache: RecordAnswers;
  /** Merged records (several databases) and `get` lines, keyed by every offset found. */
  readonly #mergedCache: AnswerCache<string, string>;
  /** Answers written from the location database's bytes: the TSV line, `get`, JSON. */
  readonly #tsvWriter: TsvWriter;
  readonly #fieldWriter: FieldWriter;
  readonly #jsonWriter: ValueWriter;
  /** Where answers given as text (not into a request's reply) are written first. */
  readonly #scratch = new ReplyBuffer(4096);
  /** Whether no two other databases can add the same field (then fragments just join). */
  readonly #disjoint: boolean;
  readonly #getCache: AnswerCache<Uint8Array, string>;
  readonly #cacheBudget: CacheBudget;
  /** Where the bytes of cached lines are packed. */
  readonly #slab = new ByteSlab();
  readonly #fieldLists = new FieldListMemo();
  readonly #offsets: Int32Array;
  readonly #scan: RequestScan;
  readonly #address = new Uint8Array(16);
  readonly #reply = new ReplyBuffer();
  /** How the last address fared, and why it failed. */
  #result: AddressResult = "found";
  #reason = "";

  /**
   * @param databases the database to answer from, or several in `--db` order: the first
   *   City, Country or Enterprise one is the location database (else the first one), the
   *   others add their fields to the record's `traits`
   * @param options limits, server facts, cache bounds and languages
   */
  constructor(databases: GeoDatabase | readonly GeoDatabase[], options: ResponderOptions) {
    const list: readonly GeoDatabase[] = Array.isArray(databases) ? databases : [databases];
    if (list.length === 0) throw new TypeError("a responder needs a database");
    const kindOf = (database: GeoDatabase) => databaseKind(database.metadata.databaseType);
    const location = list.find((database) => isLocationKind(kindOf(database))) ?? list[0]!;
    this.#database = location;
    this.#schema = locationSchema(location);
    this.#databases = list;
    this.#others = list
      .filter((database) => database !== location)
      .map((database) => {
        const kind = kindOf(database);
        const fields = TRAIT_FIELDS[kind];
        return {
          kind,
          database,
          writer: new ValueWriter(database.section),
          keys: fields.map((field) => encoder.encode(field)),
          names: fields.map((field) => encoder.encode(`${JSON.stringify(field)}:`)),
          found: new Int32Array(fields.length),
        };
      })
      .filter((source) => source.keys.length > 0);
    this.#offsets = new Int32Array(this.#others.length + 1);
    this.#languages = options.languages ?? ["en"];
    this.#options = options;
    const cache = new CacheBudget(options.cache?.maxBytes ?? 0);
    this.#cacheBudget = cache;
    this.#tsvCache = new RecordAnswers(cache, { averageBytes: TSV_AVERAGE_BYTES });
    this.#jsonCache = new RecordAnswers(cache, { averageBytes: JSON_AVERAGE_BYTES });
    this.#mergedCache = new AnswerCache(cache);
    this.#tsvWriter = new TsvWriter(location.section, this.#languages);
    this.#fieldWriter = new FieldWriter(location.section, this.#languages);
    this.#jsonWriter = new ValueWriter(location.section);
    const fields = this.#others.flatMap((source) => TRAIT_FIELDS[source.kind]);
    this.#disjoint = new Set(fields).size === fields.length;
    this.#getCache = new AnswerCache(cache);
    this.#scan = new RequestScan(options.limits);
  }

  /** Every database answered from, in `--db` order. */
  get databases(): readonly GeoDatabase[] {
    return this.#databases;
  }

  /** The location database's record schema, and a warning when `geoip` finds nothing. */
  get locationSchema(): LocationSchema {
    return this.#schema;
  }

  /** The database this responder answers from. */
  get database(): GeoDatabase {
    return this.#database;
  }

  /** Cache hits so far, every reply format together. */
  get cacheHits(): number {
    return this.#tsvCache.hits + this.#jsonCache.hits + this.#mergedCache.hits +
      this.#getCache.hits;
  }

  /** Cache misses so far, every reply format together. */
  get cacheMisses(): number {
    return this.#tsvCache.misses + this.#jsonCache.misses + this.#mergedCache.misses +
      this.#getCache.misses;
  }

  /**
   * Answers one request. Never throws: any failure becomes an `ERROR` reply.
   *
   * @param frame the request bytes
   * @returns the reply text
   */
  respond(frame: Uint8Array): string {
    this.respondInto(frame, frame.length, this.#reply);
    return decoder.decode(this.#reply.view());
  }

  /**
   * Answers one request into a reply buffer. Never throws: any failure becomes an
   * `ERROR` reply.
   *
   * @param frame holds the request bytes at its start
   * @param length the request's size
   * @param out where the reply is assembled (reset first): its first `out.length` bytes
   */
  respondInto(frame: Uint8Array, length: number, out: ReplyBuffer): void {
    this.startTally("invalid");
    const tally = this.tally;
    out.reset();
    try {
      const scan = this.#scan;
      switch (scan.scan(frame, length)) {
        case "invalid":
          this.#fail(out, scan.reason);
          break;
        case "ping":
          tally.verb = "ping";
          out.appendText("pong");
          break;
        case "info":
          tally.verb = "info";
          out.appendText(stringifyJson(this.info()));
          break;
        case "lookup":
          tally.verb = scan.format;
          if (scan.format === "geoip") this.#geoip(frame, out);
          else if (scan.format === "json") this.#json(frame, out);
          else this.#get(frame, out);
          break;
      }
    } catch (error) {
      out.reset();
      this.#fail(out, `internal error: ${error instanceof Error ? error.message : error}`);
    }
  }

  /**
   * Starts counting a new request in {@linkcode GeoipResponder.tally}; the wire protocol
   * does it itself, another face calls it before its lookups.
   *
   * @param verb the request's verb
   */
  startTally(verb: ResponseTally["verb"]): void {
    const tally = this.tally;
    tally.verb = verb;
    tally.outcome = "ok";
    tally.found =
      tally.notFound =
      tally.invalid =
      tally.error =
        0;
  }

  #fail(out: ReplyBuffer, reason: string): void {
    this.tally.outcome = "error";
    out.appendText(errorReply(reason));
  }

  #geoip(frame: Uint8Array, out: ReplyBuffer): void {
    const scan = this.#scan;
    for (let i = 0; i < scan.addressCount; i++) {
      if (i > 0) out.appendByte(LINE_FEED);
      const failure = this.#tsvAnswer(frame, { start: scan.starts[i]!, end: scan.ends[i]!, out });
      if (failure !== undefined) {
        if (scan.addressCount === 1) this.tally.outcome = "error";
        out.appendText(failure);
      }
    }
  }

  /**
   * Writes the TSV answer for the address at `frame[start..end)` into `out`.
   *
   * @returns undefined, or the ERROR line to write instead
   */
  #tsvAnswer(
    frame: Uint8Array,
    place: { start: number; end: number; out: ReplyBuffer },
  ): string | undefined {
    const { start, end, out } = place;
    const tally = this.tally;
    const version = parseIpInto(frame, start, end, this.#address);
    if (version === 0) {
      return this.#failed("invalid", `invalid IP address ${quoteValue(latin1(frame, start, end))}`);
    }
    const from = out.length;
    try {
      const database = this.#database;
      const offset = database.findOffset(this.#address, version);
      if (offset < 0) {
        tally.notFound++;
        this.#result = "not_found";
        out.append(NOT_FOUND_BYTES);
        return undefined;
      }
      if (!this.#tsvCache.copyInto(offset, out)) {
        this.#writeTsv(offset, out);
        this.#tsvCache.keep(offset, { out, from });
      }
      tally.found++;
      this.#result = "found";
      return undefined;
    } catch (error) {
      out.length = from;
      return this.#lookupFailed(error, latin1(frame, start, end));
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
    if (this.#schema.schema === "geoip2") {
      try {
        this.#tsvWriter.write(offset, out);
        return;
      } catch {
        out.length = from;
      }
    }
    out.appendText(formatTsv(this.#locationRecord(offset), this.#languages));
  }

  /** Keeps the answer just written at `out[from..]` in a cache (when caches are on). */
  #keep<K extends number | string>(
    cache: AnswerCache<Uint8Array, K>,
    key: K,
    written: { out: ReplyBuffer; from: number },
  ): void {
    if (this.#cacheBudget.limit === 0) return;
    const { out, from } = written;
    cache.put(key, this.#slab.copy(out.bytes, { start: from, end: out.length }));
  }

  /** Counts an address whose lookup threw, and makes its `ERROR` line. */
  #lookupFailed(error: unknown, address: string): string {
    const result = error instanceof AddressFamilyError ? "invalid" : "error";
    return this.#failed(result, lookupFailure(address, error));
  }

  /** Counts a failed address and makes its `ERROR` line. */
  #failed(result: "invalid" | "error", reason: string): string {
    if (result === "invalid") this.tally.invalid++;
    else this.tally.error++;
    this.#result = result;
    this.#reason = reason;
    return errorReply(reason);
  }

  #json(frame: Uint8Array, out: ReplyBuffer): void {
    const scan = this.#scan;
    if (scan.addressCount === 1) {
      const failure = this.#jsonAnswer(frame, { start: scan.starts[0]!, end: scan.ends[0]!, out });
      if (failure !== undefined) {
        out.reset();
        this.#fail(out, failure.error);
      }
      return;
    }
    out.appendText("[");
    for (let i = 0; i < scan.addressCount; i++) {
      if (i > 0) out.appendText(",");
      const failure = this.#jsonAnswer(frame, { start: scan.starts[i]!, end: scan.ends[i]!, out });
      if (failure !== undefined) out.appendText(stringifyJson(failure));
    }
    out.appendText("]");
  }

  /**
   * One address's answer, typed, for a face other than the wire protocol (HTTP): counted
   * in {@linkcode GeoipResponder.tally} like the addresses of a request.
   *
   * @example
   * ```ts
   * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
   * import { DEFAULT_LIMITS } from "../protocol/mod.ts";
   * import { GeoipResponder } from "./responder.ts";
   * const database = await GeoDatabase.open(bundledDatabasePath());
   * const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
   * const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
   * console.log(responder.answer("geoip", "10.0.0.1")); // { result: "not_found", text: "NOT_FOUND" }
   * console.log(responder.answer("json", "x").result); // "invalid"
   * ```
   *
   * @param format `geoip` for the TSV line, `json` for the JSON envelope
   * @param text the address as sent
   * @returns how it went, and the answer or the reason
   */
  answer(format: "geoip" | "json", text: string): AddressAnswer {
    if (format === "json") {
      const answer = this.answerJson(text);
      if (typeof answer === "string") return { result: this.#result, text: answer };
      return { result: this.#result, text: answer.error };
    }
    const bytes = encoder.encode(text);
    const out = this.#scratch;
    out.reset();
    const failure = this.#tsvAnswer(bytes, { start: 0, end: bytes.length, out });
    if (failure !== undefined) return { result: this.#result, text: this.#reason };
    return { result: this.#result, text: decoder.decode(out.view()) };
  }

  /**
   * One address's record, decoded afresh (not cached), for answers shaped per request: a
   * face's own choice of fields or languages. Counted like {@linkcode GeoipResponder.answer}.
   *
   * @param text the address as sent
   * @returns how it went; when found, the merged record, the location record alone (for
   *   the `geoip` fields) and the network; when not, the reason in `text`
   */
  lookupRecord(
    text: string,
  ): AddressAnswer & { record?: unknown; location?: unknown; network?: string | null } {
    const address = parseIpAddress(text);
    if (address === undefined) {
      const reason = this.#failedJson("invalid", `invalid IP address ${quoteValue(text)}`);
      return { result: "invalid", text: reason };
    }
    try {
      const found = this.#locate(address.bytes, address.version);
      const prefix = this.#database.lastPrefixLength;
      const record = found ? this.#mergedRecord() : null;
      if (record === null) {
        this.tally.notFound++;
        return { result: "not_found", text: "" };
      }
      this.tally.found++;
      const offset = this.#offsets[0]!;
      return {
        result: "found",
        text: "",
        record,
        location: offset >= 0 ? this.#locationRecord(offset) : null,
        network: offset >= 0 ? formatNetwork(address, prefix) : null,
      };
    } catch (error) {
      const result = error instanceof AddressFamilyError ? "invalid" : "error";
      return { result, text: this.#failedJson(result, lookupFailure(text, error)) };
    }
  }

  /**
   * The `json` answer for one address.
   *
   * @param text the address as sent
   * @returns the JSON text of `{"ip", "network", "record"}`, or why the address failed
   */
  answerJson(text: string): string | { ip: string; error: string } {
    const out = this.#scratch;
    out.reset();
    const bytes = encoder.encode(text);
    return this.#jsonAnswer(bytes, { start: 0, end: bytes.length, out, text }) ??
      decoder.decode(out.view());
  }

  /**
   * Writes the `json` answer for one address into `out`.
   *
   * @returns undefined, or why the address failed (`out` is then as it was)
   */
  #jsonAnswer(
    frame: Uint8Array,
    place: { start: number; end: number; out: ReplyBuffer; text?: string },
  ): { ip: string; error: string } | undefined {
    const { start, end, out } = place;
    const tally = this.tally;
    const version = parseIpInto(frame, start, end, this.#address);
    if (version === 0) {
      const text = place.text ?? latin1Decoder.decode(frame.subarray(start, end));
      return {
        ip: text,
        error: this.#failedJson("invalid", `invalid IP address ${quoteValue(text)}`),
      };
    }
    const from = out.length;
    try {
      if (this.#others.length > 0) {
        const text = place.text ?? latin1Decoder.decode(frame.subarray(start, end));
        const bytes = version === 4 ? this.#address.slice(0, 4) : this.#address.slice();
        this.#mergedJson({ version, bytes }, { text, out });
        return undefined;
      }
      const database = this.#database;
      const offset = database.findOffset(this.#address, version);
      // A valid address is made of hex digits, dots and colons: no JSON escaping needed.
      out.append(IP_OPEN);
      out.appendRange(frame, place);
      if (offset < 0) {
        tally.notFound++;
        this.#result = "not_found";
        out.append(NOT_FOUND_TAIL);
        return undefined;
      }
      out.append(NETWORK_OPEN);
      this.#appendNetwork(version, database.lastPrefixLength, out);
      out.append(RECORD_OPEN);
      if (!this.#jsonCache.copyInto(offset, out)) {
        const start = out.length;
        this.#writeJson(offset, out);
        this.#jsonCache.keep(offset, { out, from: start });
      }
      out.appendByte(CLOSE_BRACE);
      tally.found++;
      this.#result = "found";
      return undefined;
    } catch (error) {
      out.length = from;
      const text = place.text ?? latin1Decoder.decode(frame.subarray(start, end));
      const result = error instanceof AddressFamilyError ? "invalid" : "error";
      return { ip: text, error: this.#failedJson(result, lookupFailure(text, error)) };
    }
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

  /**
   * Writes a location record as JSON from the bytes; where they are not as the reader
   * takes them, from the decoded record (the decoder's error, if it has one).
   */
  #writeJson(offset: number, out: ReplyBuffer): void {
    const from = out.length;
    try {
      const section = this.#database.section;
      section.start();
      this.#jsonWriter.begin(out);
      this.#jsonWriter.json(section.at(offset));
      this.#jsonWriter.end();
    } catch {
      out.length = from;
      out.appendText(stringifyJson(this.#database.decodeRecord(offset)));
    }
  }

  /**
   * Walks every database's tree for an address: the offsets go to `#offsets` (the
   * location database's first; -1 where a database has no record).
   *
   * @returns whether any database has a record (then {@linkcode #key} names the combination)
   * @throws {AddressFamilyError} for an IPv6 address in an IPv4-only location database
   */
  #locate(bytes: Uint8Array, version: 4 | 6): boolean {
    const offsets = this.#offsets;
    offsets[0] = this.#database.findOffset(bytes, version);
    let any = offsets[0]! >= 0;
    for (let i = 0; i < this.#others.length; i++) {
      const database = this.#others[i]!.database;
      let offset = -1;
      if (version === 4 || database.metadata.ipVersion === 6) {
        offset = database.findOffset(bytes, version);
      }
      offsets[i + 1] = offset;
      if (offset >= 0) any = true;
    }
    return any;
  }

  /** @returns the cache key of the combination of records `#locate` found */
  #key(): string {
    return this.#offsets.join("/");
  }

  /**
   * A location record in GeoIP2's names (another vendor's record mapped), as `geoip`,
   * `get` and `?fields=` read it; `json` answers the record as stored.
   */
  #locationRecord(offset: number): unknown {
    return toGeoip2(this.#schema.schema, this.#database.decodeRecord(offset));
  }

  /**
   * The record of the combination `#locate` found: the location one (in GeoIP2's names,
   * or as stored for `json`), merged.
   */
  #mergedRecord(form: "geoip2" | "stored" = "geoip2"): unknown {
    const offsets = this.#offsets;
    const at = offsets[0]!;
    const location = at < 0
      ? null
      : form === "stored"
      ? this.#database.decodeRecord(at)
      : this.#locationRecord(at);
    if (this.#others.length === 0) return location;
    return mergeTraits(
      location,
      this.#others.map((source, i) => ({
        kind: source.kind,
        record: offsets[i + 1]! >= 0 ? source.database.decodeRecord(offsets[i + 1]!) : null,
      })),
    );
  }

  /** Writes the `json` answer from several databases (not found: with a null record). */
  #mergedJson(address: IpAddress, answer: { text: string; out: ReplyBuffer }): void {
    const { text, out } = answer;
    const tally = this.tally;
    const found = this.#locate(address.bytes, address.version);
    const prefix = this.#database.lastPrefixLength;
    const locationFound = this.#offsets[0]! >= 0;
    const network = locationFound ? `"${formatNetwork(address, prefix)}"` : "null";
    const from = out.length;
    out.appendText(`{"ip":"${text}","network":${network},"record":`);
    const start = out.length;
    let written = found && this.#splice(out);
    if (found && !written) {
      out.length = start;
      const key = this.#key();
      let record = this.#mergedCache.peek(key);
      if (record === undefined) {
        const merged = this.#mergedRecord("stored");
        record = this.#mergedCache.put(key, merged === null ? "null" : stringifyJson(merged));
      }
      if (record !== "null") {
        out.appendText(record);
        written = true;
      }
    }
    if (!written) {
      out.length = from;
      tally.notFound++;
      this.#result = "not_found";
      out.appendText(`{"ip":"${text}","network":null,"record":null}`);
      return;
    }
    out.appendByte(CLOSE_BRACE);
    tally.found++;
    this.#result = "found";
  }

  /**
   * Writes the merged record of the combination `#locate` found from the bytes: the
   * location record's JSON, and each other database's fields under `traits`. The same
   * text as {@linkcode mergeTraits} then JSON gives.
   *
   * @returns whether it wrote a record: false when nobody has anything, or where this
   *   cannot be done so (the location record is not a map or has `traits` of its own, two
   *   databases can add the same field, a record is not as the reader takes it); then
   *   `out` is as it was and the whole record is merged
   */
  #splice(out: ReplyBuffer): boolean {
    if (!this.#disjoint) return false;
    const from = out.length;
    try {
      const offsets = this.#offsets;
      const offset = offsets[0]!;
      /** Whether the location record had members (then `traits` follows a comma). */
      let members = false;
      if (offset >= 0) {
        const section = this.#database.section;
        section.start();
        const at = section.at(offset);
        section.read(at);
        if (section.type !== DataType.map || section.memberOf(at, TRAITS_KEY) >= 0) return false;
        this.#jsonWriter.begin(out);
        this.#jsonWriter.json(at);
        this.#jsonWriter.end();
        out.length--; // the closing brace
        members = out.length - from > 1;
      }
      let traits = false;
      for (let i = 0; i < this.#others.length; i++) {
        const record = offsets[i + 1]!;
        if (record < 0) continue;
        const source = this.#others[i]!;
        const section = source.database.section;
        section.start();
        const found = source.found;
        if (!section.members(section.at(record), { keys: source.keys, found })) continue;
        for (let k = 0; k < found.length; k++) {
          if (found[k]! < 0) continue;
          if (traits) out.appendByte(COMMA);
          else if (offset < 0) out.appendText('{"traits":{');
          else out.append(members ? TRAITS_OPEN : TRAITS_OPEN.subarray(1));
          traits = true;
          out.append(source.names[k]!);
          source.writer.begin(out);
          source.writer.json(found[k]!);
          source.writer.end();
        }
      }
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

  #get(frame: Uint8Array, out: ReplyBuffer): void {
    const scan = this.#scan;
    const fieldsText = scan.fieldsText(frame);
    const fields = this.#fieldLists.parse(fieldsText);
    if (!fields.ok) {
      this.#fail(out, fields.reason);
      return;
    }
    for (let i = 0; i < scan.addressCount; i++) {
      if (i > 0) out.appendByte(LINE_FEED);
      const line = this.#getAnswer(frame, scan.starts[i]!, scan.ends[i]!, {
        text: fieldsText,
        paths: fields.value,
      });
      if (typeof line === "string") {
        if (scan.addressCount === 1) this.tally.outcome = "error";
        out.appendText(line);
      } else {
        out.append(line);
      }
    }
  }

  /** The `get` line for the address at `frame[start..end)`: bytes, or an ERROR line. */
  #getAnswer(
    frame: Uint8Array,
    start: number,
    end: number,
    fields: { text: string; paths: readonly FieldPath[] },
  ): Uint8Array | string {
    const version = parseIpInto(frame, start, end, this.#address);
    if (version === 0) {
      return this.#failed("invalid", `invalid IP address ${quoteValue(latin1(frame, start, end))}`);
    }
    try {
      if (!this.#locate(this.#address, version)) {
        this.tally.notFound++;
        this.#result = "not_found";
        return encoder.encode(
          formatFields(null, { fields: fields.paths, languages: this.#languages }),
        );
      }
      const cacheKey = `${fields.text} ${this.#key()}`;
      const line = this.#getCache.peek(cacheKey) ??
        this.#getCache.put(cacheKey, this.#getLine(fields.paths));
      this.tally.found++;
      this.#result = "found";
      return line;
    } catch (error) {
      return this.#lookupFailed(error, latin1(frame, start, end));
    }
  }

  /**
   * The `get` line of the combination `#locate` found: written from the bytes of one
   * database; from the merged record for several, for a vendor's record (mapped to
   * GeoIP2's names), or where the bytes are not as the reader takes them (the decoder's
   * error, if it has one).
   */
  #getLine(paths: readonly FieldPath[]): Uint8Array {
    const out = this.#scratch;
    if (this.#others.length === 0 && this.#schema.schema === "geoip2") {
      out.reset();
      try {
        this.#fieldWriter.write(this.#offsets[0]!, { fields: paths, sink: out });
        return this.#slab.copy(out.bytes, { start: 0, end: out.length });
      } catch {
        // Decoded below.
      }
    }
    const line = formatFields(this.#mergedRecord(), { fields: paths, languages: this.#languages });
    return this.#slab.encode(line);
  }

  /** Counts a failed address of a `json` request; returns the reason. */
  #failedJson(result: "invalid" | "error", reason: string): string {
    this.#failed(result, reason);
    return reason;
  }

  /** @returns the facts `info` replies with */
  info(): Record<string, unknown> {
    const m = this.#database.metadata;
    const server = this.#options.server;
    return {
      database_type: m.databaseType,
      build_epoch: new Date(m.buildEpoch * 1000).toISOString(),
      ip_version: m.ipVersion,
      node_count: m.nodeCount,
      record_size: m.recordSize,
      binary_format_version: m.binaryFormatVersion,
      languages: m.languages,
      description: m.description,
      database_path: this.#database.source,
      database_bytes: this.#database.bytes.length,
      record_schema: this.#schema.schema,
      ...(this.#schema.warning === undefined ? {} : { warnings: [this.#schema.warning] }),
      version: server.version,
      worker: this.#options.worker ?? 0,
      libzmq_version: server.libzmqVersion,
      started_at: new Date(server.startedAt).toISOString(),
      uptime_seconds: Math.floor((Date.now() - server.startedAt) / 1000),
      max_request_bytes: this.#options.limits.maxRequestBytes,
      max_addresses: this.#options.limits.maxAddresses,
      cache: {
        max_bytes: this.#cacheBudget.limit,
        geoip: this.#tsvCache.stats(),
        json: this.#jsonCache.stats(),
        ...(this.#others.length === 0 ? {} : { merged: this.#mergedCache.stats() }),
        get: this.#getCache.stats(),
      },
      ...(this.#databases.length === 1 ? {} : {
        databases: this.#databases.map((database) => ({
          path: database.source,
          database_type: database.metadata.databaseType,
          build_epoch: new Date(database.metadata.buildEpoch * 1000).toISOString(),
          node_count: database.metadata.nodeCount,
        })),
      }),
      reloads: server.reloads?.() ?? { success: 0, failure: 0 },
      ...this.#brokers(),
    };
  }

  #brokers(): { brokers?: { connected: number; endpoints: number } } {
    const brokers = this.#options.server.brokers?.();
    return brokers === undefined || brokers.endpoints === 0 ? {} : { brokers };
  }
}

/** Writes a whole number from 0 to 255 in decimal. */
function appendDecimal(out: ReplyBuffer, value: number): void {
  if (value >= 100) out.appendByte(0x30 + Math.floor(value / 100));
  if (value >= 10) out.appendByte(0x30 + (Math.floor(value / 10) % 10));
  out.appendByte(0x30 + (value % 10));
}

function latin1(frame: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...frame.subarray(start, Math.min(end, start + 64)));
}

function lookupFailure(text: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return error instanceof AddressFamilyError
    ? `${reason}: ${quoteValue(text)}`
    : `database error for ${quoteValue(text)}: ${reason}`;
}

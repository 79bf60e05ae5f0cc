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
import { ByteSlab } from "./byte_slab.ts";
import { FieldListMemo } from "./field_list_memo.ts";
import { CacheBudget } from "./cache_budget.ts";
import {
  AddressFamilyError,
  type DatabaseKind,
  databaseKind,
  type GeoDatabase,
  isLocationKind,
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

/** A database other than the location one, and what it adds to `traits`. */
interface TraitSource {
  kind: DatabaseKind;
  database: GeoDatabase;
}

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
  readonly #tsvCache: AnswerCache<Uint8Array>;
  readonly #jsonCache: AnswerCache<string>;
  /** Merged records (several databases) and `get` lines, keyed by every offset found. */
  readonly #mergedCache: AnswerCache<string, string>;
  /**
   * Location records ready to take `traits`: the JSON text without its closing brace, by
   * record offset; empty when the record cannot take them so (it has `traits` of its own).
   */
  readonly #heads: AnswerCache<string>;
  /** Per other database: the JSON text of the fields it adds, by record offset. */
  readonly #fragments: AnswerCache<string>[];
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
      .map((database) => ({ kind: kindOf(database), database }))
      .filter((source) => TRAIT_FIELDS[source.kind].length > 0);
    this.#offsets = new Int32Array(this.#others.length + 1);
    this.#languages = options.languages ?? ["en"];
    this.#options = options;
    const cache = new CacheBudget(options.cache?.maxBytes ?? 0);
    this.#cacheBudget = cache;
    this.#tsvCache = new AnswerCache(cache);
    this.#jsonCache = new AnswerCache(cache);
    this.#mergedCache = new AnswerCache(cache);
    this.#fragments = this.#others.map(() => new AnswerCache<string>(cache));
    this.#heads = new AnswerCache(cache);
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
      const line = this.#tsvAnswer(frame, scan.starts[i]!, scan.ends[i]!);
      if (typeof line === "string") {
        if (scan.addressCount === 1) this.tally.outcome = "error";
        out.appendText(line);
      } else {
        out.append(line);
      }
    }
  }

  /** The TSV answer for the address at `frame[start..end)`: bytes, or an ERROR line. */
  #tsvAnswer(frame: Uint8Array, start: number, end: number): Uint8Array | string {
    const tally = this.tally;
    const version = parseIpInto(frame, start, end, this.#address);
    if (version === 0) {
      return this.#failed("invalid", `invalid IP address ${quoteValue(latin1(frame, start, end))}`);
    }
    try {
      const database = this.#database;
      const offset = database.findOffset(this.#address, version);
      if (offset < 0) {
        tally.notFound++;
        this.#result = "not_found";
        return NOT_FOUND_BYTES;
      }
      const cached = this.#tsvCache.peek(offset);
      const line = cached ??
        this.#tsvCache.put(
          offset,
          this.#slab.encode(formatTsv(this.#locationRecord(offset), this.#languages)),
        );
      tally.found++;
      this.#result = "found";
      return line;
    } catch (error) {
      return this.#lookupFailed(error, latin1(frame, start, end));
    }
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
      const answer = this.answerJson(scan.addressText(frame, 0));
      if (typeof answer === "string") out.appendText(answer);
      else this.#fail(out, answer.error);
      return;
    }
    out.appendText("[");
    for (let i = 0; i < scan.addressCount; i++) {
      if (i > 0) out.appendText(",");
      const answer = this.answerJson(scan.addressText(frame, i));
      out.appendText(typeof answer === "string" ? answer : stringifyJson(answer));
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
    const answer = this.#tsvAnswer(bytes, 0, bytes.length);
    if (typeof answer === "string") return { result: this.#result, text: this.#reason };
    return { result: this.#result, text: decoder.decode(answer) };
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
    const tally = this.tally;
    const address = parseIpAddress(text);
    if (address === undefined) {
      return {
        ip: text,
        error: this.#failedJson("invalid", `invalid IP address ${quoteValue(text)}`),
      };
    }
    if (this.#others.length > 0) return this.#mergedJson(address, text);
    try {
      const database = this.#database;
      const offset = database.findOffset(address.bytes, address.version);
      // A valid address is made of hex digits, dots and colons: no JSON escaping needed.
      if (offset < 0) {
        tally.notFound++;
        this.#result = "not_found";
        return `{"ip":"${text}","network":null,"record":null}`;
      }
      const network = formatNetwork(address, database.lastPrefixLength);
      const record = this.#jsonCache.peek(offset) ??
        this.#jsonCache.put(offset, stringifyJson(database.decodeRecord(offset)));
      tally.found++;
      this.#result = "found";
      return `{"ip":"${text}","network":"${network}","record":${record}}`;
    } catch (error) {
      const result = error instanceof AddressFamilyError ? "invalid" : "error";
      return { ip: text, error: this.#failedJson(result, lookupFailure(text, error)) };
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

  /** The `json` answer from several databases. */
  #mergedJson(address: { version: 4 | 6; bytes: Uint8Array }, text: string) {
    const tally = this.tally;
    try {
      const found = this.#locate(address.bytes, address.version);
      const prefix = this.#database.lastPrefixLength;
      const locationFound = this.#offsets[0]! >= 0;
      let record = found ? this.#splicedRecord() : undefined;
      const key = found && record === undefined ? this.#key() : undefined;
      if (key !== undefined) record = this.#mergedCache.peek(key);
      if (key !== undefined && record === undefined) {
        const merged = this.#mergedRecord("stored");
        record = this.#mergedCache.put(key, merged === null ? "null" : stringifyJson(merged));
      }
      if (record === undefined || record === "null") {
        tally.notFound++;
        this.#result = "not_found";
        return `{"ip":"${text}","network":null,"record":null}`;
      }
      tally.found++;
      this.#result = "found";
      const network = locationFound ? `"${formatNetwork(address as IpAddress, prefix)}"` : "null";
      return `{"ip":"${text}","network":${network},"record":${record}}`;
    } catch (error) {
      const result = error instanceof AddressFamilyError ? "invalid" : "error";
      return { ip: text, error: this.#failedJson(result, lookupFailure(text, error)) };
    }
  }

  /**
   * The merged record's JSON text put together from cached pieces: the location record's
   * JSON, and each other database's fields as JSON members, joined under `traits`. The
   * same text as {@linkcode mergeTraits} then JSON gives, without decoding a record twice.
   *
   * @returns the text ("null": nobody has anything), or undefined where pieces cannot be
   *   joined (the location record has `traits` of its own, or two databases can add the
   *   same field): then the whole record is merged
   */
  #splicedRecord(): string | undefined {
    if (!this.#disjoint) return undefined;
    const offsets = this.#offsets;
    const offset = offsets[0]!;
    let head: string | null = null;
    if (offset >= 0) {
      head = this.#heads.peek(offset) ?? this.#heads.put(offset, this.#head(offset));
      if (head === "") return undefined;
    }
    let traits = "";
    for (let i = 0; i < this.#others.length; i++) {
      const at = offsets[i + 1]!;
      if (at < 0) continue;
      const source = this.#others[i]!;
      const fragment = this.#fragments[i]!.peek(at) ??
        this.#fragments[i]!.put(at, traitFragment(source.kind, source.database.decodeRecord(at)));
      if (fragment === "") continue;
      traits = traits === "" ? fragment : `${traits},${fragment}`;
    }
    if (traits === "") return head === null ? "null" : `${head}}`;
    if (head === null || head === "{") return `{"traits":{${traits}}}`;
    return `${head},"traits":{${traits}}}`;
  }

  /** The location record's JSON without its closing brace, or "" when it has `traits`. */
  #head(offset: number): string {
    const record = this.#database.decodeRecord(offset);
    if (record === null || typeof record !== "object" || Array.isArray(record)) return "";
    if (Object.hasOwn(record, "traits")) return "";
    return stringifyJson(record).slice(0, -1);
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
        this.#getCache.put(
          cacheKey,
          this.#slab.encode(
            formatFields(this.#mergedRecord(), {
              fields: fields.paths,
              languages: this.#languages,
            }),
          ),
        );
      this.tally.found++;
      this.#result = "found";
      return line;
    } catch (error) {
      return this.#lookupFailed(error, latin1(frame, start, end));
    }
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

/**
 * The fields a database of some kind adds under `traits`, as JSON members
 * (`"name":value,...`); empty when the record has none of them.
 */
function traitFragment(kind: DatabaseKind, record: unknown): string {
  if (record === null || typeof record !== "object" || Array.isArray(record)) return "";
  let fragment = "";
  for (const field of TRAIT_FIELDS[kind]) {
    const value = (record as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    const member = `${JSON.stringify(field)}:${stringifyJson(value)}`;
    fragment = fragment === "" ? member : `${fragment},${member}`;
  }
  return fragment;
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

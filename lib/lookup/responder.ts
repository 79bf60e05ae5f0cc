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
import { AddressFamilyError, type GeoDatabase } from "../database/mod.ts";
import { formatNetwork, parseIpAddress, parseIpInto } from "../protocol/mod.ts";
import { errorReply, quoteValue, type RequestLimits, RequestScan } from "../protocol/mod.ts";
import { ReplyBuffer } from "./reply_buffer.ts";
import { formatTsv, NOT_FOUND, stringifyJson } from "../protocol/mod.ts";

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
}

/** Options for {@linkcode GeoipResponder}. */
export interface ResponderOptions {
  /** Request size and batch bounds. */
  limits: RequestLimits;
  /** What `info` says about the server. */
  server: ServerInfo;
  /** Which worker this responder runs in, reported by `info`. */
  worker?: number;
  /** Bounds of each cache of rendered answers (TSV lines, JSON records); default none. */
  cache?: { maxEntries: number; maxChars: number };
}

/**
 * What the last {@linkcode GeoipResponder.respondInto} did, for metrics: the verb, whether
 * the reply was an `ERROR`, and how each address fared. Reset on every request.
 */
export interface ResponseTally {
  verb: "geoip" | "json" | "ping" | "info" | "invalid";
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
  readonly #options: ResponderOptions;
  readonly #tsvCache: AnswerCache<Uint8Array>;
  readonly #jsonCache: AnswerCache<string>;
  readonly #scan: RequestScan;
  readonly #address = new Uint8Array(16);
  readonly #reply = new ReplyBuffer();
  /** How the last address fared, and why it failed. */
  #result: AddressResult = "found";
  #reason = "";

  /**
   * @param database the database to answer from
   * @param options limits, server facts and cache bounds
   */
  constructor(database: GeoDatabase, options: ResponderOptions) {
    this.#database = database;
    this.#options = options;
    const cache = options.cache ?? { maxEntries: 0, maxChars: 0 };
    this.#tsvCache = new AnswerCache(cache);
    this.#jsonCache = new AnswerCache(cache);
    this.#scan = new RequestScan(options.limits);
  }

  /** The database this responder answers from. */
  get database(): GeoDatabase {
    return this.#database;
  }

  /** Cache hits so far, both reply formats together. */
  get cacheHits(): number {
    return this.#tsvCache.hits + this.#jsonCache.hits;
  }

  /** Cache misses so far, both reply formats together. */
  get cacheMisses(): number {
    return this.#tsvCache.misses + this.#jsonCache.misses;
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
          else this.#json(frame, out);
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
        this.#tsvCache.put(offset, encoder.encode(formatTsv(database.decodeRecord(offset))));
      tally.found++;
      this.#result = "found";
      return line;
    } catch (error) {
      const result = error instanceof AddressFamilyError ? "invalid" : "error";
      return this.#failed(result, lookupFailure(latin1(frame, start, end), error));
    }
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
      version: server.version,
      worker: this.#options.worker ?? 0,
      libzmq_version: server.libzmqVersion,
      started_at: new Date(server.startedAt).toISOString(),
      uptime_seconds: Math.floor((Date.now() - server.startedAt) / 1000),
      max_request_bytes: this.#options.limits.maxRequestBytes,
      max_addresses: this.#options.limits.maxAddresses,
      cache: { geoip: this.#tsvCache.stats(), json: this.#jsonCache.stats() },
      reloads: server.reloads?.() ?? { success: 0, failure: 0 },
    };
  }
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

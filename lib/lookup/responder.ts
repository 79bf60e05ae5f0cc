/**
 * Turns one request frame into one reply: the whole service logic, without sockets, so
 * that a worker's loop, the HTTP front, a test and a benchmark all call the same thing.
 * Here the wire dispatch and the answers for the HTTP routes; the
 * `geoip` and `json` answers of an address are written by `address_answers.ts`, `get` by
 * `get_answers.ts`, the `json` of several databases by `merged_json.ts`, `info` by
 * `responder_info.ts`.
 *
 * The request loop's path allocates nothing for a `geoip` request: the frame is scanned
 * in place, addresses are parsed from its bytes into a scratch buffer, the tree walk
 * returns a number, and the answer is written from the database bytes, or copied from
 * the cache, into a reused reply buffer.
 *
 * @module
 */

import type { GeoDatabase } from "../database/mod.ts";
import {
  errorReply,
  formatNetwork,
  parseIpAddress,
  RequestScan,
  stringifyJson,
} from "../protocol/mod.ts";
import { AddressAnswers } from "./address_answers.ts";
import { AddressOutcome } from "./address_outcome.ts";
import { CacheBudget } from "./cache_budget.ts";
import { GetAnswers } from "./get_answers.ts";
import type { LocationSchema } from "./location_schema.ts";
import { LocationJson } from "./location_json.ts";
import { MergedJson } from "./merged_json.ts";
import { ReplyBuffer } from "./reply_buffer.ts";
import { ResponderDatabases } from "./responder_databases.ts";
import { responderInfo } from "./responder_info.ts";
import type { AddressAnswer, ResponderOptions, ResponseTally } from "./responder_options.ts";

export type {
  AddressAnswer,
  AddressResult,
  ResponderOptions,
  ResponseTally,
  ServerInfo,
} from "./responder_options.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LINE_FEED = 0x0a;

/**
 * Answers requests from one database or several merged, keeping the rendered answer of
 * each record it has met in bounded caches, so a repeated record costs a tree walk and a copy.
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
  readonly #databases: ResponderDatabases;
  readonly #options: ResponderOptions;
  readonly #outcome: AddressOutcome;
  readonly #cacheBudget: CacheBudget;
  readonly #answers: AddressAnswers;
  readonly #location: LocationJson;
  readonly #merged: MergedJson;
  readonly #get: GetAnswers;
  /** Where answers given as text (not into a request's reply) are written first. */
  readonly #scratch = new ReplyBuffer(4096);
  readonly #scan: RequestScan;
  readonly #reply = new ReplyBuffer();

  /**
   * @param databases the database to answer from, or several in `--db` order: the first
   *   City, Country or Enterprise one is the location database (else the first one), the
   *   others add their fields to the record's `traits`
   * @param options limits, server facts, cache bounds and languages
   */
  constructor(databases: GeoDatabase | readonly GeoDatabase[], options: ResponderOptions) {
    const list: readonly GeoDatabase[] = Array.isArray(databases) ? databases : [databases];
    this.#databases = new ResponderDatabases(list);
    this.#options = options;
    const languages = options.languages ?? ["en"];
    const budget = new CacheBudget(options.cache?.maxBytes ?? 0);
    this.#cacheBudget = budget;
    const outcome = new AddressOutcome(this.tally);
    this.#outcome = outcome;
    const location = new LocationJson(this.#databases.location, budget);
    this.#location = location;
    this.#merged = new MergedJson(this.#databases, { budget, location });
    this.#answers = new AddressAnswers(this.#databases, {
      budget,
      outcome,
      languages,
      location,
      merged: this.#merged,
    });
    this.#get = new GetAnswers(this.#databases, { budget, outcome, languages });
    this.#scan = new RequestScan(options.limits);
  }

  /** Every database answered from, in `--db` order. */
  get databases(): readonly GeoDatabase[] {
    return this.#databases.list;
  }

  /** The location database's record schema, and a warning when `geoip` finds nothing. */
  get locationSchema(): LocationSchema {
    return this.#databases.schema;
  }

  /** The database this responder answers from. */
  get database(): GeoDatabase {
    return this.#databases.location;
  }

  /** Cache hits so far, every reply format together. */
  get cacheHits(): number {
    return this.#answers.tsvCache.hits + this.#location.cache.hits +
      this.#merged.cache.hits + this.#get.cache.hits;
  }

  /** Cache misses so far, every reply format together. */
  get cacheMisses(): number {
    return this.#answers.tsvCache.misses + this.#location.cache.misses +
      this.#merged.cache.misses + this.#get.cache.misses;
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
        case "lookup": {
          tally.verb = scan.format;
          if (scan.format === "geoip") this.#geoip(frame, out);
          else if (scan.format === "json") this.#json(frame, out);
          else {
            const failure = this.#get.write(frame, { scan, out });
            if (failure !== undefined) this.#fail(out, failure);
          }
          break;
        }
      }
    } catch (error) {
      out.reset();
      this.#fail(out, `internal error: ${error instanceof Error ? error.message : error}`);
    }
  }

  /**
   * Starts counting a new request in {@linkcode GeoipResponder.tally}; the wire protocol
   * does it itself, the HTTP routes call it before their lookups.
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
    const answers = this.#answers;
    for (let i = 0; i < scan.addressCount; i++) {
      if (i > 0) out.appendByte(LINE_FEED);
      const failure = answers.tsv(frame, { start: scan.starts[i]!, end: scan.ends[i]!, out });
      if (failure !== undefined) {
        if (scan.addressCount === 1) this.tally.outcome = "error";
        out.appendText(errorReply(failure));
      }
    }
  }

  #json(frame: Uint8Array, out: ReplyBuffer): void {
    const scan = this.#scan;
    const answers = this.#answers;
    if (scan.addressCount === 1) {
      const failure = answers.json(frame, { start: scan.starts[0]!, end: scan.ends[0]!, out });
      if (failure !== undefined) {
        out.reset();
        this.#fail(out, failure.error);
      }
      return;
    }
    out.appendText("[");
    for (let i = 0; i < scan.addressCount; i++) {
      if (i > 0) out.appendText(",");
      const failure = answers.json(frame, { start: scan.starts[i]!, end: scan.ends[i]!, out });
      if (failure !== undefined) out.appendText(stringifyJson(failure));
    }
    out.appendText("]");
  }

  /**
   * One address's answer, typed, for the HTTP routes: counted
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
    const outcome = this.#outcome;
    if (format === "json") {
      const answer = this.answerJson(text);
      if (typeof answer === "string") return { result: outcome.result, text: answer };
      return { result: outcome.result, text: answer.error };
    }
    const bytes = encoder.encode(text);
    const out = this.#scratch;
    out.reset();
    const failure = this.#answers.tsv(bytes, { start: 0, end: bytes.length, out });
    if (failure !== undefined) return { result: outcome.result, text: outcome.reason };
    return { result: outcome.result, text: decoder.decode(out.view()) };
  }

  /**
   * One address's record, decoded afresh (not cached), for answers shaped per request: a
   * the HTTP routes' own choice of fields or languages. Counted like {@linkcode GeoipResponder.answer}.
   *
   * @param text the address as sent
   * @returns how it went; when found, the merged record, the location record alone (for
   *   the `geoip` fields) and the network; when not, the reason in `text`
   */
  lookupRecord(
    text: string,
  ): AddressAnswer & { record?: unknown; location?: unknown; network?: string | null } {
    const outcome = this.#outcome;
    const address = parseIpAddress(text);
    if (address === undefined) return { result: "invalid", text: outcome.invalid(text) };
    try {
      const databases = this.#databases;
      const found = databases.locate(address.bytes, address.version);
      const prefix = databases.location.lastPrefixLength;
      const record = found ? databases.mergedRecord() : null;
      if (record === null) {
        this.tally.notFound++;
        return { result: "not_found", text: "" };
      }
      this.tally.found++;
      const offset = databases.offsets[0]!;
      return {
        result: "found",
        text: "",
        record,
        location: offset >= 0 ? databases.locationRecord(offset) : null,
        network: offset >= 0 ? formatNetwork(address, prefix) : null,
      };
    } catch (error) {
      const reason = outcome.lookupFailed(error, text);
      return { result: outcome.result, text: reason };
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
    return this.#answers.json(bytes, { start: 0, end: bytes.length, out, text }) ??
      decoder.decode(out.view());
  }

  /** @returns the facts `info` replies with */
  info(): Record<string, unknown> {
    const several = this.#databases.others.length > 0;
    return responderInfo(this.#databases, {
      options: this.#options,
      cache: {
        maxBytes: this.#cacheBudget.limit,
        geoip: this.#answers.tsvCache.stats(),
        json: this.#location.cache.stats(),
        ...(several ? { merged: this.#merged.cache.stats() } : {}),
        get: this.#get.cache.stats(),
      },
    });
  }
}

/**
 * Turns one request frame into one reply: the whole service logic, without sockets, so
 * that a worker's loop, a test and a benchmark all call the same thing.
 *
 * @module
 */

import { AnswerCache } from "./answer_cache.ts";
import type { GeoDatabase } from "./geo_database.ts";
import { formatNetwork, parseIpAddress } from "./ip_address.ts";
import { errorReply, parseRequest, quoteValue, type RequestLimits } from "./protocol.ts";
import { formatTsv, NOT_FOUND, stringifyJson } from "./reply_format.ts";

/** What `info` reports about the server beside the database. */
export interface ServerInfo {
  /** geoipmq's version. */
  version: string;
  /** libzmq's version. */
  libzmqVersion: string;
  /** When the server started, in milliseconds since the epoch. */
  startedAt: number;
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
 * Answers requests from one database, keeping the rendered answer of each record it has
 * met in a bounded cache, so a repeated record costs a tree walk and a map look-up.
 *
 * @example
 * ```ts ignore
 * const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
 * responder.respond(new TextEncoder().encode("geoip 81.2.69.160"));
 * // "GB\tENG\tLondon\t(null)\t51.514200\t-0.093100\t(null)\t(null)"
 * ```
 */
export class GeoipResponder {
  readonly #database: GeoDatabase;
  readonly #options: ResponderOptions;
  readonly #tsvCache: AnswerCache;
  readonly #jsonCache: AnswerCache;

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
  }

  /** The database this responder answers from. */
  get database(): GeoDatabase {
    return this.#database;
  }

  /**
   * Answers one request. Never throws: any failure becomes an `ERROR` reply.
   *
   * @param frame the request bytes
   * @returns the reply text
   */
  respond(frame: Uint8Array): string {
    try {
      const request = parseRequest(frame, this.#options.limits);
      switch (request.kind) {
        case "invalid":
          return errorReply(request.reason);
        case "ping":
          return "pong";
        case "info":
          return stringifyJson(this.info());
        case "lookup":
          return request.format === "geoip"
            ? this.#geoip(request.addresses)
            : this.#json(request.addresses);
      }
    } catch (error) {
      return errorReply(`internal error: ${error instanceof Error ? error.message : error}`);
    }
  }

  #geoip(addresses: string[]): string {
    let reply = this.answerTsv(addresses[0]!);
    for (let i = 1; i < addresses.length; i++) reply += "\n" + this.answerTsv(addresses[i]!);
    return reply;
  }

  /**
   * The `geoip` answer for one address: the TSV line, `NOT_FOUND`, or an `ERROR` line.
   *
   * @param text the address as sent
   * @returns one line
   */
  answerTsv(text: string): string {
    const address = parseIpAddress(text);
    if (address === undefined) return errorReply(`invalid IP address ${quoteValue(text)}`);
    try {
      const { recordOffset } = this.#database.findRecord(address);
      if (recordOffset < 0) return NOT_FOUND;
      return this.#tsvCache.get(
        recordOffset,
        () => formatTsv(this.#database.decodeRecord(recordOffset)),
      );
    } catch (error) {
      return errorReply(lookupFailure(text, error));
    }
  }

  #json(addresses: string[]): string {
    if (addresses.length === 1) {
      const answer = this.answerJson(addresses[0]!);
      return typeof answer === "string" ? answer : errorReply(answer.error);
    }
    let reply = "[";
    for (let i = 0; i < addresses.length; i++) {
      const answer = this.answerJson(addresses[i]!);
      if (i > 0) reply += ",";
      reply += typeof answer === "string" ? answer : stringifyJson(answer);
    }
    return reply + "]";
  }

  /**
   * The `json` answer for one address.
   *
   * @param text the address as sent
   * @returns the JSON text of `{"ip", "network", "record"}`, or why the address failed
   */
  answerJson(text: string): string | { ip: string; error: string } {
    const address = parseIpAddress(text);
    if (address === undefined) return { ip: text, error: `invalid IP address ${quoteValue(text)}` };
    try {
      const { recordOffset, prefixLength } = this.#database.findRecord(address);
      // A valid address is made of hex digits, dots and colons: no JSON escaping needed.
      if (recordOffset < 0) return `{"ip":"${text}","network":null,"record":null}`;
      const record = this.#jsonCache.get(
        recordOffset,
        () => stringifyJson(this.#database.decodeRecord(recordOffset)),
      );
      const network = formatNetwork(address, prefixLength);
      return `{"ip":"${text}","network":"${network}","record":${record}}`;
    } catch (error) {
      return { ip: text, error: lookupFailure(text, error) };
    }
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
    };
  }
}

function lookupFailure(text: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return error instanceof RangeError
    ? `${reason}: ${quoteValue(text)}`
    : `database error for ${quoteValue(text)}: ${reason}`;
}

/**
 * Turns one request frame into one reply: the whole service logic, without sockets, so
 * that a worker's loop, a test and a benchmark all call the same thing.
 *
 * @module
 */

import type { GeoDatabase } from "./geo_database.ts";
import { formatNetwork, parseIpAddress } from "./ip_address.ts";
import { errorReply, parseRequest, quoteValue, type RequestLimits } from "./protocol.ts";
import { formatTsv, type JsonAnswer, NOT_FOUND, stringifyJson } from "./reply_format.ts";

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
}

/**
 * Answers requests from one database.
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

  /**
   * @param database the database to answer from
   * @param options limits and server facts
   */
  constructor(database: GeoDatabase, options: ResponderOptions) {
    this.#database = database;
    this.#options = options;
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
    if (addresses.length === 1) return this.#geoipLine(addresses[0]!);
    return addresses.map((address) => this.#geoipLine(address)).join("\n");
  }

  #geoipLine(text: string): string {
    const address = parseIpAddress(text);
    if (address === undefined) return errorReply(`invalid IP address ${quoteValue(text)}`);
    try {
      const found = this.#database.lookup(address);
      return found === null ? NOT_FOUND : formatTsv(found.record);
    } catch (error) {
      return errorReply(lookupFailure(text, error));
    }
  }

  #json(addresses: string[]): string {
    if (addresses.length === 1) {
      const answer = this.#jsonAnswer(addresses[0]!);
      return "error" in answer ? errorReply(answer.error) : stringifyJson(answer);
    }
    return stringifyJson(addresses.map((address) => this.#jsonAnswer(address)));
  }

  #jsonAnswer(text: string): JsonAnswer | { ip: string; error: string } {
    const address = parseIpAddress(text);
    if (address === undefined) return { ip: text, error: `invalid IP address ${quoteValue(text)}` };
    try {
      const found = this.#database.lookup(address);
      if (found === null) return { ip: text, network: null, record: null };
      return {
        ip: text,
        network: formatNetwork(address, found.prefixLength),
        record: found.record,
      };
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
    };
  }
}

function lookupFailure(text: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return error instanceof RangeError
    ? `${reason}: ${quoteValue(text)}`
    : `database error for ${quoteValue(text)}: ${reason}`;
}

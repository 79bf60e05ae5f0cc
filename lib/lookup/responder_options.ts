/**
 * What a `GeoipResponder` is built with, and what it tells of the answers it
 * gives: its options, the server facts `info` reports, the tally of a request, one
 * address's answer.
 *
 * @module
 */

import type { RequestLimits } from "../protocol/mod.ts";

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

/** Options for `GeoipResponder`. */
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
 * What the last `GeoipResponder.respondInto` did, for metrics: the verb, whether
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

/** One address's answer, for a caller that does not speak the wire protocol (the HTTP routes). */
export interface AddressAnswer {
  /** How the lookup went. */
  result: AddressResult;
  /**
   * `found` and `not_found`: the answer as the protocol writes it (the TSV line or
   * `NOT_FOUND`; the JSON envelope); `invalid` and `error`: the reason, one line.
   */
  text: string;
}

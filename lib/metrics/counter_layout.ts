/**
 * Where each counter lives in the metrics' `SharedArrayBuffer`, and the atomic adds and
 * reads on it. The buffer is 32-bit words: a header (a magic number and the gauges), then
 * one slot of two words (low, high) per 64-bit counter.
 *
 * @module
 */

import {
  DURATION_BUCKETS_MICROS,
  HTTP_DROP_REASONS,
  LIMIT_KINDS,
  type LimitKind,
  LOOKUP_RESULTS,
  RELOAD_OUTCOMES,
  REQUEST_OUTCOMES,
  REQUEST_TRANSPORTS,
  REQUEST_VERBS,
  type RequestOutcome,
  type RequestTransport,
  type RequestVerb,
} from "./metric_kinds.ts";

/** The largest value of one 32-bit word. */
export const MAX_U32 = 0xffff_ffff;
const TWO_TO_32 = 0x1_0000_0000;
/** "gqm2": identifies the layout below. */
export const MAGIC = 0x67716d32;
/** Words before the counters: the magic, the workers-alive gauge, the brokers gauge. */
export const WORD_MAGIC = 0;
/** The lookup workers alive gauge. */
export const WORD_WORKERS = 1;
/** The brokers connected gauge. */
export const WORD_BROKERS = 2;
/** The `--connect` endpoints gauge. */
export const WORD_BROKER_ENDPOINTS = 3;
/** The HTTP connections open gauge. */
export const WORD_HTTP_CONNECTIONS = 4;
const HEADER_WORDS = 5;
/**
 * Counter slots (each two words): per transport, the requests (verb × outcome), the
 * lookups by result, the histogram's buckets and its sum; then the shared ones.
 */
const REQUEST_SLOTS = REQUEST_VERBS.length * REQUEST_OUTCOMES.length;
/** Histogram buckets: one per bound, then `+Inf`. */
export const BUCKET_SLOTS = DURATION_BUCKETS_MICROS.length + 1;
/** Offsets inside one transport's slots. */
export const SLOT_REQUESTS = 0;
/** The lookups by result, inside one transport's slots. */
export const SLOT_LOOKUPS = REQUEST_SLOTS;
/** The histogram's buckets, inside one transport's slots. */
export const SLOT_BUCKETS = SLOT_LOOKUPS + LOOKUP_RESULTS.length;
/** The histogram's sum, inside one transport's slots. */
export const SLOT_SUM = SLOT_BUCKETS + BUCKET_SLOTS;
const TRANSPORT_SLOTS = SLOT_SUM + 1;
/** Answer cache hits (misses in the next slot). */
export const SLOT_CACHE_HITS = TRANSPORT_SLOTS * REQUEST_TRANSPORTS.length;
/** Answer cache misses. */
export const SLOT_CACHE_MISSES = SLOT_CACHE_HITS + 1;
/** Reloads by outcome: success, then failure. */
export const SLOT_RELOADS = SLOT_CACHE_MISSES + 1;
const SLOT_LIMITED = SLOT_RELOADS + RELOAD_OUTCOMES.length;
/** HTTP connections dropped, by reason. */
export const SLOT_HTTP_DROPPED = SLOT_LIMITED + LIMIT_KINDS.length * REQUEST_TRANSPORTS.length;
/** Failed accepts of HTTP connections. */
export const SLOT_HTTP_ACCEPT_FAILURES = SLOT_HTTP_DROPPED + HTTP_DROP_REASONS.length;
/** Counter slots in all. */
export const SLOTS = SLOT_HTTP_ACCEPT_FAILURES + 1;
/** The size of the whole buffer. */
export const BUFFER_BYTES = (HEADER_WORDS + SLOTS * 2) * 4;

function verbIndex(verb: RequestVerb): number {
  switch (verb) {
    case "geoip":
      return 0;
    case "json":
      return 1;
    case "get":
      return 2;
    case "ping":
      return 3;
    case "info":
      return 4;
    default:
      return 5;
  }
}

/**
 * @param transport a transport
 * @returns the first of its slots
 */
export function transportBase(transport: RequestTransport): number {
  return transport === "zmq" ? 0 : TRANSPORT_SLOTS;
}

/**
 * @param transport how the requests came
 * @param verb their verb
 * @param outcome their outcome
 * @returns the slot counting them
 */
export function requestSlot(
  transport: RequestTransport,
  verb: RequestVerb,
  outcome: RequestOutcome,
): number {
  return transportBase(transport) + SLOT_REQUESTS + verbIndex(verb) * 2 +
    (outcome === "ok" ? 0 : 1);
}

/**
 * @param kind a limit
 * @param transport where it refused work
 * @returns the slot counting it
 */
export function limitSlot(kind: LimitKind, transport: RequestTransport): number {
  return SLOT_LIMITED + LIMIT_KINDS.indexOf(kind) * REQUEST_TRANSPORTS.length +
    REQUEST_TRANSPORTS.indexOf(transport);
}

/** A count as an integer in [0, 2^32 - 1]: negative and NaN become 0, larger ones the top. */
export function toCount(n: number): number {
  return n > 0 ? (n >= MAX_U32 ? MAX_U32 : Math.floor(n)) : 0;
}

/** Adds `n` (an integer in [0, 2^32 - 1]) to a 64-bit counter. */
export function addTo(words: Uint32Array<SharedArrayBuffer>, slot: number, n: number): void {
  const low = HEADER_WORDS + slot * 2;
  if (Atomics.add(words, low, n) + n > MAX_U32) Atomics.add(words, low + 1, 1);
}

/**
 * Reads a 64-bit counter, retrying until its high word is stable.
 *
 * @returns the counter's value
 */
export function readSlot(words: Uint32Array<SharedArrayBuffer>, slot: number): number {
  const low = HEADER_WORDS + slot * 2;
  let high: number;
  let lowValue: number;
  do {
    high = Atomics.load(words, low + 1);
    lowValue = Atomics.load(words, low);
  } while (Atomics.load(words, low + 1) !== high);
  return high * TWO_TO_32 + lowValue;
}

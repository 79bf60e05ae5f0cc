/**
 * The label values and shapes of the service's metrics: the transports, verbs, outcomes,
 * lookup results, limits, reload outcomes and HTTP drop reasons that each counter is kept
 * by, the latency histogram's bounds, and the snapshot that holds them all as numbers.
 *
 * @module
 */

/** How a request reached the service: ZeroMQ or HTTP, the `transport` label. */
export const REQUEST_TRANSPORTS = ["zmq", "http"] as const;
/** A transport, see {@linkcode REQUEST_TRANSPORTS}. */
export type RequestTransport = typeof REQUEST_TRANSPORTS[number];

/** Request verbs counted by `geoipmq_requests_total`; `invalid` is a request that did not parse. */
export const REQUEST_VERBS = ["geoip", "json", "get", "ping", "info", "invalid"] as const;
/** A request verb, see {@linkcode REQUEST_VERBS}. */
export type RequestVerb = typeof REQUEST_VERBS[number];

/** Request outcomes: `ok` for a normal reply, `error` for an `ERROR` reply. */
export const REQUEST_OUTCOMES = ["ok", "error"] as const;
/** A request outcome, see {@linkcode REQUEST_OUTCOMES}. */
export type RequestOutcome = typeof REQUEST_OUTCOMES[number];

/** Results of one address's lookup, counted by `geoipmq_lookups_total`. */
export const LOOKUP_RESULTS = ["found", "not_found", "invalid", "error"] as const;
/** A lookup result, see {@linkcode LOOKUP_RESULTS}. */
export type LookupResultKind = typeof LOOKUP_RESULTS[number];

/**
 * Limits that refuse work, counted: `inbound_bytes`, a ZeroMQ connection cut for holding
 * more bytes of requests not yet taken than its budget (an unfinished message);
 * `outbound_bytes`, a request answered `ERROR busy` because its reply would pass what its
 * client may leave unread; `not_reading`, a request or reply dropped for a peer that does
 * not read its replies at all; `reply_size`, a reply larger than the whole outbound budget,
 * answered `ERROR reply too large`; `rate`, a request refused by the per-address rate
 * limit.
 */
export const LIMIT_KINDS = [
  "inbound_bytes",
  "outbound_bytes",
  "not_reading",
  "reply_size",
  "rate",
] as const;
/** A limit that refused work: one of {@linkcode LIMIT_KINDS}. */
export type LimitKind = typeof LIMIT_KINDS[number];

/** Outcomes of a database reload, counted by `geoipmq_reloads_total`. */
export const RELOAD_OUTCOMES = ["success", "failure"] as const;
/** A reload outcome, see {@linkcode RELOAD_OUTCOMES}. */
export type ReloadOutcome = typeof RELOAD_OUTCOMES[number];

/**
 * Why the HTTP server refused or closed a connection itself, counted by
 * `geoipmq_http_connections_dropped_total`: over `--http-max-connections` (answered 503),
 * no whole head within the header timeout, no whole request and answer within the request
 * timeout, or a request refused with 400, 413 or 431 and the connection closed.
 */
export const HTTP_DROP_REASONS = [
  "max_connections",
  "header_timeout",
  "request_timeout",
  "bad_request",
] as const;
/** A reason, see {@linkcode HTTP_DROP_REASONS}. */
export type HttpDropReason = typeof HTTP_DROP_REASONS[number];

/**
 * Upper bounds (inclusive) of the request latency histogram's buckets, in microseconds:
 * 25 µs to 1 s. A last `+Inf` bucket follows.
 */
export const DURATION_BUCKETS_MICROS: readonly number[] = Object.freeze([
  25,
  50,
  100,
  250,
  500,
  1_000,
  2_500,
  5_000,
  10_000,
  25_000,
  50_000,
  100_000,
  250_000,
  500_000,
  1_000_000,
]);

/** The database now serving, as the main thread knows it. */
export interface DatabaseFacts {
  /** The metadata's database type, e.g. `GeoLite2-City`. */
  type: string;
  /** Where it was loaded from. */
  path: string;
  /** Build time, seconds since the epoch. */
  buildEpoch: number;
}

/** The request latency histogram of one transport. */
export interface DurationHistogram {
  /** Cumulative counts: one per {@linkcode DURATION_BUCKETS_MICROS} bound, then `+Inf`. */
  cumulative: number[];
  /** Requests observed (equal to the `+Inf` bucket). */
  count: number;
  /** Sum of the observed latencies, in microseconds. */
  sumMicros: number;
}

/** Every value of a {@linkcode ServiceMetrics}, as plain numbers. */
export interface MetricsSnapshot {
  /** Requests answered, by transport, verb and outcome. */
  requests: Record<RequestTransport, Record<RequestVerb, Record<RequestOutcome, number>>>;
  /** Addresses answered, by transport and result. */
  lookups: Record<RequestTransport, Record<LookupResultKind, number>>;
  /** Answer cache hits and misses. */
  cache: { hits: number; misses: number };
  /** Request latency histogram, by transport. */
  duration: Record<RequestTransport, DurationHistogram>;
  /** Database reloads, by outcome. */
  reloads: Record<ReloadOutcome, number>;
  /** Work refused by a limit, by transport and limit. */
  limited: Record<RequestTransport, Record<LimitKind, number>>;
  /** Lookup workers alive, as last set. */
  workersAlive: number;
  /** Brokers connected to, of the `--connect` endpoints (0 of 0 without any). */
  brokers: { connected: number; endpoints: number };
  /** HTTP connections refused or closed by the server, by reason. */
  httpDropped: Record<HttpDropReason, number>;
  /** Failed accepts of HTTP connections (e.g. too many open files). */
  httpAcceptFailures: number;
  /** HTTP connections open, as last set. */
  httpConnections: number;
  /** The databases now serving, in `--db` order (none before `ServiceMetrics.setDatabases`). */
  databases: readonly DatabaseFacts[];
  /** geoipmq's version. */
  version: string;
}

const MAX_U32 = 0xffff_ffff;

/**
 * A latency as the histogram counts it: whole microseconds in [0, 2^32 - 1].
 *
 * @param micros the latency in microseconds
 * @returns it rounded and bounded
 */
export function durationMicros(micros: number): number {
  return micros > 0 ? (micros >= MAX_U32 ? MAX_U32 : Math.round(micros)) : 0;
}

/**
 * @param us a latency from {@linkcode durationMicros}
 * @returns the index of its histogram bucket: the first bound it does not exceed, or
 *   `DURATION_BUCKETS_MICROS.length` for `+Inf`
 */
export function durationBucket(us: number): number {
  let bucket = 0;
  while (bucket < DURATION_BUCKETS_MICROS.length && us > DURATION_BUCKETS_MICROS[bucket]!) {
    bucket++;
  }
  return bucket;
}

/**
 * The service's counters, kept in one `SharedArrayBuffer` so that lookup Workers count
 * with `Atomics.add` and the main thread reads them, and rendered in Prometheus's text
 * exposition format (0.0.4) for `GET /metrics`.
 *
 * Every counter is 64 bits wide, held as two 32-bit words (low, high): a writer adds to
 * the low word and, when that add wraps, adds one to the high word. Recording a request
 * costs three `Atomics.add` calls and allocates nothing. Readers retry until the high word
 * is stable, and never report a counter lower than they reported before, which hides the
 * instant between a wrapping add and its carry.
 *
 * The database's labels (type, path, build time) and the version are main-thread facts,
 * kept in the object rather than the buffer: set and render them on the main thread.
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
  /** The databases now serving, in `--db` order (none before {@linkcode ServiceMetrics.setDatabases}). */
  databases: readonly DatabaseFacts[];
  /** geoipmq's version. */
  version: string;
}

const MAX_U32 = 0xffff_ffff;
const TWO_TO_32 = 0x1_0000_0000;
const MAGIC = 0x67716d32; // "gqm2": identifies the layout below
/** Words before the counters: the magic, the workers-alive gauge, the brokers gauge. */
const WORD_MAGIC = 0;
const WORD_WORKERS = 1;
const WORD_BROKERS = 2;
const WORD_BROKER_ENDPOINTS = 3;
const WORD_HTTP_CONNECTIONS = 4;
const HEADER_WORDS = 5;
/**
 * Counter slots (each two words): per transport, the requests (verb × outcome), the
 * lookups by result, the histogram's buckets and its sum; then the shared ones.
 */
const REQUEST_SLOTS = REQUEST_VERBS.length * REQUEST_OUTCOMES.length;
const BUCKET_SLOTS = DURATION_BUCKETS_MICROS.length + 1;
const SLOT_REQUESTS = 0;
const SLOT_LOOKUPS = REQUEST_SLOTS;
const SLOT_BUCKETS = SLOT_LOOKUPS + LOOKUP_RESULTS.length;
const SLOT_SUM = SLOT_BUCKETS + BUCKET_SLOTS;
const TRANSPORT_SLOTS = SLOT_SUM + 1;
const SLOT_CACHE_HITS = TRANSPORT_SLOTS * REQUEST_TRANSPORTS.length;
const SLOT_CACHE_MISSES = SLOT_CACHE_HITS + 1;
const SLOT_RELOADS = SLOT_CACHE_MISSES + 1;
const SLOT_LIMITED = SLOT_RELOADS + RELOAD_OUTCOMES.length;
const SLOT_HTTP_DROPPED = SLOT_LIMITED + LIMIT_KINDS.length * REQUEST_TRANSPORTS.length;
const SLOT_HTTP_ACCEPT_FAILURES = SLOT_HTTP_DROPPED + HTTP_DROP_REASONS.length;
const SLOTS = SLOT_HTTP_ACCEPT_FAILURES + 1;
const BUFFER_BYTES = (HEADER_WORDS + SLOTS * 2) * 4;

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

function transportBase(transport: RequestTransport): number {
  return transport === "zmq" ? 0 : TRANSPORT_SLOTS;
}

/** A count as an integer in [0, 2^32 - 1]: negative and NaN become 0, larger ones the top. */
function toCount(n: number): number {
  return n > 0 ? (n >= MAX_U32 ? MAX_U32 : Math.floor(n)) : 0;
}

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

/** Adds `n` (an integer in [0, 2^32 - 1]) to a 64-bit counter. */
function addTo(words: Uint32Array<SharedArrayBuffer>, slot: number, n: number): void {
  const low = HEADER_WORDS + slot * 2;
  if (Atomics.add(words, low, n) + n > MAX_U32) Atomics.add(words, low + 1, 1);
}

/** Escapes a label value for the text exposition format. */
function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : "\\" + c);
}

/** Integer microseconds as decimal seconds, exactly (`1234567` → `1.234567`). */
function microsAsSeconds(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = micros - whole * 1_000_000;
  if (fraction === 0) return String(whole);
  return `${whole}.${String(fraction).padStart(6, "0").replace(/0+$/, "")}`;
}

/**
 * Counters of the service shared by threads. Create it on the main thread, send its
 * {@linkcode ServiceMetrics.buffer} to each worker, and re-open it there with
 * {@linkcode ServiceMetrics.fromBuffer}.
 *
 * @example
 * ```ts
 * import { ServiceMetrics } from "./service_metrics.ts";
 * const metrics = ServiceMetrics.create({ version: "1.0.0" });
 * // in a worker: const metrics = ServiceMetrics.fromBuffer(setup.metrics, { version });
 * metrics.recordRequest("geoip", "ok", 42);
 * metrics.recordLookups(1, 0, 0, 0);
 * console.log(metrics.snapshot().requests.zmq.geoip.ok); // 1
 * console.log(metrics.renderPrometheus().includes('verb="geoip",outcome="ok"} 1')); // true
 * ```
 */
export class ServiceMetrics {
  /** The shared memory holding every counter; post it to workers. */
  readonly buffer: SharedArrayBuffer;
  readonly #words: Uint32Array<SharedArrayBuffer>;
  /** The highest value read of each counter, so a reader never goes backwards. */
  readonly #floor = new Float64Array(SLOTS);
  readonly #version: string;
  #databases: readonly DatabaseFacts[] = [];

  private constructor(buffer: SharedArrayBuffer, version: string) {
    this.buffer = buffer;
    this.#words = new Uint32Array(buffer);
    this.#version = version;
  }

  /**
   * Makes new counters, all zero, in a new `SharedArrayBuffer`.
   *
   * @param options `version` for `geoipmq_build_info`
   * @returns the counters
   */
  static create(options: { version: string }): ServiceMetrics {
    const metrics = new ServiceMetrics(new SharedArrayBuffer(BUFFER_BYTES), options.version);
    Atomics.store(metrics.#words, WORD_MAGIC, MAGIC);
    return metrics;
  }

  /**
   * Opens counters made by {@linkcode ServiceMetrics.create} in another thread.
   *
   * @param buffer the other instance's {@linkcode ServiceMetrics.buffer}
   * @param options `version` for `geoipmq_build_info`
   * @returns a view of the same counters
   * @throws {TypeError} when the buffer is not one made by {@linkcode ServiceMetrics.create}
   */
  static fromBuffer(buffer: SharedArrayBuffer, options: { version: string }): ServiceMetrics {
    if (
      !(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== BUFFER_BYTES ||
      Atomics.load(new Uint32Array(buffer, 0, 1), WORD_MAGIC) !== MAGIC
    ) {
      throw new TypeError("not a ServiceMetrics buffer (made by ServiceMetrics.create())");
    }
    return new ServiceMetrics(buffer, options.version);
  }

  /**
   * Counts one request and its latency. Three `Atomics.add` calls, no allocation.
   *
   * @param verb the request's verb, `invalid` when it did not parse
   * @param outcome `error` when the reply is an `ERROR` reply, else `ok`
   * @param micros time from receiving the request to sending its reply, in microseconds
   * @param transport how the request came (default `zmq`)
   */
  recordRequest(
    verb: RequestVerb,
    outcome: RequestOutcome,
    micros: number,
    transport: RequestTransport = "zmq",
  ): void {
    const words = this.#words;
    const base = transportBase(transport);
    addTo(words, base + SLOT_REQUESTS + verbIndex(verb) * 2 + (outcome === "ok" ? 0 : 1), 1);
    const us = durationMicros(micros);
    addTo(words, base + SLOT_BUCKETS + durationBucket(us), 1);
    if (us > 0) addTo(words, base + SLOT_SUM, us);
  }

  /**
   * Counts requests of one verb and outcome at once, for a loop that keeps its counts and
   * adds them up now and then; their latencies go to
   * {@linkcode ServiceMetrics.recordDurations}.
   *
   * @param verb the requests' verb
   * @param outcome their outcome
   * @param count how many (an integer, 0 or more)
   * @param transport how they came (default `zmq`)
   */
  recordRequests(
    verb: RequestVerb,
    outcome: RequestOutcome,
    count: number,
    transport: RequestTransport = "zmq",
  ): void {
    const slot = transportBase(transport) + SLOT_REQUESTS + verbIndex(verb) * 2 +
      (outcome === "ok" ? 0 : 1);
    this.#addCount(slot, count);
  }

  /**
   * Adds latencies already sorted into the histogram's buckets (with
   * {@linkcode durationMicros} and {@linkcode durationBucket}, as
   * {@linkcode ServiceMetrics.recordRequest} does).
   *
   * @param bucketCounts requests per bucket: one per {@linkcode DURATION_BUCKETS_MICROS}
   *   bound, then `+Inf`
   * @param sumMicros the sum of their {@linkcode durationMicros}
   * @param transport how they came (default `zmq`)
   */
  recordDurations(
    bucketCounts: ArrayLike<number>,
    sumMicros: number,
    transport: RequestTransport = "zmq",
  ): void {
    const base = transportBase(transport);
    for (let bucket = 0; bucket < BUCKET_SLOTS; bucket++) {
      this.#addCount(base + SLOT_BUCKETS + bucket, bucketCounts[bucket] ?? 0);
    }
    for (let left = sumMicros; left > 0; left -= MAX_U32) {
      this.#addCount(base + SLOT_SUM, Math.min(left, MAX_U32));
    }
  }

  /**
   * Counts the addresses of a request by result; zero counts cost nothing.
   *
   * @param found addresses with a record
   * @param notFound addresses the database has no record for
   * @param invalid addresses that did not parse (or did not fit the database)
   * @param error addresses whose lookup failed (a corrupt record)
   * @param transport how the request came (default `zmq`)
   */
  recordLookups(
    found: number,
    notFound: number,
    invalid: number,
    error: number,
    transport: RequestTransport = "zmq",
  ): void {
    const lookups = transportBase(transport) + SLOT_LOOKUPS;
    this.#addCount(lookups, found);
    this.#addCount(lookups + 1, notFound);
    this.#addCount(lookups + 2, invalid);
    this.#addCount(lookups + 3, error);
  }

  /**
   * Counts answer cache hits and misses; zero counts cost nothing.
   *
   * @param hits answers taken from the cache
   * @param misses answers rendered
   */
  recordCache(hits: number, misses: number): void {
    this.#addCount(SLOT_CACHE_HITS, hits);
    this.#addCount(SLOT_CACHE_MISSES, misses);
  }

  /** Adds a count to a slot; a count of zero (or less) costs nothing. */
  #addCount(slot: number, count: number): void {
    if (count > 0) addTo(this.#words, slot, toCount(count));
  }

  /**
   * Counts a database reload.
   *
   * @param outcome whether the new database is now serving
   */
  recordReload(outcome: ReloadOutcome): void {
    addTo(this.#words, SLOT_RELOADS + (outcome === "success" ? 0 : 1), 1);
  }

  /**
   * Counts work refused by a limit.
   *
   * @param kind which limit
   * @param transport where (default `zmq`)
   */
  recordLimited(kind: LimitKind, transport: RequestTransport = "zmq"): void {
    addTo(this.#words, limitSlot(kind, transport), 1);
  }

  /**
   * Counts an HTTP connection the server refused or closed itself.
   *
   * @param reason why, see {@linkcode HTTP_DROP_REASONS}
   */
  recordHttpDrop(reason: HttpDropReason): void {
    addTo(this.#words, SLOT_HTTP_DROPPED + HTTP_DROP_REASONS.indexOf(reason), 1);
  }

  /** Counts a failed accept of an HTTP connection. */
  recordHttpAcceptFailure(): void {
    addTo(this.#words, SLOT_HTTP_ACCEPT_FAILURES, 1);
  }

  /**
   * Sets the number of HTTP connections open.
   *
   * @param n a count, 0 or more
   */
  setHttpConnections(n: number): void {
    Atomics.store(this.#words, WORD_HTTP_CONNECTIONS, toCount(n));
  }

  /**
   * Changes the number of HTTP connections open by one thread's change, so that several
   * threads serving HTTP count together.
   *
   * @param delta connections opened (positive) or closed (negative) since the last call
   */
  addHttpConnections(delta: number): void {
    if (delta !== 0) Atomics.add(this.#words, WORD_HTTP_CONNECTIONS, Math.trunc(delta));
  }

  /**
   * Sets the databases now serving (main thread: the facts stay in this object).
   *
   * @param facts each one's type, path and build time, in `--db` order
   */
  setDatabases(facts: readonly DatabaseFacts[]): void {
    this.#databases = Object.freeze(
      facts.map((one) =>
        Object.freeze({ type: one.type, path: one.path, buildEpoch: one.buildEpoch })
      ),
    );
  }

  /**
   * Sets the number of lookup workers alive.
   *
   * @param n a count, 0 or more
   */
  setWorkersAlive(n: number): void {
    Atomics.store(this.#words, WORD_WORKERS, toCount(n));
  }

  /**
   * Sets how many brokers an instance started with `--connect` is connected to.
   *
   * @param connected connections up now
   * @param endpoints `--connect` endpoints
   */
  setBrokers(connected: number, endpoints: number): void {
    Atomics.store(this.#words, WORD_BROKER_ENDPOINTS, toCount(endpoints));
    Atomics.store(this.#words, WORD_BROKERS, toCount(connected));
  }

  /** @returns brokers connected to, of the `--connect` endpoints: cheap enough for `info` */
  brokers(): { connected: number; endpoints: number } {
    return {
      connected: Atomics.load(this.#words, WORD_BROKERS),
      endpoints: Atomics.load(this.#words, WORD_BROKER_ENDPOINTS),
    };
  }

  #read(slot: number): number {
    const words = this.#words;
    const low = HEADER_WORDS + slot * 2;
    let high: number;
    let lowValue: number;
    do {
      high = Atomics.load(words, low + 1);
      lowValue = Atomics.load(words, low);
    } while (Atomics.load(words, low + 1) !== high);
    const value = high * TWO_TO_32 + lowValue;
    if (value < this.#floor[slot]!) return this.#floor[slot]!;
    this.#floor[slot] = value;
    return value;
  }

  /** @returns the reloads so far, by outcome: cheap enough for every `info` request */
  reloads(): Record<ReloadOutcome, number> {
    return { success: this.#read(SLOT_RELOADS), failure: this.#read(SLOT_RELOADS + 1) };
  }

  /** @returns every value now, as plain numbers */
  snapshot(): MetricsSnapshot {
    const requests = {} as MetricsSnapshot["requests"];
    const lookups = {} as MetricsSnapshot["lookups"];
    const duration = {} as MetricsSnapshot["duration"];
    for (const transport of REQUEST_TRANSPORTS) {
      const base = transportBase(transport);
      const byVerb = {} as Record<RequestVerb, Record<RequestOutcome, number>>;
      REQUEST_VERBS.forEach((verb, v) => {
        byVerb[verb] = {
          ok: this.#read(base + SLOT_REQUESTS + v * 2),
          error: this.#read(base + SLOT_REQUESTS + v * 2 + 1),
        };
      });
      requests[transport] = byVerb;
      const byResult = {} as Record<LookupResultKind, number>;
      LOOKUP_RESULTS.forEach((result, i) => byResult[result] = this.#read(base + SLOT_LOOKUPS + i));
      lookups[transport] = byResult;
      const cumulative: number[] = [];
      let count = 0;
      for (let i = 0; i < BUCKET_SLOTS; i++) {
        count += this.#read(base + SLOT_BUCKETS + i);
        cumulative.push(count);
      }
      duration[transport] = { cumulative, count, sumMicros: this.#read(base + SLOT_SUM) };
    }
    const limited = {} as MetricsSnapshot["limited"];
    for (const transport of REQUEST_TRANSPORTS) {
      const byKind = {} as Record<LimitKind, number>;
      for (const kind of LIMIT_KINDS) byKind[kind] = this.#read(limitSlot(kind, transport));
      limited[transport] = byKind;
    }
    return {
      requests,
      lookups,
      limited,
      cache: { hits: this.#read(SLOT_CACHE_HITS), misses: this.#read(SLOT_CACHE_MISSES) },
      duration,
      reloads: this.reloads(),
      workersAlive: Atomics.load(this.#words, WORD_WORKERS),
      brokers: this.brokers(),
      httpDropped: Object.fromEntries(
        HTTP_DROP_REASONS.map((reason, i) => [reason, this.#read(SLOT_HTTP_DROPPED + i)]),
      ) as Record<HttpDropReason, number>,
      httpAcceptFailures: this.#read(SLOT_HTTP_ACCEPT_FAILURES),
      httpConnections: Atomics.load(this.#words, WORD_HTTP_CONNECTIONS),
      databases: this.#databases,
      version: this.#version,
    };
  }

  /**
   * Renders every metric in Prometheus's text exposition format 0.0.4.
   *
   * @param nowMs the time to compute the database's age at, ms since the epoch
   * @returns the text, ending with a line break
   */
  renderPrometheus(nowMs: number = Date.now()): string {
    const s = this.snapshot();
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family("geoipmq_up", "gauge", "1 when the service is answering.");
    lines.push("geoipmq_up 1");
    family("geoipmq_build_info", "gauge", "The running geoipmq's version, as a label.");
    lines.push(`geoipmq_build_info{version="${escapeLabel(s.version)}"} 1`);
    family(
      "geoipmq_requests_total",
      "counter",
      "Requests answered, by transport (zmq, http), verb (invalid: did not parse) and " +
        "outcome (error: an ERROR reply, or an HTTP 4xx/5xx).",
    );
    for (const transport of REQUEST_TRANSPORTS) {
      for (const verb of REQUEST_VERBS) {
        for (const outcome of REQUEST_OUTCOMES) {
          lines.push(
            `geoipmq_requests_total{transport="${transport}",verb="${verb}",outcome="${outcome}"} ${
              s.requests[transport][verb][outcome]
            }`,
          );
        }
      }
    }
    family("geoipmq_lookups_total", "counter", "Addresses answered, by transport and result.");
    for (const transport of REQUEST_TRANSPORTS) {
      for (const result of LOOKUP_RESULTS) {
        lines.push(
          `geoipmq_lookups_total{transport="${transport}",result="${result}"} ${
            s.lookups[transport][result]
          }`,
        );
      }
    }
    family("geoipmq_cache_hits_total", "counter", "Answers taken from the answer cache.");
    lines.push(`geoipmq_cache_hits_total ${s.cache.hits}`);
    family("geoipmq_cache_misses_total", "counter", "Answers rendered from a database record.");
    lines.push(`geoipmq_cache_misses_total ${s.cache.misses}`);
    const duration = "geoipmq_request_duration_seconds";
    family(
      duration,
      "histogram",
      "Time from receiving a request to sending its reply, by transport.",
    );
    for (const transport of REQUEST_TRANSPORTS) {
      const histogram = s.duration[transport];
      const label = `transport="${transport}"`;
      DURATION_BUCKETS_MICROS.forEach((bound, i) => {
        lines.push(
          `${duration}_bucket{${label},le="${microsAsSeconds(bound)}"} ${histogram.cumulative[i]}`,
        );
      });
      lines.push(`${duration}_bucket{${label},le="+Inf"} ${histogram.count}`);
      lines.push(`${duration}_sum{${label}} ${microsAsSeconds(histogram.sumMicros)}`);
      lines.push(`${duration}_count{${label}} ${histogram.count}`);
    }
    family("geoipmq_reloads_total", "counter", "Database reloads, by outcome.");
    for (const outcome of RELOAD_OUTCOMES) {
      lines.push(`geoipmq_reloads_total{outcome="${outcome}"} ${s.reloads[outcome]}`);
    }
    family(
      "geoipmq_limited_total",
      "counter",
      "Work refused by a limit, by transport and limit: inbound_bytes (a connection cut for " +
        "holding more than --max-inbound-mb of requests not yet taken), outbound_bytes (a " +
        "request dropped unanswered for a peer holding more than --max-outbound-mb of " +
        "replies it has not read), rate (a request over --rate-limit).",
    );
    for (const transport of REQUEST_TRANSPORTS) {
      for (const kind of LIMIT_KINDS) {
        lines.push(
          `geoipmq_limited_total{transport="${transport}",limit="${kind}"} ${
            s.limited[transport][kind]
          }`,
        );
      }
    }
    family("geoipmq_workers_alive", "gauge", "Lookup workers alive.");
    lines.push(`geoipmq_workers_alive ${s.workersAlive}`);
    if (s.brokers.endpoints > 0) {
      family(
        "geoipmq_brokers_connected",
        "gauge",
        "Brokers (--connect endpoints) this instance is connected to.",
      );
      lines.push(`geoipmq_brokers_connected ${s.brokers.connected}`);
    }
    family("geoipmq_http_connections", "gauge", "HTTP connections open.");
    lines.push(`geoipmq_http_connections ${s.httpConnections}`);
    family(
      "geoipmq_http_connections_dropped_total",
      "counter",
      "HTTP connections the server refused or closed itself, by reason.",
    );
    for (const reason of HTTP_DROP_REASONS) {
      lines.push(
        `geoipmq_http_connections_dropped_total{reason="${reason}"} ${s.httpDropped[reason]}`,
      );
    }
    family(
      "geoipmq_http_accept_failures_total",
      "counter",
      "Failed accepts of HTTP connections (e.g. too many open files); each is retried.",
    );
    lines.push(`geoipmq_http_accept_failures_total ${s.httpAcceptFailures}`);
    if (s.databases.length > 0) {
      family(
        "geoipmq_database_info",
        "gauge",
        "Each database now serving: its path (the database label) and type.",
      );
      for (const { type, path } of s.databases) {
        lines.push(
          `geoipmq_database_info{database="${escapeLabel(path)}",type="${escapeLabel(type)}"} 1`,
        );
      }
      family(
        "geoipmq_database_build_timestamp_seconds",
        "gauge",
        "Build time of each database now serving, seconds since the epoch.",
      );
      for (const { path, buildEpoch } of s.databases) {
        lines.push(
          `geoipmq_database_build_timestamp_seconds{database="${escapeLabel(path)}"} ${buildEpoch}`,
        );
      }
      family(
        "geoipmq_database_age_seconds",
        "gauge",
        "Seconds since each database now serving was built.",
      );
      for (const { path, buildEpoch } of s.databases) {
        lines.push(
          `geoipmq_database_age_seconds{database="${escapeLabel(path)}"} ${
            (nowMs - buildEpoch * 1000) / 1000
          }`,
        );
      }
    }
    return lines.join("\n") + "\n";
  }
}

function limitSlot(kind: LimitKind, transport: RequestTransport): number {
  return SLOT_LIMITED + LIMIT_KINDS.indexOf(kind) * REQUEST_TRANSPORTS.length +
    REQUEST_TRANSPORTS.indexOf(transport);
}

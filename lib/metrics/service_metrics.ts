/**
 * The service's counters, kept in one `SharedArrayBuffer` so that lookup Workers count
 * with `Atomics.add` and the main thread reads them. Where each counter lives is
 * `counter_layout.ts`; the text for `GET /metrics` is `prometheus_text.ts`.
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

import {
  addTo,
  BUCKET_SLOTS,
  BUFFER_BYTES,
  limitSlot,
  MAGIC,
  MAX_U32,
  readSlot,
  requestSlot,
  SLOT_BUCKETS,
  SLOT_CACHE_HITS,
  SLOT_CACHE_MISSES,
  SLOT_HTTP_ACCEPT_FAILURES,
  SLOT_HTTP_DROPPED,
  SLOT_LOOKUPS,
  SLOT_RELOADS,
  SLOT_SUM,
  SLOTS,
  toCount,
  transportBase,
  WORD_BROKER_ENDPOINTS,
  WORD_BROKERS,
  WORD_HTTP_CONNECTIONS,
  WORD_MAGIC,
  WORD_WORKERS,
} from "./counter_layout.ts";
import {
  type DatabaseFacts,
  durationBucket,
  durationMicros,
  HTTP_DROP_REASONS,
  type HttpDropReason,
  LIMIT_KINDS,
  type LimitKind,
  LOOKUP_RESULTS,
  type LookupResultKind,
  type MetricsSnapshot,
  type ReloadOutcome,
  REQUEST_TRANSPORTS,
  REQUEST_VERBS,
  type RequestOutcome,
  type RequestTransport,
  type RequestVerb,
} from "./metric_kinds.ts";
import { renderPrometheus } from "./prometheus_text.ts";

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
    addTo(words, requestSlot(transport, verb, outcome), 1);
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
    this.#addCount(requestSlot(transport, verb, outcome), count);
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
    const value = readSlot(this.#words, slot);
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
      for (const verb of REQUEST_VERBS) {
        byVerb[verb] = {
          ok: this.#read(requestSlot(transport, verb, "ok")),
          error: this.#read(requestSlot(transport, verb, "error")),
        };
      }
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
    return renderPrometheus(this.snapshot(), nowMs);
  }
}

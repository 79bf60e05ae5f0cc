/**
 * What every thread that answers lookups builds from what the service hands it: a
 * responder over the databases (rebuilt on each switch), its share of the caches of
 * rendered answers, and the rate limiter over the buckets every thread shares. Lookup
 * workers, HTTP workers and the main thread's HTTP all build theirs here.
 *
 * @module
 */

import { GeoDatabase } from "../database/mod.ts";
import { ServiceMetrics } from "../metrics/mod.ts";
import type { RequestLimits } from "../protocol/mod.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { GeoipResponder, type ServerInfo } from "./responder.ts";

/** One database as it crosses to a thread: its bytes, already checked, and their source. */
export interface DatabaseBytes {
  /** The database file's bytes, in a `SharedArrayBuffer`. */
  bytes: Uint8Array<SharedArrayBuffer>;
  /** Where it came from. */
  source: string;
}

/** What the service hands each thread that answers lookups (plain data: it crosses threads). */
export interface ThreadLookupSetup {
  /** Languages for names (`--lang`), most preferred first. */
  languages: readonly string[];
  /** Request bounds. */
  limits: RequestLimits;
  /** What `info` says about the service (the counters are read from the metrics). */
  server: Pick<ServerInfo, "version" | "libzmqVersion" | "startedAt">;
  /** What this thread's caches of rendered answers may hold together, in bytes. */
  cache: { maxBytes: number };
  /** Which lookup worker this is, reported by `info`; none for an HTTP thread. */
  worker?: number;
  /** Requests per second per peer IP address; 0: no limit. */
  ratePerSecond: number;
  /** The rate limiter's buckets, shared by every thread ({@linkcode RateLimiter.table}). */
  rateTable?: SharedArrayBuffer;
}

/** A thread's lookups: see {@linkcode threadLookups}. */
export interface ThreadLookups {
  /** The service's counters, as this thread sees them. */
  metrics: ServiceMetrics;
  /** The rate limiter, or null without a rate limit. */
  rateLimiter: RateLimiter | null;
  /**
   * @param databases the databases to serve, in `--db` order: open ones (the main thread)
   *   or their bytes (a worker)
   * @returns a responder over them, with this thread's cache share
   */
  responderFor(databases: readonly (GeoDatabase | DatabaseBytes)[]): GeoipResponder;
}

/**
 * Builds a thread's responder factory, caches and rate limiter from the setup the
 * service handed it.
 *
 * @example
 * ```ts
 * import { ServiceMetrics } from "../metrics/mod.ts";
 * import { threadLookups } from "./thread_lookups.ts";
 * const lookups = threadLookups({
 *   languages: ["en"],
 *   limits: { maxRequestBytes: 65536, maxAddresses: 100 },
 *   server: { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: 0 },
 *   cache: { maxBytes: 0 },
 *   ratePerSecond: 10,
 * }, { metrics: ServiceMetrics.create({ version: "1.0.0" }) });
 * console.log(lookups.rateLimiter?.allow("127.0.0.1", 0)); // true
 * ```
 *
 * @param setup what the service handed the thread
 * @param options the service's counters: the object itself on the main thread, its
 *   buffer in a worker
 * @returns the thread's lookups
 */
export function threadLookups(
  setup: ThreadLookupSetup,
  options: { metrics: ServiceMetrics | SharedArrayBuffer },
): ThreadLookups {
  const metrics = options.metrics instanceof ServiceMetrics
    ? options.metrics
    : ServiceMetrics.fromBuffer(options.metrics, { version: setup.server.version });
  // Only data crosses to a thread; each reads the counters `info` reports itself.
  const server: ServerInfo = {
    version: setup.server.version,
    libzmqVersion: setup.server.libzmqVersion,
    startedAt: setup.server.startedAt,
    reloads: () => metrics.reloads(),
    brokers: () => metrics.brokers(),
  };
  const rateLimiter = setup.ratePerSecond > 0
    ? new RateLimiter({
      perSecond: setup.ratePerSecond,
      ...(setup.rateTable === undefined ? {} : { table: setup.rateTable }),
    })
    : null;
  const { limits, cache, languages, worker } = setup;
  return {
    metrics,
    rateLimiter,
    responderFor: (databases) =>
      new GeoipResponder(
        databases.map((database) =>
          database instanceof GeoDatabase
            ? database
            : GeoDatabase.fromBytes(database.bytes, database.source, { checked: true })
        ),
        { limits, server, cache, languages, ...(worker === undefined ? {} : { worker }) },
      ),
  };
}

/**
 * @example
 * ```ts
 * import { sharedDatabases } from "./thread_lookups.ts";
 * console.log(sharedDatabases([])); // []
 * ```
 *
 * @param databases open databases whose bytes are in `SharedArrayBuffer`s, in `--db` order
 * @returns what carries them to a thread
 */
export function sharedDatabases(databases: readonly GeoDatabase[]): DatabaseBytes[] {
  return databases.map((database) => ({
    bytes: database.bytes as Uint8Array<SharedArrayBuffer>,
    source: database.source,
  }));
}

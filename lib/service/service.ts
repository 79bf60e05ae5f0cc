/**
 * A running service as one object: its databases and their switch, the lookup pool, the
 * HTTP threads, the reloads (`reload()` re-reads the databases, the CURVE allow-list and
 * the TLS pair) and the stop (`stop()` answers what is in flight and closes everything).
 * `startService` makes it; the `serve` command, the tests and the benchmarks all start and
 * stop the service this way.
 *
 * @module
 */

import { readAllowFile } from "../curve/mod.ts";
import { type GeoDatabase, releaseReplacedDatabase, watchDatabase } from "../database/mod.ts";
import type { Health } from "../http_threads/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { GeoipResponder, ThreadLookups } from "../lookup/mod.ts";
import type { LookupPool } from "../lookup_pool/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import { withTimeout } from "../worker/mod.ts";
import type { Libzmq } from "../zmq/mod.ts";
import { logReloaded, reopenDatabases } from "./database_reload.ts";
import { FileReloader } from "./file_reloader.ts";
import { logLocationSchema } from "./schema_log.ts";
import { ServiceHttp, type ServiceHttpOptions } from "./service_http.ts";
import { clientKeys } from "./service_log.ts";

/** How long a stop waits for a reload under way. */
const RELOAD_STOP_WAIT_MS = 1000;

/** What a running service is made of; see `startService`. */
export interface ServiceParts {
  lib: Libzmq;
  pool: LookupPool;
  metrics: ServiceMetrics;
  log: Logger;
  /** The database files, in `--db` order (the bundled one's path when none was given). */
  databasePaths: readonly string[];
  /** The CURVE allow-list's file, or undefined when CURVE is off. */
  allowFile: string | undefined;
  /** The main thread's lookups: its responder (for HTTP) and its rate limiter. */
  lookups: ThreadLookups;
}

/** A running service; made by `startService`. */
export class Service {
  /** The counters of every thread. */
  readonly metrics: ServiceMetrics;
  /** Settles with the reason when the service cannot go on (then call `stop()`). */
  readonly failed: Promise<string>;
  readonly #parts: ServiceParts;
  readonly #reloader: FileReloader;
  readonly #allowListReloader: FileReloader | undefined;
  #responder: GeoipResponder;
  #http: ServiceHttp | undefined;
  #watcher: { close(): void } | undefined;
  #stopping: Promise<void> | undefined;

  /** @param parts what `startService` made */
  constructor(parts: ServiceParts) {
    this.#parts = parts;
    this.metrics = parts.metrics;
    this.#responder = parts.lookups.responderFor(parts.pool.databases);
    logLocationSchema(parts.log, this.#responder);
    this.#reloader = new FileReloader(async () => {
      await this.#reloadDatabases();
      // Only now is every reference to a replaced database gone from this thread (the
      // reload's own variables included); the workers release theirs as they switch.
      releaseReplacedDatabase();
    });
    const authenticator = parts.pool.authenticator;
    this.#allowListReloader = authenticator === undefined || parts.allowFile === undefined
      ? undefined
      : new FileReloader(() => this.#reloadAllowList(parts.allowFile!));
    const failures = [
      parts.pool.routerFailed.then((failure) =>
        `the router worker failed (${failure}); stopping, so that a restart ` +
        "(systemd's Restart=on-failure) brings the service back"
      ),
    ];
    if (authenticator !== undefined) {
      failures.push(
        authenticator.failed.then((failure) =>
          `${failure}; stopping, since no CURVE client can be checked`
        ),
      );
    }
    this.failed = Promise.race(failures);
    parts.metrics.setDatabases(parts.pool.databases.map(databaseFacts));
  }

  /** The ZeroMQ endpoints bound, with the ports actually chosen. */
  get endpoints(): readonly string[] {
    return this.#parts.pool.endpoints;
  }

  /** Where HTTP is served (the port actually bound), or undefined without HTTP. */
  get httpAddress(): { hostname: string; port: number } | undefined {
    return this.#http?.addr;
  }

  /** The URL HTTP is served at (`https://` with TLS), or undefined without HTTP. */
  get httpUrl(): string | undefined {
    return this.#http?.url;
  }

  /** Whether HTTP is served over TLS (its certificate is re-read on each reload). */
  get tls(): boolean {
    return this.#http?.tlsReloader !== undefined;
  }

  /** How many lookup workers serve, and how many of them are running. */
  get workers(): { count: number; alive: number } {
    return { count: this.#parts.pool.workerCount, alive: this.#parts.pool.workersAlive };
  }

  /**
   * Once {@linkcode Service.stop} has settled: the requests already received when it began
   * that were answered, and those its deadline (2 s) left unanswered.
   */
  get drained(): { answered: number; dropped: number } {
    return this.#parts.pool.drained;
  }

  /** The databases now serving, in `--db` order. */
  get databases(): readonly GeoDatabase[] {
    return this.#parts.pool.databases;
  }

  /** The libzmq in use. */
  get lib(): Libzmq {
    return this.#parts.lib;
  }

  /** @returns every metric in Prometheus's text format, the CURVE handshakes included */
  prometheus(): string {
    const { metrics, pool } = this.#parts;
    return metrics.renderPrometheus() + (pool.authenticator?.state.renderPrometheus() ?? "");
  }

  /** Whether a CURVE allow-list is in force. */
  get curve(): boolean {
    return this.#allowListReloader !== undefined;
  }

  /** Whether the database files are watched. */
  get watching(): boolean {
    return this.#watcher !== undefined;
  }

  /**
   * Re-reads every database from its path (and the CURVE allow-list from its file, and
   * the TLS pair): each new database file is checked first, then every worker switches
   * to the new databases together; a bad file keeps its old database serving, and a
   * switch a worker does not take part in leaves every old one serving. Reloads run one
   * at a time; asking while one runs asks for one more.
   *
   * @returns a promise that settles when no reload is running or due
   */
  reload(): Promise<void> {
    this.#reloader.request();
    this.#allowListReloader?.request();
    this.#http?.tlsReloader?.request();
    return this.idle();
  }

  /** @returns a promise that settles when no reload is running or due */
  async idle(): Promise<void> {
    await this.#reloader.idle();
    await this.#allowListReloader?.idle();
    await this.#http?.tlsReloader?.idle();
  }

  /**
   * Stops: no new requests are taken, the ones in flight are answered, HTTP requests in
   * flight are given a few seconds, then everything closes. Calling it again returns the
   * same promise.
   *
   * @returns a promise that settles when everything is closed
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /**
   * Starts serving HTTP (from `startService`); the main thread's HTTP answers with this
   * service's responder and health.
   *
   * @param options where and how
   * @throws what {@linkcode ServiceHttp.start} throws; nothing of HTTP is left running
   */
  async serveHttp(options: ServiceHttpOptions): Promise<void> {
    this.#http = await ServiceHttp.start(options, {
      responder: () => this.#responder,
      databases: this.#parts.pool.databases,
      metrics: this.#parts.metrics,
      rateLimiter: this.#parts.lookups.rateLimiter,
      health: () => this.#health(),
      renderMetrics: () => this.prometheus(),
    });
  }

  /** Reloads the databases whenever one of their files is replaced (from `startService`). */
  watch(): void {
    const watchers = this.#parts.databasePaths.map((path) =>
      watchDatabase(path, () => {
        this.#parts.log.info("changed", `${path} changed: reloading`);
        this.#reloader.request();
      })
    );
    this.#watcher = { close: () => watchers.forEach((watcher) => watcher.close()) };
  }

  /** What `/healthz` says: every lookup worker and HTTP worker runs, brokers reached. */
  #health(): Health {
    const { pool } = this.#parts;
    const alive = pool.workersAlive;
    if (alive !== pool.workerCount) {
      return { ok: false, reason: `${pool.workerCount - alive} lookup workers are not running` };
    }
    return this.#http?.threadsHealth() ?? pool.brokers?.health() ?? { ok: true, reason: "" };
  }

  async #stop(): Promise<void> {
    this.#watcher?.close();
    // A reload still reading its file (a slow disk, a file that is not what it seems) is
    // not waited for beyond a moment: it can never hold up the stop.
    await withTimeout(this.idle(), RELOAD_STOP_WAIT_MS);
    // ZeroMQ and HTTP stop together; an HTTP client that holds a request open is not
    // waited for beyond a few seconds.
    await Promise.all([this.#http?.stop(), this.#parts.pool.stop()]);
  }

  /**
   * Re-reads every database file (see `reopenDatabases`), switches every worker to those
   * that passed, then every HTTP thread, and says how it ended.
   */
  async #reloadDatabases(): Promise<void> {
    const { pool, metrics, log, databasePaths } = this.#parts;
    const current = pool.databases;
    const { next, refused } = await reopenDatabases(databasePaths, { current, log });
    if (refused === databasePaths.length) {
      metrics.recordReload("failure");
      return;
    }
    const outcome = await pool.switchDatabases(next);
    if (!outcome.committed) {
      metrics.recordReload("failure");
      log.error(
        "reload-failed",
        `reload failed, every worker still serves the old database: ${outcome.reason}`,
        { database: databasePaths.join(","), generation: outcome.generation },
      );
      return;
    }
    this.#responder = this.#parts.lookups.responderFor(next);
    logLocationSchema(log, this.#responder);
    await this.#http?.switchDatabases(next);
    metrics.setDatabases(next.map(databaseFacts));
    metrics.recordReload(refused === 0 ? "success" : "failure");
    logReloaded(log, { current, next });
  }

  /** Re-reads the allow file and puts it in force; on failure the old list stays. */
  async #reloadAllowList(path: string): Promise<void> {
    const { lib, log, pool } = this.#parts;
    const authenticator = pool.authenticator!;
    const kept = () => `the old one (${clientKeys(authenticator.state.keyCount)}) stays in force`;
    let keys: string[];
    try {
      keys = await readAllowFile(lib, path);
      await authenticator.setAllowList(keys);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.error("allow-list-refused", `CURVE allow-list not reloaded, ${kept()}: ${reason}`, {
        file: path,
        keys: authenticator.state.keyCount,
      });
      return;
    }
    log.info(
      "allow-list-reloaded",
      `CURVE allow-list reloaded: ${clientKeys(keys.length)} from ${path}`,
      { file: path, keys: keys.length },
    );
  }
}

/**
 * @param database an open database
 * @returns what the metrics say of it
 */
function databaseFacts(database: GeoDatabase) {
  return {
    type: database.metadata.databaseType,
    path: database.source,
    buildEpoch: database.metadata.buildEpoch,
  };
}

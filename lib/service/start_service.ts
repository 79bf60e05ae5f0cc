/**
 * Start-up: {@linkcode startService} loads libzmq, CURVE and the databases, starts the
 * lookup pool, makes the {@linkcode Service}, starts its HTTP threads and resolves once
 * the service answers. Each step calls down into the folder that does it; none calls
 * back up.
 *
 * @module
 */

import { threadLookups, type ThreadLookupSetup } from "../lookup/mod.ts";
import { LookupPool } from "../lookup_pool/mod.ts";
import { ServiceMetrics } from "../metrics/mod.ts";
import { usableHttpThreads } from "../http_threads/mod.ts";
import { bundledDatabasePath, type GeoDatabase } from "../database/mod.ts";
import { type Libzmq, openFileLimit } from "../zmq/mod.ts";
import { Service } from "./service.ts";
import {
  cacheShare,
  clientLimits,
  httpLimits,
  type ServiceContext,
  type ServiceOptions,
  threadSetup,
} from "./service_options.ts";
import { type CurveSetup, loadCurve, loadLibzmq, openDatabases } from "./startup_loaders.ts";
import { StartupError } from "./startup_error.ts";
import {
  logBrokerEvent,
  logCurveOn,
  logExposedEndpoints,
  logRefusal,
  logWorkerEvent,
} from "./service_log.ts";
import { VERSION } from "./version.ts";

/**
 * Starts a service and resolves once it answers on every endpoint.
 *
 * @example
 * ```ts
 * import { Logger } from "../log/mod.ts";
 * import { parseCommand } from "../cli/mod.ts";
 * import { startService } from "./start_service.ts";
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
  if (curve !== undefined) logCurveOn(log, curve);
  const databases = await openDatabases(options.db, log);
  const metrics = ServiceMetrics.create({ version: VERSION });
  const setup = threadSetup(options, {
    version: VERSION,
    libzmqVersion: lib.version(),
    startedAt: Date.now(),
  });
  const cache = cacheShare(options);
  const pool = await startLookupPool(options, { context, lib, curve, databases, metrics, setup });
  if (curve === undefined) logExposedEndpoints(log, pool.endpoints);
  const lookups: ThreadLookupSetup = { ...setup, cache: cache.http };
  const service = new Service({
    lib,
    pool,
    metrics,
    log,
    databasePaths: options.db.length > 0 ? [...options.db] : [bundledDatabasePath()],
    allowFile: curve?.allowFile,
    lookups: threadLookups(lookups, { metrics }),
  });
  if (options.http !== undefined) {
    try {
      await service.serveHttp({
        address: options.http,
        threads: options.httpThreads ?? 1,
        listen: {
          maxAddresses: options.maxAddresses,
          httpLimits: httpLimits(options, openFileLimit(lib)),
          ...(options.httpCorsOrigins === undefined ? {} : { cors: [...options.httpCorsOrigins] }),
          ...(options.httpTrustedProxies === undefined
            ? {}
            : { trustedProxies: [...options.httpTrustedProxies] }),
        },
        ...(options.httpTls === undefined ? {} : { tlsFiles: options.httpTls }),
        lookups,
        log,
      });
    } catch (error) {
      await pool.stop();
      throw new StartupError((error as Error).message, { cause: error });
    }
  }
  if (options.watch) service.watch();
  return service;
}

/**
 * Starts the lookup pool with its share of the caches, its budgets and CURVE.
 *
 * @param options the service's options
 * @param parts what the start-up has loaded so far
 * @returns the running pool
 * @throws {StartupError} when an endpoint cannot be bound or a worker cannot start
 */
async function startLookupPool(
  options: ServiceOptions,
  parts: {
    context: ServiceContext;
    lib: Libzmq;
    curve: CurveSetup | undefined;
    databases: readonly GeoDatabase[];
    metrics: ServiceMetrics;
    setup: Omit<ThreadLookupSetup, "cache">;
  },
): Promise<LookupPool> {
  const { context, curve, setup } = parts;
  const { log } = context;
  try {
    return await LookupPool.start({
      lib: parts.lib,
      databases: parts.databases,
      languages: setup.languages,
      bind: options.bind,
      connect: options.connect,
      workers: options.workers,
      limits: setup.limits,
      cache: cacheShare(options).lookup,
      server: setup.server,
      metrics: parts.metrics,
      hwm: options.hwm,
      clientLimits: clientLimits(options, setup.rateTable),
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
          onRefused: (refusal) => logRefusal(log, refusal),
        },
      }),
    });
  } catch (error) {
    throw new StartupError(`Cannot start: ${(error as Error).message}`, { cause: error });
  }
}

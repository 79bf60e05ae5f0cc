/**
 * Runs the bench's native load generator (`scripts/baselines/c_load/geoip_load.c`, built by
 * {@linkcode buildLoadGenerator}) and reads its one-line JSON report; also asks it for the
 * addresses of a traffic shape, so that they can be checked against a reference server.
 *
 * @module
 */

import { runCommand } from "./bench_builds.ts";

/** The traffic shapes the generator knows (see `scripts/baselines/c_load/geoip_load.c`). */
export type ShapeName = "uniform" | "pool" | "zipf" | "same" | "v6";

/** Where the addresses of a shape come from. */
export interface ShapeSource {
  /** The shape. */
  shape: ShapeName;
  /** The PRNG seed. */
  seed: number;
  /** Where in the shape's sequence to start (uniform: never repeated across offsets). */
  offset?: number;
  /** pool: the address file, one a line. */
  file?: string;
  /** zipf: distinct addresses (default 1,000,000). */
  universe?: number;
  /** same: the address. */
  address?: string;
}

/** One run of the generator against one server. */
export interface LoadSpec extends ShapeSource {
  /** The server's ZeroMQ endpoint. */
  endpoint: string;
  /** Lock-step REQ or pipelined DEALER clients. */
  socket: "req" | "dealer";
  /** Clients, one thread each. */
  clients: number;
  /** Requests each DEALER keeps in flight. */
  inFlight: number;
  /** Addresses per request. */
  batch: number;
  /** Load before the measured window. */
  warmupSeconds: number;
  /** The measured window. */
  seconds: number;
  /** The server's process id: its CPU time over the window is read from `/proc`. */
  serverPid?: number;
  /** A request unanswered this long is a timeout (default 2000). */
  timeoutMs?: number;
}

/** What the generator reports, over the measured window. */
export interface LoadRun {
  shape: ShapeName;
  replies: number;
  lookups: number;
  seconds: number;
  requestsPerSecond: number;
  lookupsPerSecond: number;
  /** Median latency, microseconds (-1: no reply). */
  p50Us: number;
  /** 99th percentile latency, microseconds. */
  p99Us: number;
  /** ERROR lines, replies with the wrong number of lines, failed sends (whole run). */
  errors: number;
  /** Requests unanswered within the timeout (whole run). */
  timeouts: number;
  /** NOT_FOUND answers in the window. */
  notFound: number;
  /** The first problem seen, or "". */
  errorExample: string;
  /** The server's CPU seconds (utime + stime, all threads) over the window. */
  serverCpuSeconds: number | null;
  /** The generator's own CPU seconds over the window (all its threads). */
  generatorCpuSeconds: number;
}

function shapeArgs(source: ShapeSource): string[] {
  return [
    ...["--shape", source.shape, "--seed", String(source.seed)],
    ...["--offset", String(source.offset ?? 0)],
    ...(source.file === undefined ? [] : ["--file", source.file]),
    ...(source.universe === undefined ? [] : ["--universe", String(source.universe)]),
    ...(source.address === undefined ? [] : ["--address", source.address]),
  ];
}

/**
 * Runs the generator once, bounded in time (its own deadlines, and a kill 15 s after them).
 *
 * @example
 * ```ts ignore
 * const run = await runLoad("/tmp/geoip_load", {
 *   endpoint: "tcp://127.0.0.1:5555", socket: "dealer", clients: 4, inFlight: 16, batch: 1,
 *   shape: "uniform", seed: 1, warmupSeconds: 1, seconds: 3,
 * });
 * console.log(run.requestsPerSecond);
 * ```
 *
 * @param binary the built generator
 * @param spec the server, the clients and the traffic
 * @returns its report
 * @throws {Error} when it fails, is killed, or prints no report
 */
export async function runLoad(binary: string, spec: LoadSpec): Promise<LoadRun> {
  const timeoutMs = spec.timeoutMs ?? 2000;
  const args = [
    ...["--endpoint", spec.endpoint, "--socket", spec.socket],
    ...["--clients", String(spec.clients), "--in-flight", String(spec.inFlight)],
    ...["--batch", String(spec.batch), ...shapeArgs(spec)],
    ...["--warmup", String(spec.warmupSeconds), "--seconds", String(spec.seconds)],
    ...["--timeout-ms", String(timeoutMs)],
    ...(spec.serverPid === undefined ? [] : ["--server-pid", String(spec.serverPid)]),
  ];
  const limitMs = (spec.warmupSeconds + spec.seconds) * 1000 + 2 * timeoutMs + 15_000;
  const result = await runCommand(binary, args, { signal: AbortSignal.timeout(limitMs) });
  if (result === null) throw new Error(`the load generator ${binary} is missing`);
  const line = result.stdout.trim().split("\n").pop() ?? "";
  if (result.code !== 0 || !line.startsWith("{")) {
    throw new Error(
      `${binary} ${args.join(" ")} failed (${result.code}): ${result.stderr.trim() || line}`,
    );
  }
  return JSON.parse(line) as LoadRun;
}

/**
 * The first addresses of a shape, as the generator's first client sends them.
 *
 * @example
 * ```ts ignore
 * const addresses = await shapeAddresses("/tmp/geoip_load", { shape: "zipf", seed: 1 }, 10);
 * ```
 *
 * @param binary the built generator
 * @param source the shape
 * @param count how many
 * @returns the addresses
 */
export async function shapeAddresses(
  binary: string,
  source: ShapeSource,
  count: number,
): Promise<string[]> {
  const args = ["--print", String(count), ...shapeArgs(source)];
  const result = await runCommand(binary, args, { signal: AbortSignal.timeout(60_000) });
  if (result === null || result.code !== 0) {
    throw new Error(`${binary} ${args.join(" ")} failed: ${result?.stderr.trim() ?? "missing"}`);
  }
  return result.stdout.split("\n").filter((line) => line !== "");
}

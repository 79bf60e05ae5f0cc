/**
 * The bench's HTTP load: `wrk` on `GET /json/<ip>` in the traffic shapes of
 * `scripts/baselines/c_load/wrk_shapes.lua`, with the server's CPU time read from `/proc` around the measured
 * run; and a comparison of two servers' answers.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { runCommand, type ShapeSource, WRK_SHAPES_SCRIPT } from "../../tooling/mod.ts";
import { cpuSeconds } from "./cpu_time.ts";

/** `wrk` connections. */
export const HTTP_CONNECTIONS = 50;
/** `wrk` threads. */
export const HTTP_THREADS = 2;

/** The numbers of one HTTP run, from wrk's report and the server's CPU time. */
export interface HttpRunResult {
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
export function parseWrk(text: string): Omit<HttpRunResult, "serverCpuSeconds"> {
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

/** The wrk arguments after `--`: shape, seed, offset, threads and the shape's argument. */
function shapeArgs(source: ShapeSource): string[] {
  const argument = source.shape === "pool"
    ? source.file
    : source.shape === "zipf"
    ? source.universe
    : source.shape === "same"
    ? source.address
    : undefined;
  return [
    source.shape,
    String(source.seed),
    String(source.offset ?? 0),
    String(HTTP_THREADS),
    ...(argument === undefined ? [] : [String(argument)]),
  ];
}

/** One wrk run; its report. */
async function wrk(url: string, source: ShapeSource, seconds: number): Promise<string> {
  const args = [
    ...["-t", String(HTTP_THREADS), "-c", String(HTTP_CONNECTIONS)],
    ...["-d", `${Math.max(1, Math.round(seconds))}s`, "--timeout", "2s", "--latency"],
    ...["-s", WRK_SHAPES_SCRIPT, `${url}/`, "--", ...shapeArgs(source)],
  ];
  const limit = AbortSignal.timeout((Math.max(1, Math.round(seconds)) + 30) * 1000);
  const result = await runCommand("wrk", args, { signal: limit });
  if (result === null) throw new Error("wrk not found");
  if (result.code !== 0) throw new Error(`wrk failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/**
 * Loads a server's `GET /json/<ip>` with wrk: a warm-up run (addresses from `offset`),
 * then the measured run (from `offset + 2^24`), with the server's CPU time read before and
 * after it.
 *
 * @example
 * ```ts ignore
 * const run = await runHttp({ http: "http://127.0.0.1:8080", pid: 1234 }, {
 *   source: { shape: "uniform", seed: 1, offset: 0 }, warmupSeconds: 1, seconds: 3,
 * });
 * ```
 *
 * @param server its base URL and pid
 * @param options the traffic, the warm-up and measured times
 * @returns the measured run's numbers
 */
export async function runHttp(
  server: { http: string; pid: number },
  options: { source: ShapeSource; warmupSeconds: number; seconds: number },
): Promise<HttpRunResult> {
  const { source } = options;
  if (options.warmupSeconds > 0) await wrk(server.http, source, options.warmupSeconds);
  const measured = { ...source, offset: (source.offset ?? 0) + 2 ** 24 };
  const cpu0 = cpuSeconds(server.pid);
  const report = parseWrk(await wrk(server.http, measured, options.seconds));
  const cpu1 = cpuSeconds(server.pid);
  return {
    ...report,
    serverCpuSeconds: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
  };
}

/**
 * Asks two HTTP servers for `/json/<ip>` of the same addresses and compares status and
 * parsed body (object key order aside), each request within 10 s.
 *
 * @param servers the two servers' keys and HTTP base URLs
 * @param addresses what to ask
 * @returns how many were compared and how many differed, with the first difference
 */
export async function compareHttp(
  servers: [{ key: string; http?: string | undefined }, { key: string; http?: string | undefined }],
  addresses: string[],
): Promise<{ compared: number; differ: number; found: number; example: string | null }> {
  let differ = 0;
  let found = 0;
  let example: string | null = null;
  for (const address of addresses) {
    const [a, b] = await Promise.all(servers.map(async (server) => {
      const response = await fetch(`${server.http}/json/${address}`, {
        signal: AbortSignal.timeout(10_000),
      });
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

/**
 * A well-behaved HTTP client for the attack bench and its tests: it asks
 * `GET /geoip/<random address>` again and again, one request at a time, each with a time
 * limit, until stopped, and says how many were answered in time.
 *
 * @example
 * ```ts ignore
 * const probe = startHttpProbe({ port: 8080 });
 * await sleep(5000);
 * const result = await probe.stop();
 * console.log(`${result.answered} of ${result.sent} answered within 2 s`);
 * ```
 *
 * @module
 */

/** What the probe saw. */
export interface HttpProbeResult {
  /** Requests sent. */
  sent: number;
  /** Requests answered (any status but 429 or 5xx) within the time limit. */
  answered: number;
  /** Round trips of the answered requests, in milliseconds. */
  latenciesMs: number[];
  /** Statuses seen, with how many times ("no answer" for none in time). */
  statuses: Record<string, number>;
  /** The time limit of one request, in milliseconds. */
  timeoutMs: number;
}

/** Options of {@linkcode startHttpProbe}. */
export interface HttpProbeOptions {
  /** The HTTP port on 127.0.0.1. */
  port: number;
  /** How long a request may take to count as answered (default 2000 ms). */
  timeoutMs?: number;
}

function randomAddress(): string {
  return [1 + Math.floor(Math.random() * 222), 0, 0, 0]
    .map((b, i) => i === 0 ? b : Math.floor(Math.random() * 256)).join(".");
}

/**
 * Starts the probe.
 *
 * @param options the port and the time limit
 * @returns `stop()`, which ends it and resolves to what it saw
 */
export function startHttpProbe(options: HttpProbeOptions): { stop(): Promise<HttpProbeResult> } {
  const timeoutMs = options.timeoutMs ?? 2000;
  const result: HttpProbeResult = {
    sent: 0,
    answered: 0,
    latenciesMs: [],
    statuses: {},
    timeoutMs,
  };
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const started = performance.now();
      result.sent++;
      let status = "no answer";
      try {
        const response = await fetch(
          `http://127.0.0.1:${options.port}/geoip/${randomAddress()}`,
          { signal: AbortSignal.timeout(timeoutMs) },
        );
        await response.arrayBuffer();
        status = String(response.status);
        if (response.status !== 429 && response.status < 500) {
          result.answered++;
          result.latenciesMs.push(performance.now() - started);
        }
      } catch {
        // Not answered in time, or the connection failed.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return result;
    },
  };
}

/**
 * One line for a table: the share answered within the limit, and the 99th percentile.
 *
 * @example
 * ```ts
 * import { describeHttpProbe } from "./http_probe.ts";
 * console.log(describeHttpProbe({ sent: 4, answered: 4, latenciesMs: [1, 2, 3, 4], statuses: { "200": 4 }, timeoutMs: 2000 }));
 * // HTTP client: 100.0% of 4 answered within 2 s, p99 4.0 ms
 * ```
 *
 * @param result what the probe saw
 * @returns the line
 */
export function describeHttpProbe(result: HttpProbeResult): string {
  if (result.sent === 0) return "HTTP client: no request sent";
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const rank = Math.ceil(0.99 * result.sent) - 1;
  const limit = `${result.timeoutMs / 1000} s`;
  const p99 = rank < sorted.length ? `${sorted[rank]!.toFixed(1)} ms` : `> ${limit}`;
  const share = (100 * result.answered / result.sent).toFixed(1);
  return `HTTP client: ${share}% of ${result.sent} answered within ${limit}, p99 ${p99}`;
}

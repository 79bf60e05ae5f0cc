/**
 * Several HTTP threads share one address through `SO_REUSEPORT` (`Deno.listen({ reusePort:
 * true })`), which Deno offers only with its unstable net API: `--unstable-net`, or
 * `"unstable": ["net"]` in `deno.json`, which `deno run main.ts` and `deno task start` both
 * read. Without it Deno ends the whole process at the first such listen, with no error to
 * catch, so the service asks first and serves HTTP on one thread instead.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";

/**
 * Whether Deno's unstable net API is on in this process: `Deno.listenDatagram`, one of its
 * functions, exists only then.
 *
 * @example
 * ```ts
 * import { unstableNetEnabled } from "./http_thread_fallback.ts";
 * console.log(unstableNetEnabled({ listenDatagram: () => {} })); // true
 * console.log(unstableNetEnabled({})); // false
 * ```
 *
 * @param deno the `Deno` namespace (default: this process's)
 * @returns true when `reusePort` may be used
 */
export function unstableNetEnabled(deno: object = Deno): boolean {
  return typeof (deno as { listenDatagram?: unknown }).listenDatagram === "function";
}

/**
 * The number of HTTP threads that can run: the one asked for, or 1, with a warning, when
 * the unstable net API is off.
 *
 * @example
 * ```ts
 * import { Logger } from "../log/mod.ts";
 * import { usableHttpThreads } from "./http_thread_fallback.ts";
 * const lines: string[] = [];
 * const log = new Logger({ write: (line) => lines.push(line) });
 * console.log(usableHttpThreads(2, { log, unstableNet: false })); // 1
 * console.log(lines.length); // 1
 * ```
 *
 * @param requested `--http-threads`
 * @param options where to warn, and whether the unstable net API is on (default: ask Deno)
 * @returns how many HTTP threads to start
 */
export function usableHttpThreads(
  requested: number,
  options: { log: Logger; unstableNet?: boolean },
): number {
  if (requested <= 1 || (options.unstableNet ?? unstableNetEnabled())) return requested;
  options.log.warn(
    "http-one-thread",
    `--http-threads ${requested} needs Deno's unstable net API (run with --unstable-net, ` +
      `or "unstable": ["net"] in deno.json): serving HTTP on one thread`,
    { requested, threads: 1 },
  );
  return 1;
}

/**
 * The parts of `deno task attack` (`scripts/attack.ts`) that run on a thread of their own.
 *
 * @module
 */

export type { ProbeResult, ProbeStart } from "./probe_worker.ts";

/**
 * The Worker module of the well-behaved client that keeps asking while an attack runs.
 *
 * @example
 * ```ts ignore
 * const worker = new Worker(PROBE_WORKER_MODULE, { type: "module" });
 * ```
 */
export const PROBE_WORKER_MODULE: URL = new URL("./probe_worker.ts", import.meta.url);

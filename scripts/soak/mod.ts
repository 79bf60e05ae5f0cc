/**
 * The parts of `deno task soak` (`scripts/soak.ts`): its flags, the load on a Worker of its
 * own, the watch over memory and reloads while it runs, and the report.
 *
 * @module
 */

export { type Options, optionsOrExit } from "./options.ts";
export { type LoadDone, type LoadSetup, STAT, STAT_COUNT } from "./load_worker.ts";
export { mb, SoakWatch } from "./watch.ts";
export { machine, soakReport } from "./report.ts";

/** The module the load runs in, on a Worker of its own. */
export const LOAD_WORKER_MODULE: URL = new URL("./load_worker.ts", import.meta.url);

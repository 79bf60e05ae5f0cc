/**
 * The service: sockets bound and handed to lookup workers, the database switch, the
 * reload and the shutdown, the HTTP face and the counters, as one object
 * ({@linkcode startService}); and the `serve` command that runs it until a signal.
 *
 * @module
 */

export {
  describeDatabase,
  formatHttp,
  Service,
  type ServiceContext,
  type ServiceOptions,
  startService,
  StartupError,
} from "./service.ts";
export { runServe } from "./serve_command.ts";
export { frameLimit, type WorkerLifeEvent } from "./lookup_pool.ts";
export { SMALL_REQUEST_BYTES } from "./router_loop.ts";
export { SWITCH_TIMEOUT_MS } from "./database_switch.ts";
export { VERSION } from "./version.ts";
export { IDLE_COLLECT_INTERVAL_MS, IdleCollector } from "./idle_collector.ts";

/** The lookup worker's module, for a test that runs it with a fault injected. */
export const LOOKUP_WORKER_MODULE: URL = new URL("./lookup_worker.ts", import.meta.url);

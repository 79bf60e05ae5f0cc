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
  loadLibzmq,
  noCurve,
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

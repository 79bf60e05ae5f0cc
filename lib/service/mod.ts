/**
 * The service: the databases and their switch, the lookup pool, the HTTP threads, the
 * reloads and the stop, as one object ({@linkcode startService}); and the `serve` command
 * that runs it until a signal.
 *
 * @module
 */

export {
  Service,
  type ServiceContext,
  type ServiceOptions,
  startService,
  StartupError,
} from "./service.ts";
export { runServe } from "./serve_command.ts";
export { VERSION } from "./version.ts";

/**
 * The service: the databases and their switch, the lookup pool, the HTTP threads, the
 * reloads and the stop, as one object ({@linkcode startService}); and the `serve` command
 * that runs it until a signal.
 *
 * @module
 */

export { Service } from "./service.ts";
export { startService } from "./start_service.ts";
export { type ServiceContext, type ServiceOptions } from "./service_options.ts";
export { StartupError } from "./startup_error.ts";
export { runServe } from "./serve_command.ts";
export { VERSION } from "./version.ts";

/**
 * The command line of `geoipmq`: {@linkcode parseCommand} reads the arguments and the
 * environment into a {@linkcode Command}; a bad argument is a {@linkcode UsageError}.
 * Every flag has a `GEOIPMQ_*` variable; a flag wins over its variable, which wins over
 * the default.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./mod.ts";
 * const command = parseCommand(["--workers", "2"], {});
 * if (command.name === "serve") console.log(command.options.workers); // 2
 * ```
 *
 * @module
 */

export { type Command, parseCommand } from "./command.ts";
export { UsageError } from "./errors.ts";
export type { Env } from "./values.ts";
export type { ServeOptions } from "./serve_options.ts";
export type { QueryCurveFiles, QueryOptions } from "./query_options.ts";
export type { BrokerCommandOptions } from "./broker_options.ts";
export type { KeygenOptions } from "./keygen_options.ts";

/**
 * The command line of a script: `node:util`'s `parseArgs`, but a bad flag ends the script
 * with one line and exit code 2 instead of a stack trace.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * Parses a script's flags; on a bad one prints `NAME: reason` (and the usage, when given)
 * to stderr and exits 2.
 *
 * @example
 * ```ts
 * import { scriptArgs } from "./script_args.ts";
 * const { values } = scriptArgs("demo", { args: ["--runs", "3"], options: { runs: { type: "string" } } });
 * console.log(values.runs); // 3
 * ```
 *
 * @param name the script's name, for the message
 * @param config what `parseArgs` takes, and an optional usage text
 * @returns what `parseArgs` returns
 */
export function scriptArgs<T extends ParseArgsConfig>(
  name: string,
  config: T & { usage?: string },
): ReturnType<typeof parseArgs<T>> {
  const { usage, ...parse } = config;
  try {
    return parseArgs(parse as T);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`${name}: ${reason}${usage === undefined ? "" : `\n\n${usage}`}`);
    Deno.exit(2);
  }
}

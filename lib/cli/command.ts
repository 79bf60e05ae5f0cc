/**
 * The command line of `geoipmq` as one value: which subcommand, with its settled
 * options, or a text to print.
 *
 * @module
 */

import { type BrokerCommandOptions, parseBrokerOptions } from "./broker_options.ts";
import { UsageError } from "./errors.ts";
import { type KeygenOptions, parseKeygenOptions } from "./keygen_options.ts";
import { parseQueryOptions, type QueryOptions } from "./query_options.ts";
import { parseServeOptions, type ServeOptions } from "./serve_options.ts";
import { BROKER_USAGE, KEYGEN_USAGE, QUERY_USAGE, USAGE } from "./usage.ts";
import type { Env } from "./values.ts";

/** What the command line asks for. */
export type Command =
  | { name: "serve"; options: ServeOptions }
  | { name: "query"; options: QueryOptions }
  | { name: "broker"; options: BrokerCommandOptions }
  | { name: "keygen"; options: KeygenOptions }
  | { name: "help"; text: string }
  | { name: "version" };

/**
 * Reads the command line: `geoipmq [serve] [options]`, `geoipmq query ...`,
 * `geoipmq broker ...` or `geoipmq keygen ...`. The message of an error in a subcommand's
 * arguments starts with the subcommand, e.g. `query: --batch must be ...`.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command.ts";
 * const command = parseCommand(["query", "--json", "81.2.69.160"], {});
 * console.log(command.name); // "query"
 * console.log(parseCommand(["keygen", "--help"], {}).name); // "help"
 * ```
 *
 * @param args the command-line arguments, without the program name
 * @param env the environment
 * @returns the subcommand and its options, or the text `--help` prints, or `version`
 * @throws {UsageError} one line naming the bad flag, variable or value
 */
export function parseCommand(args: string[], env: Env): Command {
  const [first, ...rest] = args;
  switch (first) {
    case "query": {
      const options = inCommand("query", () => parseQueryOptions(rest, env));
      return options === "help" ? { name: "help", text: QUERY_USAGE } : { name: "query", options };
    }
    case "broker": {
      const options = inCommand("broker", () => parseBrokerOptions(rest, env));
      return options === "help"
        ? { name: "help", text: BROKER_USAGE }
        : { name: "broker", options };
    }
    case "keygen": {
      const options = inCommand("keygen", () => parseKeygenOptions(rest, env));
      return options === "help"
        ? { name: "help", text: KEYGEN_USAGE }
        : { name: "keygen", options };
    }
    default: {
      const options = parseServeOptions(first === "serve" ? rest : args, env);
      if (options === "help") return { name: "help", text: USAGE };
      if (options === "version") return { name: "version" };
      return { name: "serve", options };
    }
  }
}

/** Runs a subcommand's parser, starting the message of its usage errors with its name. */
function inCommand<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${name}: ${error.message}`, { cause: error });
  }
}

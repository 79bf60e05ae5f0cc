#!/usr/bin/env -S deno run --allow-read --allow-env --allow-ffi --allow-sys --allow-net
/**
 * geoipmq: answers "where is this IP address?" over ZeroMQ from a MaxMind database.
 * `geoipmq --help` lists the subcommands: serve (the default), query, broker, keygen.
 * Exit codes: 0 after a clean stop, 1 when the service cannot start (database, libzmq,
 * endpoint, CURVE keys) or stops on a failure, 2 for a bad flag or value.
 *
 * @module
 */

import { parseCommand, UsageError } from "./lib/cli/mod.ts";
import { runBroker, runQuery } from "./lib/client/mod.ts";
import { runKeygen } from "./lib/curve/mod.ts";
import { Logger, oneLine } from "./lib/log/mod.ts";
import { runServe, VERSION } from "./lib/service/mod.ts";

/**
 * Reads the command line and runs the subcommand it names.
 * @param args command-line arguments
 * @param env the environment (default: the process's)
 * @returns the exit code
 */
export async function main(args: string[], env = Deno.env.toObject()): Promise<number> {
  let command;
  try {
    command = parseCommand(args, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(oneLine(`geoipmq: ${error.message}`));
    return 2;
  }
  if (command.name === "help" || command.name === "version") {
    console.log(command.name === "help" ? command.text : `geoipmq ${VERSION}`);
    return 0;
  }
  const log = new Logger({ format: command.name === "serve" ? command.options.logFormat : "text" });
  try {
    switch (command.name) {
      case "serve":
        return await runServe(command.options, log);
      case "query":
        return await runQuery(command.options, {
          stdin: Deno.stdin.readable,
          print: (line) => console.log(line),
          error: (line) => console.error(line),
        });
      case "broker":
        return await runBroker(command.options, log);
      case "keygen":
        return await runKeygen(command.options, log);
    }
  } catch (error) {
    log.error("failed", `unexpected error: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

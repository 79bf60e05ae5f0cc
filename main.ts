#!/usr/bin/env -S deno run --allow-read --allow-env --allow-ffi --allow-sys --allow-net
/**
 * geoipmq: answers "where is this IP address?" over ZeroMQ from a MaxMind database.
 *
 * ```sh
 * deno run --allow-read --allow-env --allow-ffi --allow-sys main.ts --db GeoLite2-City.mmdb
 * deno run --allow-read --allow-write --allow-env --allow-ffi main.ts keygen --out server
 * ```
 *
 * Exit codes: 0 after a clean stop, 1 when the service cannot start (database, libzmq,
 * endpoint, CURVE keys) or stops on a failure, 2 for a bad flag or value.
 *
 * @module
 */

import {
  type Config,
  KEYGEN_USAGE,
  type KeygenConfig,
  parseConfig,
  parseKeygenConfig,
  USAGE,
  UsageError,
} from "./lib/cli/mod.ts";
import { KeygenError, writeKeyPair } from "./lib/curve/mod.ts";
import { runBroker, runQuery } from "./lib/client/mod.ts";
import { Logger } from "./lib/log/mod.ts";
import { loadLibzmq, noCurve, runServe, StartupError, VERSION } from "./lib/server/mod.ts";

/**
 * Runs the service until SIGINT or SIGTERM, or one of the subcommands `keygen`, `query`
 * and `broker`.
 *
 * @param args command-line arguments
 * @param log where events go
 * @returns the exit code
 */
export async function main(args: string[], log: Logger = new Logger()): Promise<number> {
  if (args[0] === "keygen") return await keygen(args.slice(1), log);
  if (args[0] === "query") {
    return await runQuery(args.slice(1), {
      stdin: Deno.stdin.readable,
      print: (line) => console.log(line),
      error: (line) => console.error(line),
      env: Deno.env.toObject(),
    });
  }
  if (args[0] === "broker") return await runBroker(args.slice(1), log);
  let config: Config;
  try {
    config = parseConfig(args, Deno.env.toObject());
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`geoipmq: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (config.help) {
    console.log(USAGE);
    return 0;
  }
  if (config.version) {
    console.log(`geoipmq ${VERSION}`);
    return 0;
  }
  if (config.logFormat === "json") log = new Logger({ format: "json" });
  return await runServe(config, log);
}

/**
 * `geoipmq keygen`: writes a CURVE key pair and prints its public key on stdout.
 *
 * @param args the arguments after `keygen`
 * @param log where the outcome goes
 * @returns the exit code: 0 when written, 1 when not, 2 for a bad flag
 */
async function keygen(args: string[], log: Logger): Promise<number> {
  let config: KeygenConfig;
  try {
    config = parseKeygenConfig(args, Deno.env.toObject());
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`geoipmq: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (config.help) {
    console.log(KEYGEN_USAGE);
    return 0;
  }
  try {
    const lib = loadLibzmq(config.libzmq);
    if (!lib.has("curve")) throw new StartupError(`Cannot make a key pair: ${noCurve(lib)}`);
    const pair = await writeKeyPair(lib, config.out);
    console.log(pair.publicKey);
    log.info(
      "keygen",
      `wrote ${pair.secretPath} (secret key, mode 0600) and ${pair.publicPath} (public key)`,
      { secret_key_file: pair.secretPath, public_key_file: pair.publicPath },
    );
    return 0;
  } catch (error) {
    if (!(error instanceof StartupError || error instanceof KeygenError)) throw error;
    log.error("failed", error.message);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

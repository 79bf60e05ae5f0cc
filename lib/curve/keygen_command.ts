/**
 * `geoipmq keygen`: writes a CURVE key pair and prints its public key on stdout.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import { type Libzmq, openLibzmq } from "../zmq/mod.ts";
import { KeygenError, writeKeyPair } from "./keygen.ts";

/** The options of `geoipmq keygen`. */
export interface KeygenOptions {
  /** The files are `<out>.key` and `<out>.pub`. */
  out: string;
  /** A libzmq to load instead of the bundled one. */
  libzmq: string | undefined;
}

/**
 * Runs `geoipmq keygen`: makes a key pair with libzmq, writes `PREFIX.key` and
 * `PREFIX.pub`, prints the public key and logs the files written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger } from "../log/mod.ts";
 * import { runKeygen } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const options = { out: `${dir}/server`, libzmq: undefined };
 * assert.equal(await runKeygen(options, new Logger()), 0); // prints the public key
 * assert.equal(await runKeygen(options, new Logger()), 1); // the files exist: logs why
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param options where to write, and the libzmq to use
 * @param log where the outcome goes
 * @returns the exit code: 0 when written, 1 when not
 */
export async function runKeygen(options: KeygenOptions, log: Logger): Promise<number> {
  let lib: Libzmq;
  try {
    lib = openLibzmq(options.libzmq);
  } catch (error) {
    log.error("failed", (error as Error).message);
    return 1;
  }
  if (!lib.has("curve")) {
    log.error(
      "failed",
      `Cannot make a key pair: libzmq ${lib.version()} from "${lib.path}" was built without CURVE`,
    );
    return 1;
  }
  try {
    const pair = await writeKeyPair(lib, options.out);
    console.log(pair.publicKey);
    log.info(
      "keygen",
      `wrote ${pair.secretPath} (secret key, mode 0600) and ${pair.publicPath} (public key)`,
      { secret_key_file: pair.secretPath, public_key_file: pair.publicPath },
    );
    return 0;
  } catch (error) {
    if (!(error instanceof KeygenError)) throw error;
    log.error("failed", error.message);
    return 1;
  }
}

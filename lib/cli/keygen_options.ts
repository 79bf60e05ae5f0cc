/**
 * The options of `geoipmq keygen`, which writes a CURVE key pair.
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import { userPath } from "./paths.ts";
import { type Env, LIBZMQ_AND_HELP, parseCommandFlags } from "./values.ts";
import type { KeygenOptions } from "../curve/mod.ts";
export type { KeygenOptions };

/** The default file name prefix of `geoipmq keygen`. */
export const DEFAULT_KEY_PREFIX = "geoipmq";

const FLAGS = {
  out: { type: "string" },
  ...LIBZMQ_AND_HELP,
} as const;

/**
 * Settles the options of `geoipmq keygen` from its arguments (those after `keygen`) and
 * the environment (`GEOIPMQ_LIBZMQ`; `INIT_CWD` for a relative `--out`).
 *
 * @example
 * ```ts
 * import { parseKeygenOptions } from "./keygen_options.ts";
 * console.log(parseKeygenOptions(["--out", "/etc/geoipmq/server"], {})); // { out: "/etc/geoipmq/server", libzmq: undefined }
 * ```
 *
 * @param args the arguments after `keygen`
 * @param env the environment
 * @returns the options, or `"help"` when `--help` was given
 * @throws {UsageError} for an unknown flag, a missing or empty value, an extra argument
 */
export function parseKeygenOptions(args: string[], env: Env): KeygenOptions | "help" {
  const values = parseCommandFlags(args, FLAGS);
  if (values === "help") return values;
  const out = values.out ?? DEFAULT_KEY_PREFIX;
  if (out === "") throw new UsageError("--out must not be empty");
  const libzmq = values.libzmq ?? env.GEOIPMQ_LIBZMQ;
  if (libzmq === "") throw new UsageError("--libzmq (GEOIPMQ_LIBZMQ) must not be empty");
  return { out: userPath(out, env), libzmq };
}

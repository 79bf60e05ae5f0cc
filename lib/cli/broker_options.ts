/**
 * The options of `geoipmq broker`, the scale-out broker.
 *
 * @module
 */

import type { BrokerCommandOptions } from "../client/mod.ts";
import { UsageError } from "./errors.ts";
export type { BrokerCommandOptions };
import {
  checkEndpoint,
  commaList,
  type Env,
  LIBZMQ_AND_HELP,
  parseCommandFlags,
  wholeNumber,
} from "./values.ts";
import { DEFAULT_LIMITS } from "../protocol/mod.ts";

const FLAGS = {
  frontend: { type: "string", multiple: true },
  backend: { type: "string", multiple: true },
  "max-request-bytes": { type: "string" },
  ...LIBZMQ_AND_HELP,
} as const;

/**
 * Settles the options of `geoipmq broker` from its arguments (those after `broker`) and
 * the environment (`GEOIPMQ_BROKER_FRONTEND`, `GEOIPMQ_BROKER_BACKEND`, comma-separated
 * lists, and `GEOIPMQ_LIBZMQ`).
 *
 * @example
 * ```ts
 * import { parseBrokerOptions } from "./broker_options.ts";
 * const options = parseBrokerOptions(["--frontend", "tcp://*:5555", "--backend", "tcp://*:5556"], {});
 * if (options !== "help") console.log(options.frontend, options.backend); // ["tcp://*:5555"] ["tcp://*:5556"]
 * ```
 *
 * @param args the arguments after `broker`
 * @param env the environment
 * @returns the options, or `"help"` when `--help` was given
 * @throws {UsageError} for an unknown flag, a missing or bad value
 */
export function parseBrokerOptions(args: string[], env: Env): BrokerCommandOptions | "help" {
  const values = parseCommandFlags(args, FLAGS);
  if (values === "help") return values;
  const frontend = values.frontend ?? commaList(env.GEOIPMQ_BROKER_FRONTEND) ?? [];
  const backend = values.backend ?? commaList(env.GEOIPMQ_BROKER_BACKEND) ?? [];
  if (frontend.length === 0) {
    throw new UsageError("needs --frontend ENDPOINT (GEOIPMQ_BROKER_FRONTEND)");
  }
  if (backend.length === 0) {
    throw new UsageError("needs --backend ENDPOINT (GEOIPMQ_BROKER_BACKEND)");
  }
  for (const endpoint of frontend) checkEndpoint(endpoint, "--frontend");
  for (const endpoint of backend) checkEndpoint(endpoint, "--backend");
  const libzmq = values.libzmq ?? env.GEOIPMQ_LIBZMQ;
  if (libzmq === "") throw new UsageError("--libzmq (GEOIPMQ_LIBZMQ) must not be empty");
  const maxRequestBytes = wholeNumber("--max-request-bytes", {
    value: values["max-request-bytes"] ?? env.GEOIPMQ_MAX_REQUEST_BYTES,
    min: 16,
    max: 64 * 1024 * 1024,
    fallback: DEFAULT_LIMITS.maxRequestBytes,
  });
  return { frontend, backend, libzmq, maxRequestBytes };
}

/**
 * The options of `geoipmq query`, which asks a running service by hand.
 *
 * @module
 */

import type { QueryCurveFiles, QueryOptions } from "../client/mod.ts";
import { FALLBACK_LANGUAGE, parseFieldList, parseLanguageList } from "../protocol/mod.ts";
import { UsageError } from "./errors.ts";
export type { QueryCurveFiles, QueryOptions };
import { userPath } from "./paths.ts";
import { DEFAULT_BIND } from "./serve_options.ts";
import { checkEndpoint, commaList, type Env, parseFlags, wholeNumber } from "./values.ts";

/** The default time `geoipmq query` waits for one reply, in milliseconds. */
export const DEFAULT_QUERY_TIMEOUT_MS = 2000;

/** The default number of times `geoipmq query` sends a request before giving up. */
export const DEFAULT_QUERY_ATTEMPTS = 3;

/** The default number of addresses per request of `geoipmq query`. */
export const DEFAULT_QUERY_BATCH = 100;

/** The most addresses per request of `geoipmq query` (the service's default limit). */
export const MAX_QUERY_BATCH = 1000;

const FLAGS = {
  endpoint: { type: "string", multiple: true },
  db: { type: "string", multiple: true },
  lang: { type: "string" },
  fields: { type: "string" },
  json: { type: "boolean" },
  info: { type: "boolean" },
  "timeout-ms": { type: "string" },
  attempts: { type: "string" },
  batch: { type: "string" },
  libzmq: { type: "string" },
  "curve-server-key-file": { type: "string" },
  "curve-secret-key-file": { type: "string" },
  help: { type: "boolean" },
} as const;

/**
 * Settles the options of `geoipmq query` from its arguments (those after `query`) and the
 * environment (`GEOIPMQ_ENDPOINT`, a comma-separated list, and `GEOIPMQ_LIBZMQ`).
 *
 * @example
 * ```ts
 * import { parseQueryOptions } from "./query_options.ts";
 * const options = parseQueryOptions(["--json", "81.2.69.160"], {});
 * if (options !== "help") console.log(options.endpoints, options.ips); // ["tcp://127.0.0.1:5555"] ["81.2.69.160"]
 * ```
 *
 * @param args the arguments after `query`
 * @param env the environment
 * @returns the options, or `"help"` when `--help` was given
 * @throws {UsageError} for an unknown flag, a missing or bad value
 */
export function parseQueryOptions(args: string[], env: Env): QueryOptions | "help" {
  const { values, positionals } = parseFlags(args, FLAGS);
  if (values.help === true) return "help";
  const databases = values.db ?? [];
  if (databases.length > 0 && values.endpoint !== undefined) {
    throw new UsageError("--db answers from files, --endpoint asks a service: give one of them");
  }
  if (databases.some((path) => path === "")) throw new UsageError("--db must not be empty");
  const languages = parseLanguageList(values.lang ?? FALLBACK_LANGUAGE);
  if (!languages.ok) throw new UsageError(`--lang: ${languages.reason}`);
  const fields = values.fields === undefined ? undefined : parseFieldList(values.fields);
  if (fields !== undefined && !fields.ok) throw new UsageError(`--fields: ${fields.reason}`);
  if (fields !== undefined && values.json === true) {
    throw new UsageError("--fields and --json choose two answers: give one of them");
  }
  const endpoints = values.endpoint ?? commaList(env.GEOIPMQ_ENDPOINT) ?? [DEFAULT_BIND];
  if (endpoints.length === 0) {
    throw new UsageError("--endpoint (GEOIPMQ_ENDPOINT) names no endpoint");
  }
  for (const endpoint of endpoints) checkEndpoint(endpoint, "--endpoint");
  const nonEmpty = (flag: keyof typeof FLAGS, value: string | undefined) => {
    if (value === "") throw new UsageError(`--${flag} must not be empty`);
    return value;
  };
  const serverKeyFile = nonEmpty("curve-server-key-file", values["curve-server-key-file"]);
  const secretKeyFile = nonEmpty("curve-secret-key-file", values["curve-secret-key-file"]);
  if ((serverKeyFile === undefined) !== (secretKeyFile === undefined)) {
    throw new UsageError(
      "--curve-server-key-file and --curve-secret-key-file go together: " +
        "the service's public key and this client's secret key",
    );
  }
  const libzmq = values.libzmq ?? env.GEOIPMQ_LIBZMQ;
  if (libzmq === "") throw new UsageError("--libzmq (GEOIPMQ_LIBZMQ) must not be empty");
  return {
    endpoints,
    databases: databases.map((path) => userPath(path, env)),
    languages: languages.value,
    fields: values.fields,
    json: values.json === true,
    info: values.info === true,
    timeoutMs: wholeNumber("--timeout-ms", {
      value: values["timeout-ms"],
      min: 1,
      max: 3_600_000,
      fallback: DEFAULT_QUERY_TIMEOUT_MS,
    }),
    attempts: wholeNumber("--attempts", {
      value: values.attempts,
      min: 1,
      max: 100,
      fallback: DEFAULT_QUERY_ATTEMPTS,
    }),
    batch: wholeNumber("--batch", {
      value: values.batch,
      min: 1,
      max: MAX_QUERY_BATCH,
      fallback: DEFAULT_QUERY_BATCH,
    }),
    ips: positionals,
    libzmq,
    curve: serverKeyFile === undefined || secretKeyFile === undefined ? undefined : {
      serverKeyFile: userPath(serverKeyFile, env),
      secretKeyFile: userPath(secretKeyFile, env),
    },
  };
}

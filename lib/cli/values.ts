/**
 * The value readers every subcommand shares: strict flag parsing with one-line errors,
 * whole numbers within bounds, endpoints, HTTP addresses, on/off variables and
 * comma-separated lists. Each failure is a {@linkcode UsageError} of one line.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "./errors.ts";

/** The environment, as the parsers read it. */
export type Env = Record<string, string | undefined>;

/**
 * Parses flags strictly (`node:util` `parseArgs`): an unknown flag, a missing value or a
 * value for a switch is a {@linkcode UsageError} of one line.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./values.ts";
 * const { values } = parseFlags(["--out", "x"], { out: { type: "string" } });
 * console.log(values.out); // "x"
 * ```
 *
 * @param args the arguments
 * @param options the flags, as `parseArgs` takes them
 * @returns the values and the positional arguments
 * @throws {UsageError} for a malformed command line
 */
export function parseFlags<T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error), { cause: error });
  }
}

/** The flags of every subcommand that opens libzmq: `--libzmq` and `--help`. */
export const LIBZMQ_AND_HELP = {
  libzmq: { type: "string" },
  help: { type: "boolean" },
} as const;

/**
 * Parses the flags of a subcommand that takes no positional arguments and has `--help`.
 *
 * @example
 * ```ts
 * import { parseCommandFlags } from "./values.ts";
 * const flags = { out: { type: "string" }, help: { type: "boolean" } } as const;
 * console.log(parseCommandFlags(["--help"], flags)); // "help"
 * ```
 *
 * @param args the arguments after the subcommand's name
 * @param options the flags, as `parseArgs` takes them, with `help`
 * @returns the values, or `"help"` when `--help` was given
 * @throws {UsageError} for a malformed command line or a positional argument
 */
export function parseCommandFlags<T extends ParseArgsOptionsConfig & { help: { type: "boolean" } }>(
  args: string[],
  options: T,
) {
  const { values, positionals } = parseFlags(args, options);
  if ((values as { help?: boolean }).help === true) return "help";
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return values;
}

/**
 * Turns an error of `parseArgs` into one line.
 *
 * @param error what `parseArgs` threw
 * @returns e.g. `unknown option --colour (see --help)`, `--db needs a value`
 */
export function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = message.match(/^Unknown option '([^']+)'/);
  if (unknown) return `unknown option ${unknown[1]} (see --help)`;
  const missing = message.match(/^Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/);
  if (missing) return `${missing[1]} needs a value`;
  const ambiguous = message.match(/^Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/);
  if (ambiguous) {
    return `${ambiguous[1]} needs a value; for one that starts with "-", write ${
      ambiguous[1]
    }=VALUE`;
  }
  const noValue = message.match(/^Option '(--[\w-]+)' does not take an argument/);
  if (noValue) return `${noValue[1]} takes no value`;
  return message.split(/[.\n]/)[0] ?? message;
}

/** Bounds and default of a whole number read by {@linkcode wholeNumber}. */
export interface WholeNumberBounds {
  /** The smallest value accepted. */
  min: number;
  /** The largest value accepted. */
  max: number;
  /** The value when none is given. */
  fallback: number;
}

/**
 * Reads a whole number within bounds.
 *
 * @example
 * ```ts
 * import { wholeNumber } from "./values.ts";
 * console.log(wholeNumber("--workers", { value: "4", min: 1, max: 256, fallback: 2 })); // 4
 * console.log(wholeNumber("--workers", { value: undefined, min: 1, max: 256, fallback: 2 })); // 2
 * ```
 *
 * @param flag the flag named in an error, e.g. `--workers`
 * @param bounds the text read (undefined when none), the bounds and the default
 * @returns the number
 * @throws {UsageError} when it is not a whole number within the bounds
 */
export function wholeNumber(
  flag: string,
  bounds: WholeNumberBounds & { value: string | undefined },
): number {
  const { value } = bounds;
  if (value === undefined) return bounds.fallback;
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`${flag} must be a whole number, got "${value}"`);
  }
  const number = Number(value);
  if (number < bounds.min || number > bounds.max) {
    throw new UsageError(`${flag} must be from ${bounds.min} to ${bounds.max}, got ${value}`);
  }
  return number;
}

/**
 * Reads an on/off environment variable.
 *
 * @param name the variable, named in an error
 * @param value its value: unset, empty, `0` and `false` are off; `1` and `true` are on
 * @returns whether it is on
 * @throws {UsageError} for any other value
 */
export function booleanVariable(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new UsageError(`${name} must be 1 or 0, got "${value}"`);
}

/**
 * Splits a comma-separated variable into its items, trimmed, blanks left out.
 *
 * @param value the variable's value, or undefined when unset
 * @returns the items, or undefined when unset
 */
export function commaList(value: string | undefined): string[] | undefined {
  return value?.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/**
 * Reads an HTTP listening address.
 *
 * @example
 * ```ts
 * import { httpAddress } from "./values.ts";
 * console.log(httpAddress("127.0.0.1:8080")); // { hostname: "127.0.0.1", port: 8080 }
 * console.log(httpAddress(":8080")); // { hostname: "0.0.0.0", port: 8080 }
 * ```
 *
 * @param value `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (all interfaces), or undefined
 * @returns the host and port, or undefined for no HTTP
 * @throws {UsageError} when it is not such an address
 */
export function httpAddress(
  value: string | undefined,
): { hostname: string; port: number } | undefined {
  if (value === undefined) return undefined;
  const match = value.match(/^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d+)$/);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new UsageError(`--http "${value}" is not an address like 127.0.0.1:8080`);
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/**
 * Checks the form of an endpoint; libzmq checks the rest when binding or connecting.
 *
 * @example
 * ```ts
 * import { checkEndpoint } from "./values.ts";
 * checkEndpoint("tcp://127.0.0.1:5555", "--bind"); // fine
 * try {
 *   checkEndpoint("127.0.0.1:5555", "--endpoint");
 * } catch (error) {
 *   console.log((error as Error).message); // --endpoint "127.0.0.1:5555" is not an endpoint like ...
 * }
 * ```
 *
 * @param endpoint e.g. `tcp://127.0.0.1:5555`, `tcp://[::1]:*`, `ipc:///run/geoipmq.sock`
 * @param flag the flag named in an error, e.g. `--bind`
 * @throws {UsageError} when it is not a `tcp://host:port` or `ipc://path` endpoint
 */
export function checkEndpoint(endpoint: string, flag: string): void {
  const tcp = endpoint.match(/^tcp:\/\/(.+):(\d+|\*)$/);
  if (tcp) {
    const port = tcp[2] === "*" ? 0 : Number(tcp[2]);
    if (port > 65535) throw new UsageError(`${flag} "${endpoint}": port out of range`);
    return;
  }
  if (/^ipc:\/\/.+/.test(endpoint)) return;
  throw new UsageError(
    `${flag} "${endpoint}" is not an endpoint like tcp://127.0.0.1:5555 or ipc:///path`,
  );
}

/**
 * The soak's flags: their parsing, their usage text, and the exit on a bad one.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The usage text of `deno task soak`. */
export const USAGE = `Usage: deno task soak [options]

Runs geoipmq under steady load while reloading its database and restarting its clients;
reports requests, errors and resident memory.

  --minutes M        how long to run (default 5)
  --seconds S        how long to run, in seconds (instead of --minutes)
  --rate N           requests a second, 0 for as many as possible (default 2000)
  --clients N        client sockets, half REQ and half DEALER (default 4)
  --workers N        the service's --workers (default 2)
  --reload-every S   seconds between database reloads (default 20)
  --restart-every S  seconds between client restarts (default 3)
  --warmup S         seconds before the first memory reading (default 15)
  --db PATH          .mmdb or .mmdb.gz to serve (default: the bundled GeoLite2-City)
  --seed N           seed of the address PRNG (default 1)
  --help             print this text
`;

/** The soak's settings. */
export interface Options {
  /** How long to run. */
  durationMs: number;
  /** Requests a second, 0 for as many as possible. */
  rate: number;
  /** Client sockets, half REQ and half DEALER. */
  clients: number;
  /** The service's `--workers`. */
  workers: number;
  /** Time between database reloads. */
  reloadEveryMs: number;
  /** Time between client restarts. */
  restartEveryMs: number;
  /** Time before the first memory reading. */
  warmupMs: number;
  /** The `.mmdb` or `.mmdb.gz` to serve, or the bundled database. */
  db: string | undefined;
  /** The seed of the address PRNG. */
  seed: number;
}

/**
 * @param args the command line
 * @returns the settings, or "help" for `--help`
 * @throws {Error} naming a bad flag's value
 */
export function parseOptions(args: string[]): Options | "help" {
  const { values } = parseArgs({
    args,
    options: {
      minutes: { type: "string", default: "5" },
      seconds: { type: "string" },
      rate: { type: "string", default: "2000" },
      clients: { type: "string", default: "4" },
      workers: { type: "string", default: "2" },
      "reload-every": { type: "string", default: "20" },
      "restart-every": { type: "string", default: "3" },
      warmup: { type: "string", default: "15" },
      db: { type: "string" },
      seed: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const number = (name: string, text: string, min: number, max: number): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  const durationMs = values.seconds !== undefined
    ? number("seconds", values.seconds, 5, 7 * 86400) * 1000
    : number("minutes", values.minutes, 0.1, 7 * 1440) * 60_000;
  const warmupMs = Math.min(number("warmup", values.warmup, 0, 3600) * 1000, durationMs / 4);
  return {
    durationMs,
    rate: number("rate", values.rate, 0, 1_000_000),
    clients: Math.round(number("clients", values.clients, 1, 256)),
    workers: Math.round(number("workers", values.workers, 1, 256)),
    reloadEveryMs: number("reload-every", values["reload-every"], 2, 86400) * 1000,
    restartEveryMs: number("restart-every", values["restart-every"], 0.5, 86400) * 1000,
    warmupMs,
    db: values.db,
    seed: Math.round(number("seed", values.seed, 0, 2 ** 32 - 1)),
  };
}

/** The soak's options; on `--help` or a bad flag, prints the usage and exits. */
export function optionsOrExit(args: string[]): Options {
  const parsed = (() => {
    try {
      return parseOptions(args);
    } catch (error) {
      return error as Error;
    }
  })();
  if (parsed === "help") console.log(USAGE);
  else if (parsed instanceof Error) console.error(`soak: ${parsed.message}\n\n${USAGE}`);
  else return parsed;
  return Deno.exit(parsed === "help" ? 0 : 2);
}

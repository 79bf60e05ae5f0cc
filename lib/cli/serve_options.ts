/**
 * The options of `geoipmq` (`geoipmq serve`): every flag has a `GEOIPMQ_*` variable; a
 * flag wins over its variable, which wins over the default.
 *
 * @module
 */

import {
  CorsPolicy,
  DEFAULT_HTTP_LIMITS,
  type HttpRoutesLimits,
  TrustedProxies,
} from "../http/mod.ts";
import {
  DEFAULT_LIMITS,
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_OUTBOUND_BYTES,
  FALLBACK_LANGUAGE,
  MIB,
  parseLanguageList,
} from "../protocol/mod.ts";
import type { ServiceOptions } from "../service/mod.ts";
import { UsageError } from "./errors.ts";
import { userPath } from "./paths.ts";
import {
  booleanVariable,
  checkEndpoint,
  commaList,
  type Env,
  httpAddress,
  parseFlags,
  wholeNumber,
} from "./values.ts";

/**
 * The settled options of a server run: what the service takes (its `ServiceOptions`,
 * every field documented there), and how to log.
 */
export interface ServeOptions extends ServiceOptions {
  /** Endpoints to bind. */
  bind: string[];
  /** Endpoints to connect to, e.g. a broker's back end. */
  connect: string[];
  /** How log lines are written. */
  logFormat: "text" | "json";
  /** HTTP's connection cap (absent: derived from the open-file limit) and deadlines. */
  httpLimits: HttpRoutesLimits;
}

/**
 * The default memory for the caches of rendered answers, in MiB, for the whole process
 * (divided among the workers): what their entries really cost, measured. Answers are
 * written from the database bytes, so a miss is cheap for `geoip`; a few MiB per worker
 * keep the `json` records that traffic repeats (see docs/BENCHMARKS.md).
 */
export const DEFAULT_CACHE_MB = 4;

/**
 * The default threads serving HTTP: the main thread and one HTTP worker, so that HTTP
 * answers are written from two threads at once.
 */
export const DEFAULT_HTTP_THREADS = 2;

/** The default endpoint of the service (and of `geoipmq query`). */
export const DEFAULT_BIND = "tcp://127.0.0.1:5555";

/** The default messages queued per client connection each way. */
export const DEFAULT_HWM = 1000;

/** The subcommands, which must come before any flag. */
const COMMAND_WORDS = ["serve", "query", "broker", "keygen"];

const FLAGS = {
  db: { type: "string", multiple: true },
  lang: { type: "string" },
  bind: { type: "string", multiple: true },
  connect: { type: "string", multiple: true },
  workers: { type: "string" },
  libzmq: { type: "string" },
  "max-request-bytes": { type: "string" },
  "max-addresses": { type: "string" },
  hwm: { type: "string" },
  "max-inbound-mb": { type: "string" },
  "max-outbound-mb": { type: "string" },
  "rate-limit": { type: "string" },
  "curve-secret-key-file": { type: "string" },
  "curve-allow-file": { type: "string" },
  "cache-mb": { type: "string" },
  watch: { type: "boolean" },
  http: { type: "string" },
  "http-max-connections": { type: "string" },
  "http-header-timeout-ms": { type: "string" },
  "http-request-timeout-ms": { type: "string" },
  "http-threads": { type: "string" },
  "http-cors-origin": { type: "string", multiple: true },
  "http-trusted-proxy": { type: "string", multiple: true },
  "http-tls-cert": { type: "string" },
  "http-tls-key": { type: "string" },
  "log-format": { type: "string" },
  help: { type: "boolean" },
  version: { type: "boolean" },
} as const;

/**
 * Settles the options of a server run from the command line and the environment.
 * Relative paths are resolved against `INIT_CWD` when it is set (see `paths.ts`).
 *
 * @example
 * ```ts
 * import { parseServeOptions } from "./serve_options.ts";
 * const options = parseServeOptions(["--bind", "tcp://127.0.0.1:6000"], { GEOIPMQ_WORKERS: "2" });
 * if (typeof options === "object") console.log(options.bind, options.workers); // ["tcp://127.0.0.1:6000"] 2
 * ```
 *
 * @param args the arguments (after `serve`, when given)
 * @param env the environment
 * @returns the options, or `"help"` / `"version"` when `--help` / `--version` was given
 * @throws {UsageError} for an unknown flag, a missing or bad value
 */
export function parseServeOptions(args: string[], env: Env): ServeOptions | "help" | "version" {
  const { values, positionals } = parseFlags(args, FLAGS);
  if (values.help === true) return "help";
  if (values.version === true) return "version";
  refuseStray(positionals);
  const flags = new FlagReader(values, env);
  const endpoints = readEndpoints(values, env);
  const curve = readCurveFiles(flags);
  const databases = readDatabases(flags);
  const { http, ...httpExtras } = readHttp(flags);
  return {
    ...databases,
    ...endpoints,
    // Not resolved: a bare name such as libzmq.so.5 is looked up by the dynamic loader.
    libzmq: flags.text("libzmq", "GEOIPMQ_LIBZMQ"),
    ...readWorkersAndLimits(flags),
    ...curve,
    ...readCache(flags),
    http,
    httpLimits: readHttpLimits(flags),
    ...httpExtras,
    httpThreads: flags.number("http-threads", "GEOIPMQ_HTTP_THREADS", {
      min: 1,
      max: 64,
      fallback: DEFAULT_HTTP_THREADS,
    }),
    logFormat: logFormat(flags.text("log-format", "GEOIPMQ_LOG_FORMAT")),
  };
}

/** A flag's name. */
type Flag = keyof typeof FLAGS;
/** The flags as given on the command line. */
type FlagValues = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

/** Reads a flag, or its variable when the flag is not given. */
class FlagReader {
  readonly values: FlagValues;
  readonly env: Env;

  constructor(values: FlagValues, env: Env) {
    this.values = values;
    this.env = env;
  }

  /** The flag's text, else its variable's; an empty one is refused. */
  text(flag: Flag, variable: string): string | undefined {
    const value = this.values[flag] as string | undefined ?? this.env[variable];
    if (value === "") throw new UsageError(`--${flag} (${variable}) must not be empty`);
    return value;
  }

  /** A path, resolved against `INIT_CWD` when it is set. */
  path(flag: Flag, variable: string): string | undefined {
    const value = this.text(flag, variable);
    return value === undefined ? undefined : userPath(value, this.env);
  }

  /** A whole number within bounds, or the fallback. */
  number(flag: Flag, variable: string, bounds: { min: number; max: number; fallback: number }) {
    return wholeNumber(`--${flag}`, { value: this.text(flag, variable), ...bounds });
  }

  /** A list given as repeated flags or commas; an empty item is refused. */
  list(flag: "http-cors-origin" | "http-trusted-proxy", variable: string): string[] | undefined {
    const given = this.values[flag]?.flatMap((value) => value.split(",")) ??
      commaList(this.env[variable]);
    if (given === undefined) return undefined;
    const items = given.map((item) => item.trim());
    if (items.length === 0 || items.some((item) => item === "")) {
      throw new UsageError(`--${flag} (${variable}) names an empty item`);
    }
    return items;
  }
}

/** Refuses an argument that is not a flag: a subcommand out of place, or a stray word. */
function refuseStray(positionals: string[]): void {
  const [stray] = positionals;
  if (stray === undefined) return;
  if (COMMAND_WORDS.includes(stray)) {
    throw new UsageError(`"${stray}" must come first: geoipmq ${stray} [options]`);
  }
  throw new UsageError(`unexpected argument "${stray}"`);
}

/** `--bind` and `--connect`: at least one endpoint in all, each one checked. */
function readEndpoints(values: FlagValues, env: Env): { bind: string[]; connect: string[] } {
  const connect = values.connect ?? commaList(env.GEOIPMQ_CONNECT) ?? [];
  for (const endpoint of connect) checkEndpoint(endpoint, "--connect");
  // With --connect alone (an instance behind a broker) nothing is bound by default.
  const bind = values.bind ?? commaList(env.GEOIPMQ_BIND) ??
    (connect.length > 0 ? [] : [DEFAULT_BIND]);
  if (bind.length === 0 && connect.length === 0) {
    throw new UsageError("--bind (GEOIPMQ_BIND) names no endpoint");
  }
  for (const endpoint of bind) checkEndpoint(endpoint, "--bind");
  return { bind, connect };
}

/** The CURVE files: both or neither. */
function readCurveFiles(flags: FlagReader) {
  const curveSecretKeyFile = flags.path("curve-secret-key-file", "GEOIPMQ_CURVE_SECRET_KEY_FILE");
  const curveAllowFile = flags.path("curve-allow-file", "GEOIPMQ_CURVE_ALLOW_FILE");
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
  return { curveSecretKeyFile, curveAllowFile };
}

/** `--db` (paths resolved) and `--lang`. */
function readDatabases(flags: FlagReader): { db: string[]; languages: string[] } {
  const { values, env } = flags;
  const databases = values.db ?? commaList(env.GEOIPMQ_DB) ?? [];
  if (databases.some((database) => database === "") || env.GEOIPMQ_DB === "") {
    throw new UsageError("--db (GEOIPMQ_DB) must not be empty");
  }
  const languages = parseLanguageList(flags.text("lang", "GEOIPMQ_LANG") ?? FALLBACK_LANGUAGE);
  if (!languages.ok) throw new UsageError(`--lang (GEOIPMQ_LANG): ${languages.reason}`);
  return { db: databases.map((database) => userPath(database, env)), languages: languages.value };
}

/** The lookup workers, the request limits, the queues, the budgets and the rate limit. */
function readWorkersAndLimits(flags: FlagReader) {
  return {
    workers: flags.number("workers", "GEOIPMQ_WORKERS", {
      min: 1,
      max: 256,
      fallback: Math.max(1, navigator.hardwareConcurrency),
    }),
    maxRequestBytes: flags.number("max-request-bytes", "GEOIPMQ_MAX_REQUEST_BYTES", {
      min: 16,
      max: 64 * MIB,
      fallback: DEFAULT_LIMITS.maxRequestBytes,
    }),
    maxAddresses: flags.number("max-addresses", "GEOIPMQ_MAX_ADDRESSES", {
      min: 1,
      max: 100_000,
      fallback: DEFAULT_LIMITS.maxAddresses,
    }),
    hwm: flags.number("hwm", "GEOIPMQ_HWM", { min: 1, max: 10_000_000, fallback: DEFAULT_HWM }),
    maxInboundMb: flags.number("max-inbound-mb", "GEOIPMQ_MAX_INBOUND_MB", {
      min: 0,
      max: 1024 * 1024,
      fallback: DEFAULT_MAX_INBOUND_BYTES / MIB,
    }),
    maxOutboundMb: flags.number("max-outbound-mb", "GEOIPMQ_MAX_OUTBOUND_MB", {
      min: 0,
      max: 1024 * 1024,
      fallback: DEFAULT_MAX_OUTBOUND_BYTES / MIB,
    }),
    rateLimit: flags.number("rate-limit", "GEOIPMQ_RATE_LIMIT", {
      min: 0,
      max: 100_000_000,
      fallback: 0,
    }),
  };
}

/** The answer caches' memory and `--watch`. */
function readCache(flags: FlagReader): { cacheMb: number; watch: boolean } {
  return {
    cacheMb: flags.number("cache-mb", "GEOIPMQ_CACHE_MB", {
      min: 0,
      max: 64 * 1024,
      fallback: DEFAULT_CACHE_MB,
    }),
    watch: flags.values.watch === true ||
      booleanVariable("GEOIPMQ_WATCH", flags.env.GEOIPMQ_WATCH),
  };
}

/**
 * `--http` and what goes with it: CORS origins, trusted proxies, the TLS pair (both or
 * neither); each of those needs `--http`.
 */
function readHttp(flags: FlagReader) {
  const corsOrigins = flags.list("http-cors-origin", "GEOIPMQ_HTTP_CORS_ORIGIN");
  const trustedProxies = flags.list("http-trusted-proxy", "GEOIPMQ_HTTP_TRUSTED_PROXY");
  try {
    if (corsOrigins !== undefined) CorsPolicy.parse(corsOrigins);
  } catch (error) {
    throw new UsageError(
      `--http-cors-origin (GEOIPMQ_HTTP_CORS_ORIGIN): ${(error as Error).message}`,
    );
  }
  try {
    if (trustedProxies !== undefined) TrustedProxies.parse(trustedProxies);
  } catch (error) {
    throw new UsageError(
      `--http-trusted-proxy (GEOIPMQ_HTTP_TRUSTED_PROXY): ${(error as Error).message}`,
    );
  }
  const tls = readTlsPair(flags);
  const http = httpAddress(flags.text("http", "GEOIPMQ_HTTP"));
  const httpOnly = (given: boolean, flag: string) => {
    if (given && http === undefined) throw new UsageError(`${flag} needs --http (GEOIPMQ_HTTP)`);
  };
  httpOnly(corsOrigins !== undefined, "--http-cors-origin");
  httpOnly(trustedProxies !== undefined, "--http-trusted-proxy");
  httpOnly(tls !== undefined, "--http-tls-cert");
  return {
    http,
    ...(corsOrigins === undefined ? {} : { httpCorsOrigins: corsOrigins }),
    ...(trustedProxies === undefined ? {} : { httpTrustedProxies: trustedProxies }),
    ...(tls === undefined ? {} : { httpTls: tls }),
  };
}

/** `--http-tls-cert` and `--http-tls-key`: both or neither. */
function readTlsPair(flags: FlagReader): { certFile: string; keyFile: string } | undefined {
  const certFile = flags.path("http-tls-cert", "GEOIPMQ_HTTP_TLS_CERT");
  const keyFile = flags.path("http-tls-key", "GEOIPMQ_HTTP_TLS_KEY");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(
      certFile === undefined
        ? "--http-tls-key needs --http-tls-cert (GEOIPMQ_HTTP_TLS_CERT): the certificate chain"
        : "--http-tls-cert needs --http-tls-key (GEOIPMQ_HTTP_TLS_KEY): the private key",
    );
  }
  return certFile === undefined || keyFile === undefined ? undefined : { certFile, keyFile };
}

/** The HTTP limits given; the cap is left out when not given (the HTTP routes derive it). */
function readHttpLimits(flags: FlagReader): HttpRoutesLimits {
  const limits: HttpRoutesLimits = {
    headerTimeoutMs: flags.number("http-header-timeout-ms", "GEOIPMQ_HTTP_HEADER_TIMEOUT_MS", {
      min: 10,
      max: 3_600_000,
      fallback: DEFAULT_HTTP_LIMITS.headerTimeoutMs,
    }),
    requestTimeoutMs: flags.number("http-request-timeout-ms", "GEOIPMQ_HTTP_REQUEST_TIMEOUT_MS", {
      min: 10,
      max: 3_600_000,
      fallback: DEFAULT_HTTP_LIMITS.requestTimeoutMs,
    }),
  };
  if (flags.text("http-max-connections", "GEOIPMQ_HTTP_MAX_CONNECTIONS") !== undefined) {
    limits.maxConnections = flags.number("http-max-connections", "GEOIPMQ_HTTP_MAX_CONNECTIONS", {
      min: 1,
      max: 1_000_000,
      fallback: DEFAULT_HTTP_LIMITS.maxConnections,
    });
  }
  return limits;
}

function logFormat(value: string | undefined): "text" | "json" {
  if (value === undefined || value === "text" || value === "json") return value ?? "text";
  throw new UsageError(`--log-format must be text or json, got "${value}"`);
}

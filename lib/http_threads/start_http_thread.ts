/**
 * One HTTP thread's listener, the same on the main thread and in each HTTP worker: the
 * HTTP routes on the shared address, CORS and the trusted proxies from their flags, the
 * rate limit counted as `transport="http"`.
 *
 * @module
 */

import {
  CorsPolicy,
  type HttpRoutes,
  type HttpRoutesLimits,
  type RequestRateLimiter,
  startHttpRoutes,
  type TlsPem,
  TrustedProxies,
} from "../http/mod.ts";
import type { GeoipResponder, RateLimiter } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";

/** Where and how one HTTP thread listens (plain data: it crosses threads). */
export interface HttpListenSetup {
  /** The address to listen on (in a worker: the port the main thread actually bound). */
  hostname: string;
  port: number;
  /** Most addresses in one batch. */
  maxAddresses: number;
  /** This thread's share of the connection cap, and the deadlines. */
  httpLimits: HttpRoutesLimits;
  /** The origins browsers may call from (`--http-cors-origin`); none: no CORS. */
  cors?: string[];
  /** The CIDR blocks of trusted proxies (`--http-trusted-proxy`). */
  trustedProxies?: string[];
  /** The TLS certificate chain and key; none: plain HTTP. */
  tls?: TlsPem;
}

/** What the thread answers with: its lookups, and what other threads know. */
export interface HttpThreadHooks {
  /** The responder of the moment (asked once per lookup request). */
  responder: () => GeoipResponder;
  /** Where lookups and refusals are counted. */
  metrics: ServiceMetrics;
  /** The thread's rate limiter, or null without a rate limit. */
  rateLimiter: RateLimiter | null;
  /** `/healthz`. */
  health: () =>
    | { ok: boolean; reason: string }
    | Promise<{ ok: boolean; reason: string }>;
  /** `/metrics`. */
  renderMetrics: () => string | Promise<string>;
}

/**
 * Starts one thread's HTTP listener.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { threadLookups } from "../lookup/mod.ts";
 * import { ServiceMetrics } from "../metrics/mod.ts";
 * import { startHttpThread } from "./start_http_thread.ts";
 * const metrics = ServiceMetrics.create({ version: "1.0.0" });
 * const lookups = threadLookups({
 *   languages: ["en"],
 *   limits: { maxRequestBytes: 65536, maxAddresses: 100 },
 *   server: { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() },
 *   cache: { maxBytes: 0 },
 *   ratePerSecond: 0,
 * }, { metrics });
 * const responder = lookups.responderFor([await GeoDatabase.open(bundledDatabasePath())]);
 * const listener = startHttpThread(
 *   { hostname: "127.0.0.1", port: 0, maxAddresses: 100, httpLimits: {}, reusePort: false },
 *   {
 *     responder: () => responder,
 *     metrics,
 *     rateLimiter: lookups.rateLimiter,
 *     health: () => ({ ok: true, reason: "" }),
 *     renderMetrics: () => metrics.renderPrometheus(),
 *   },
 * );
 * const { port } = listener.addr;
 * const answer = await fetch(`http://127.0.0.1:${port}/healthz`);
 * console.log(answer.status); // 200
 * await answer.body?.cancel();
 * await listener.shutdown();
 * ```
 *
 * @param setup where and how it listens, and whether other threads listen on the same
 *   address (`SO_REUSEPORT`)
 * @param hooks what it answers with
 * @returns the running listener
 */
export function startHttpThread(
  setup: HttpListenSetup & { reusePort: boolean },
  hooks: HttpThreadHooks,
): HttpRoutes {
  const { metrics, rateLimiter } = hooks;
  return startHttpRoutes({
    hostname: setup.hostname,
    port: setup.port,
    ...(setup.reusePort ? { reusePort: true } : {}),
    responder: hooks.responder,
    maxAddresses: setup.maxAddresses,
    limits: setup.httpLimits,
    metrics,
    ...(setup.cors === undefined ? {} : { cors: CorsPolicy.parse(setup.cors) }),
    ...(setup.trustedProxies === undefined
      ? {}
      : { trustedProxies: TrustedProxies.parse(setup.trustedProxies) }),
    ...(setup.tls === undefined ? {} : { tls: setup.tls }),
    ...(rateLimiter === null ? {} : { rateLimiter: countedRateLimit(rateLimiter, metrics) }),
    health: hooks.health,
    renderMetrics: hooks.renderMetrics,
  });
}

/**
 * @param limiter a rate limiter
 * @param metrics where a refusal is counted, as `transport="http"`
 * @returns the limiter as HTTP asks it, counting each refusal
 */
function countedRateLimit(limiter: RateLimiter, metrics: ServiceMetrics): RequestRateLimiter {
  return {
    allow: (peer: string, nowMs: number) => {
      if (limiter.allow(peer, nowMs)) return true;
      metrics.recordLimited("rate", "http");
      return false;
    },
    retryAfterSeconds: (peer: string, nowMs: number) => limiter.retryAfterSeconds(peer, nowMs),
  };
}

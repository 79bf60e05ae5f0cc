/**
 * The HTTP routes of geoipmq, on the bounded HTTP/1.1 server of `http_server.ts`: JSON and
 * TSV lookups, a health check and Prometheus metrics. See `docs/HTTP.md`.
 *
 * - `GET /json/<ip>`: one answer object (200, 404 not found, 400 bad address); `/json/`
 *   alone answers for the caller's own address
 * - `GET /json?ip=a&ip=b`, `POST /json` with a JSON array of strings: an array of answers
 * - `GET /geoip/<ip>`: the TSV line (200, 404 `NOT_FOUND`, 400 bad address); `/geoip/`
 *   alone answers for the caller's own address
 * - `GET /healthz`: 200 or 503
 * - `GET /metrics`: the Prometheus text
 *
 * Which route answers is `http_routes_dispatch.ts`; the lookups `http_lookups.ts`.
 *
 * @module
 */

import type { GeoipResponder } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import type { CorsPolicy } from "./cors.ts";
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "./http_limits.ts";
import { HttpServer, type HttpServerEvents, type HttpServerOptions } from "./http_server.ts";
import { jsonError } from "./http_routes_answers.ts";
import { RouteDispatch } from "./http_routes_dispatch.ts";
import type { RequestRateLimiter } from "./rate_limit.ts";
import type { TlsPem } from "./tls_files.ts";
import type { TrustedProxies } from "./trusted_proxies.ts";

/** What {@linkcode startHttpRoutes} needs. */
export interface HttpRoutesOptions {
  /** Interface to listen on, e.g. `127.0.0.1`. */
  hostname: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /**
   * The responder to answer a lookup with. Called once per lookup request, whose every
   * address is then answered by that responder, so that a database switch never mixes
   * old and new databases in one answer.
   */
  responder: () => GeoipResponder;
  /** Most addresses in one batch (`/json?ip=...`, `POST /json`). */
  maxAddresses: number;
  /** Largest `POST /json` body in bytes; default 65536. Larger bodies get 413. */
  maxBodyBytes?: number;
  /**
   * The connection cap, deadlines and head size (see `HttpLimits`); each one left out
   * takes its default (`DEFAULT_HTTP_LIMITS`; the service gives the cap of
   * `defaultMaxConnections()` for its open-file limit).
   */
  limits?: HttpRoutesLimits;
  /**
   * Asked once per lookup request (not `/healthz` or `/metrics`) with the client's address
   * (see `trustedProxies`); a refusal is answered 429 with `Retry-After`. None: no rate
   * limit.
   */
  rateLimiter?: RequestRateLimiter;
  /**
   * The origins browsers may call from: CORS headers on every answer to an allowed
   * origin, preflight `OPTIONS` answered 204. None: no CORS headers, `OPTIONS` is 405.
   */
  cors?: CorsPolicy;
  /**
   * Peers whose `Forwarded`, `X-Forwarded-For` or `X-Real-IP` say who the client is (for
   * `/json/`, `/geoip/` and the rate limit). None: the peer is the client.
   */
  trustedProxies?: TrustedProxies;
  /** Serve HTTPS with this certificate chain and key instead of plain HTTP. */
  tls?: TlsPem;
  /**
   * Whether the service can answer; `reason` says why not (a promise when another thread
   * knows).
   */
  health: () => { ok: boolean; reason: string } | Promise<{ ok: boolean; reason: string }>;
  /** Where lookups are counted (with `transport="http"`), beside the ZeroMQ ones. */
  metrics: ServiceMetrics;
  /** The Prometheus text exposition for `/metrics` (a promise when another thread has it). */
  renderMetrics: () => string | Promise<string>;
  /**
   * Listen with `SO_REUSEPORT`, beside other threads' HTTP routes on the same address
   * (needs `--unstable-net`).
   */
  reusePort?: boolean;
  /** Called once listening, with the address actually bound. */
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/** The limits the routes' server may be given; see `HttpLimits`. */
export type HttpRoutesLimits = Partial<
  Pick<HttpLimits, "maxConnections" | "headerTimeoutMs" | "requestTimeoutMs" | "maxHeadBytes">
>;

/** The HTTP routes, running: their server's address, its stop and its certificate. */
export interface HttpRoutes {
  /** Where it listens (the port actually bound when 0 was asked). */
  readonly addr: { hostname: string; port: number };
  /** Stops accepting, finishes the requests in flight, and closes; safe to call twice. */
  shutdown(): Promise<void>;
  /**
   * Serves new connections with another certificate and key (routes started with `tls`
   * only); connections already open keep theirs.
   *
   * @returns a promise that settles once new connections get the new pair
   * @throws {Error} when the pair is refused (the old one stays in force)
   */
  replaceTls(pem: TlsPem): Promise<void>;
}

/** The default largest `POST /json` body. */
export const DEFAULT_MAX_BODY_BYTES = DEFAULT_HTTP_LIMITS.maxBodyBytes;

/**
 * Starts the HTTP routes on a server of their own. It listens at once; requests are
 * answered until {@linkcode HttpRoutes.shutdown}. Nothing is logged per request; an error
 * inside a handler becomes a 500 with a JSON body.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { GeoipResponder } from "../lookup/mod.ts";
 * import { ServiceMetrics } from "../metrics/mod.ts";
 * import { DEFAULT_LIMITS } from "../protocol/mod.ts";
 * import { startHttpRoutes } from "./mod.ts";
 * const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
 * const metrics = ServiceMetrics.create({ version: "1.0.0" });
 * const routes = startHttpRoutes({
 *   hostname: "127.0.0.1",
 *   port: 0, // any free port; routes.addr.port says which
 *   responder: () => responder,
 *   maxAddresses: 1000,
 *   health: () => ({ ok: true, reason: "" }),
 *   metrics,
 *   renderMetrics: () => metrics.renderPrometheus(),
 * });
 * const response = await fetch(`http://127.0.0.1:${routes.addr.port}/geoip/81.2.69.160`);
 * assert.equal(response.status, 200);
 * assert.match(await response.text(), /^GB\tENG\tEast Finchley\t/);
 * await routes.shutdown();
 * ```
 *
 * @param options where to listen and what to answer with
 * @returns the running routes
 * @throws {Error} one line naming the address when it cannot listen
 */
export function startHttpRoutes(options: HttpRoutesOptions): HttpRoutes {
  const dispatch = new RouteDispatch(options);
  const server = listenForRoutes(options, (request) => dispatch.handle(request));
  options.onListen?.({ ...server.addr });
  return running(server);
}

/** The server's limits: the defaults, the ones given, and the body limit. */
function serverLimits(options: HttpRoutesOptions): HttpLimits {
  return {
    ...DEFAULT_HTTP_LIMITS,
    ...options.limits,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  };
}

/** What the server reports, counted in the metrics. */
function countedEvents(metrics: ServiceMetrics): HttpServerEvents {
  let counted = 0;
  return {
    dropped: (reason) => metrics.recordHttpDrop(reason),
    acceptFailed: () => metrics.recordHttpAcceptFailure(),
    // Each thread's routes add their own change: the gauge counts every thread's.
    connections: (open) => {
      metrics.addHttpConnections(open - counted);
      counted = open;
    },
  };
}

/** Listens for the routes; one line naming the address when it cannot. */
function listenForRoutes(
  options: HttpRoutesOptions,
  handler: HttpServerOptions["handler"],
): HttpServer {
  const { cors } = options;
  try {
    return HttpServer.listen({
      hostname: options.hostname,
      port: options.port,
      limits: serverLimits(options),
      handler,
      ...(options.reusePort === true ? { reusePort: true } : {}),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(cors === undefined ? {} : {
        extraHeaders: (headers: ReadonlyMap<string, string>) => cors.headers(headers.get("origin")),
      }),
      problem: jsonError,
      events: countedEvents(options.metrics),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot listen for HTTP on ${options.hostname}:${options.port}: ${reason}`,
      { cause: error },
    );
  }
}

/** The running routes: their address, a stop that is safe to call twice, new TLS. */
function running(server: HttpServer): HttpRoutes {
  const addr = { hostname: server.addr.hostname, port: server.addr.port };
  let stopping: Promise<void> | undefined;
  return {
    addr,
    shutdown(): Promise<void> {
      stopping ??= server.shutdown();
      return stopping;
    },
    replaceTls(pem: TlsPem): Promise<void> {
      return server.replaceTls(pem);
    },
  };
}

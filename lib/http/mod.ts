/**
 * The HTTP routes of geoipmq: lookups as JSON and TSV, a health check and Prometheus
 * metrics, on a small HTTP/1.1 server of its own that bounds connections, time and
 * bytes per client. See `docs/HTTP.md`.
 *
 * @module
 */

export {
  DEFAULT_MAX_BODY_BYTES,
  type HttpRoutes,
  type HttpRoutesLimits,
  type HttpRoutesOptions,
  startHttpRoutes,
} from "./http_routes.ts";
export {
  DEFAULT_HTTP_LIMITS,
  DEFAULT_MAX_CONNECTIONS,
  defaultMaxConnections,
  type HttpLimits,
} from "./http_limits.ts";
export { WRITE_BUDGET_BYTES } from "./answer_writer.ts";
export type { RequestRateLimiter } from "./rate_limit.ts";
export { CORS_MAX_AGE_SECONDS, CorsPolicy } from "./cors.ts";
export { TrustedProxies } from "./trusted_proxies.ts";
export { readTlsFiles, type TlsPem } from "./tls_files.ts";

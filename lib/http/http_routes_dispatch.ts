/**
 * Which route answers a request: `/json`, `/json/<ip>`, `/geoip/<ip>`, `/healthz`,
 * `/metrics`, a CORS preflight, or 404; a route's refusal becomes its JSON error.
 *
 * @module
 */

import type { CorsPolicy } from "./cors.ts";
import type { HttpAnswer, HttpRequest } from "./http_messages.ts";
import { HttpLookups, type HttpLookupsOptions } from "./http_lookups.ts";
import { healthAnswer, HttpProblem, metricsAnswer, problemAnswer } from "./http_routes_answers.ts";
import {
  acceptedOf,
  bodyAddresses,
  checkRate,
  clientOf,
  decodeSegment,
  requireMethod,
  routeQuery,
} from "./http_routes_inputs.ts";
import type { QuerySchema } from "./query_parameters.ts";
import type { RequestRateLimiter } from "./rate_limit.ts";
import type { TrustedProxies } from "./trusted_proxies.ts";

/** What the routes answer with. */
export interface RouteDispatchOptions extends HttpLookupsOptions {
  /** Asked once per lookup request; a refusal is answered 429. */
  rateLimiter?: RequestRateLimiter;
  /** The origins browsers may call from; none: `OPTIONS` is 405. */
  cors?: CorsPolicy;
  /** Peers whose word on the client's address is taken. */
  trustedProxies?: TrustedProxies;
  /** Whether the service can answer (a promise when another thread knows). */
  health: () => { ok: boolean; reason: string } | Promise<{ ok: boolean; reason: string }>;
  /** The Prometheus text for `/metrics` (a promise when another thread has it). */
  renderMetrics: () => string | Promise<string>;
}

const READ_ONLY = "GET, HEAD";
const READ_AND_POST = "GET, HEAD, POST";
/** The query parameters each lookup route takes (docs/HTTP.md, "Query parameters"). */
const JSON_QUERY: QuerySchema = { fields: "once", lang: "once", shape: "once" };
const GEOIP_QUERY: QuerySchema = { fields: "once", lang: "once" };
const GET_BATCH_QUERY: QuerySchema = { ip: "many" };
const POST_BATCH_QUERY: QuerySchema = {};

/** The routes of the HTTP side, as one handler for the server. */
export class RouteDispatch {
  readonly #options: RouteDispatchOptions;
  readonly #lookups: HttpLookups;

  constructor(options: RouteDispatchOptions) {
    this.#options = options;
    this.#lookups = new HttpLookups(options);
  }

  /** Answers a request; never throws (a refusal or a failure is its JSON error). */
  handle(request: HttpRequest): HttpAnswer | Promise<HttpAnswer> {
    try {
      const answer = this.#route(request);
      return answer instanceof Promise ? answer.catch(problemAnswer) : answer;
    } catch (error) {
      return problemAnswer(error);
    }
  }

  #route(request: HttpRequest): HttpAnswer | Promise<HttpAnswer> {
    const { path } = request;
    const { cors } = this.#options;
    if (cors !== undefined && request.method === "OPTIONS") return preflight(request, cors);
    if (path === "/json") return this.#batch(request);
    if (path.startsWith("/json/")) return this.#oneJson(request);
    if (path.startsWith("/geoip/")) return this.#oneGeoip(request);
    if (path === "/healthz") {
      requireMethod(request, READ_ONLY);
      const health = this.#options.health();
      return health instanceof Promise ? health.then(healthAnswer) : healthAnswer(health);
    }
    if (path === "/metrics") {
      requireMethod(request, READ_ONLY);
      const text = this.#options.renderMetrics();
      return text instanceof Promise ? text.then(metricsAnswer) : metricsAnswer(text);
    }
    throw new HttpProblem(404, `not found: ${path}`);
  }

  /** `GET /json?ip=a&ip=b` or `POST /json` with a JSON array. */
  #batch(request: HttpRequest): HttpAnswer {
    requireMethod(request, READ_AND_POST);
    checkRate(request, this.#options);
    if (request.method === "POST") {
      routeQuery(request, POST_BATCH_QUERY);
      return this.#lookups.batch(bodyAddresses(request.body));
    }
    const addresses = routeQuery(request, GET_BATCH_QUERY).get("ip") ?? [];
    if (addresses.length === 0) {
      throw new HttpProblem(400, 'missing "ip" query parameter, e.g. /json?ip=81.2.69.160');
    }
    return this.#lookups.batch(addresses);
  }

  /** `GET /json/<ip>`; `/json/` alone: the caller's own address. */
  #oneJson(request: HttpRequest): HttpAnswer {
    requireMethod(request, READ_ONLY);
    checkRate(request, this.#options);
    const address = decodeSegment(request.path.slice("/json/".length)) ||
      clientOf(request, this.#options.trustedProxies);
    const shape = routeQuery(request, JSON_QUERY);
    if (shape.size > 0) return this.#lookups.shaped("json", address, shape, acceptedOf(request));
    return this.#lookups.one("json", address);
  }

  /** `GET /geoip/<ip>`; `/geoip/` alone: the caller's own address. */
  #oneGeoip(request: HttpRequest): HttpAnswer {
    requireMethod(request, READ_ONLY);
    checkRate(request, this.#options);
    const address = decodeSegment(request.path.slice("/geoip/".length)) ||
      clientOf(request, this.#options.trustedProxies);
    const shape = routeQuery(request, GEOIP_QUERY);
    const languages = acceptedOf(request);
    if (shape.size > 0 || languages !== undefined) {
      return this.#lookups.shaped("geoip", address, shape, languages);
    }
    return this.#lookups.one("geoip", address);
  }
}

/** A preflight: 204 with the path's methods, or 404 for a path that is not served. */
function preflight(request: HttpRequest, policy: CorsPolicy): HttpAnswer {
  const path = request.path;
  const methods = path === "/json"
    ? READ_AND_POST
    : ["/json/", "/geoip/"].some((prefix) => path.startsWith(prefix)) ||
        path === "/healthz" || path === "/metrics"
    ? READ_ONLY
    : undefined;
  if (methods === undefined) throw new HttpProblem(404, `not found: ${path}`);
  const headers = policy.preflight({
    origin: request.headers.get("origin"),
    requestHeaders: request.headers.get("access-control-request-headers"),
  }, methods);
  return { status: 204, headers: { allow: `${methods}, OPTIONS`, ...headers }, body: "" };
}

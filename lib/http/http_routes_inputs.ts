/**
 * What the HTTP routes read from a request, each refusing a bad one with an
 * {@linkcode HttpProblem}: the method, an address in the path, the query parameters, the
 * body's list of addresses, the client's address and languages, the rate limit.
 *
 * @module
 */

import { acceptedLanguages } from "./accept_language.ts";
import { clientAddress, ClientAddressError } from "./client_address.ts";
import type { HttpRequest } from "./http_messages.ts";
import { HttpProblem } from "./http_routes_answers.ts";
import { QueryError, type QuerySchema, readQuery } from "./query_parameters.ts";
import type { RequestRateLimiter } from "./rate_limit.ts";
import type { TrustedProxies } from "./trusted_proxies.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A comma-separated query parameter, parsed; undefined when absent; 400 when bad.
 *
 * @param query the query parameters
 * @param parameter its name and its parser
 * @returns the parsed value, or undefined
 */
export function optionalList<T>(
  query: Map<string, string[]>,
  parameter: {
    name: string;
    parse: (text: string) => { ok: true; value: T } | { ok: false; reason: string };
  },
): T | undefined {
  const { name, parse } = parameter;
  const text = query.get(name)?.[0];
  if (text === undefined) return undefined;
  const parsed = parse(text);
  if (!parsed.ok) throw new HttpProblem(400, `"${name}": ${parsed.reason}`);
  return parsed.value;
}

/**
 * The `shape` query parameter: true for `geoip2` (the record in GeoIP2's names, another
 * vendor's mapped); absent, false; any other value, 400.
 *
 * @param query the query parameters
 * @returns whether `shape=geoip2` was asked
 */
export function readShape(query: Map<string, string[]>): boolean {
  const shape = query.get("shape")?.[0];
  if (shape === undefined) return false;
  if (shape !== "geoip2") {
    const shown = JSON.stringify(shape.length > 32 ? `${shape.slice(0, 32)}...` : shape);
    throw new HttpProblem(400, `"shape": expected geoip2, not ${shown}`);
  }
  return true;
}

/**
 * @param segment a path segment
 * @returns the address in it, percent-decoded (undecodable text is kept as sent)
 */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Refuses a method the route does not take (405 with `Allow`).
 *
 * @param request the request
 * @param allow the methods taken, as `GET, HEAD`
 */
export function requireMethod(request: HttpRequest, allow: string): void {
  if (!allow.split(", ").includes(request.method)) {
    throw new HttpProblem(405, `method ${request.method} not allowed; use ${allow}`, {
      allow,
    });
  }
}

/**
 * @param body a `POST /json` body
 * @returns its addresses: a JSON array of strings in UTF-8, else 400
 */
export function bodyAddresses(body: Uint8Array): string[] {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpProblem(400, "request body is not UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpProblem(400, "request body is not JSON; expected an array of IP addresses");
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new HttpProblem(400, "request body must be a JSON array of IP address strings");
  }
  return value;
}

/**
 * @param request the request
 * @param schema the parameters its route takes
 * @returns its query parameters; 400 for one the route does not take
 */
export function routeQuery(request: HttpRequest, schema: QuerySchema): Map<string, string[]> {
  try {
    return readQuery(request.query, schema);
  } catch (error) {
    if (error instanceof QueryError) throw new HttpProblem(400, error.message);
    throw error;
  }
}

/**
 * @param request the request
 * @param trustedProxies peers whose word on the client is taken
 * @returns the client's address: the peer's, or a trusted proxy's word for it
 */
export function clientOf(request: HttpRequest, trustedProxies: TrustedProxies | undefined): string {
  try {
    return clientAddress({ peer: request.remoteAddress, headers: request.headers }, trustedProxies);
  } catch (error) {
    if (error instanceof ClientAddressError) throw new HttpProblem(400, error.message);
    throw error;
  }
}

/**
 * @param request the request
 * @returns the languages of its Accept-Language, or undefined when it names none
 */
export function acceptedOf(request: HttpRequest): string[] | undefined {
  const header = request.headers.get("accept-language");
  if (header === undefined) return undefined;
  const parsed = acceptedLanguages(header);
  if (!parsed.ok) throw new HttpProblem(400, parsed.reason);
  return parsed.value.length === 0 ? undefined : parsed.value;
}

/**
 * Refuses a request over the client's rate (429 with `Retry-After`); nothing without a
 * rate limiter.
 *
 * @param request the request
 * @param by the rate limiter and the proxies trusted to name the client
 */
export function checkRate(
  request: HttpRequest,
  by: { rateLimiter?: RequestRateLimiter; trustedProxies?: TrustedProxies },
): void {
  const { rateLimiter } = by;
  if (rateLimiter === undefined) return;
  const now = Date.now();
  const address = clientOf(request, by.trustedProxies);
  if (rateLimiter.allow(address, now)) return;
  const seconds = Math.max(1, Math.ceil(rateLimiter.retryAfterSeconds(address, now)));
  throw new HttpProblem(429, "rate limited; try again later", { "retry-after": String(seconds) });
}

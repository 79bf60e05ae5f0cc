/**
 * Cross-origin resource sharing (CORS): which web origins a browser may let call the
 * HTTP routes, the headers that tell it so on every answer, and the answer to a preflight
 * `OPTIONS` request.
 *
 * @module
 */

/** How long a browser may keep a preflight's answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 86_400;

/** Answer headers a script may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = "Retry-After";
/** A list of header names, as `Access-Control-Request-Headers` sends it. */
const HEADER_NAMES = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\s*,\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/;

/**
 * The origins allowed to call the HTTP routes from a browser: `*` (any), or a list of
 * origins (`https://example.com`, `http://localhost:3000`), compared exactly.
 */
export class CorsPolicy {
  readonly #any: boolean;
  readonly #origins: ReadonlySet<string>;

  private constructor(any: boolean, origins: ReadonlySet<string>) {
    this.#any = any;
    this.#origins = origins;
  }

  /**
   * Parses the allowed origins.
   *
   * @example
   * ```ts
   * import { CorsPolicy } from "./cors.ts";
   * const policy = CorsPolicy.parse(["https://Example.com", "http://localhost:3000"]);
   * console.log(policy.headers("https://example.com")["access-control-allow-origin"]);
   * // "https://example.com"
   * console.log(policy.headers("https://evil.example")); // { vary: "Origin" }
   * ```
   *
   * @param origins `["*"]`, or origins `scheme://host[:port]` without a path
   * @returns the policy
   * @throws {TypeError} naming the first entry that is not an origin
   */
  static parse(origins: readonly string[]): CorsPolicy {
    if (origins.length === 0) throw new TypeError("no origin given");
    if (origins.includes("*")) {
      if (origins.length > 1) {
        throw new TypeError('"*" allows every origin: give it alone, not with other origins');
      }
      return new CorsPolicy(true, new Set());
    }
    return new CorsPolicy(false, new Set(origins.map(canonicalOrigin)));
  }

  /** Whether every origin is allowed (`*`). */
  get anyOrigin(): boolean {
    return this.#any;
  }

  /**
   * The CORS headers for an answer to a request from an origin: the allowed origin (for
   * an allowed origin only), the headers a script may read, and `Vary: Origin` when the
   * answer depends on the origin (a list, not `*`).
   *
   * @param origin the request's `Origin` header, if any
   * @returns header fields (lower-case names) to add to the answer
   */
  headers(origin: string | undefined): Record<string, string> {
    if (this.#any) {
      return origin === undefined ? {} : {
        "access-control-allow-origin": "*",
        "access-control-expose-headers": EXPOSED_HEADERS,
      };
    }
    if (origin === undefined || !this.#origins.has(origin.toLowerCase())) {
      return { vary: "Origin" };
    }
    return {
      "access-control-allow-origin": origin,
      "access-control-expose-headers": EXPOSED_HEADERS,
      vary: "Origin",
    };
  }

  /**
   * The headers of the 204 answer to a preflight `OPTIONS` request (besides those of
   * {@linkcode CorsPolicy.headers}): the methods of the path, the request headers asked
   * for, and how long the answer may be kept. Nothing for an origin not allowed.
   *
   * @param request the preflight's `Origin` and `Access-Control-Request-Headers`
   * @param methods the methods the path takes, e.g. `GET, HEAD, POST`
   * @returns header fields (lower-case names)
   */
  preflight(
    request: { origin: string | undefined; requestHeaders: string | undefined },
    methods: string,
  ): Record<string, string> {
    const headers = this.headers(request.origin);
    if (headers["access-control-allow-origin"] === undefined) return headers;
    const asked = request.requestHeaders?.trim();
    return {
      ...headers,
      "access-control-allow-methods": methods,
      ...(asked !== undefined && HEADER_NAMES.test(asked)
        ? { "access-control-allow-headers": asked }
        : {}),
      "access-control-max-age": String(CORS_MAX_AGE_SECONDS),
    };
  }
}

/** An origin as browsers send it: scheme and host in lower case, no default port. */
function canonicalOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`"${text}" is not an origin such as https://example.com`);
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" ||
    url.password !== "" || url.search !== "" || url.hash !== "" ||
    !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]+\/?$/i.test(text)
  ) {
    throw new TypeError(
      `"${text}" is not an origin such as https://example.com (scheme, host and port only)`,
    );
  }
  return url.origin;
}

/**
 * The HTTP face of geoipmq, on the bounded HTTP/1.1 server of `http_server.ts`: JSON and
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
 * @module
 */

import { type AddressAnswer, type GeoipResponder, RequestCounter } from "../lookup/mod.ts";
import {
  DEFAULT_HTTP_LIMITS,
  type HttpAnswer,
  type HttpLimits,
  type HttpRequest,
  HttpServer,
} from "./http_server.ts";
import type { RequestRateLimiter } from "./rate_limit.ts";
import { QueryError, type QuerySchema, readQuery } from "./query_parameters.ts";
import { acceptedLanguages } from "./accept_language.ts";
import { clientAddress, ClientAddressError } from "./client_address.ts";
import type { CorsPolicy } from "./cors.ts";
import type { TrustedProxies } from "./trusted_proxies.ts";
import type { TlsPem } from "./tls_files.ts";
import { PackedStrings } from "./packed_strings.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import {
  formatTsv,
  parseFieldList,
  parseLanguageList,
  resolveField,
  stringifyJson,
} from "../protocol/mod.ts";

/** What {@linkcode startHttpFace} needs. */
export interface HttpFaceOptions {
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
  limits?: HttpFaceLimits;
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
   * Listen with `SO_REUSEPORT`, beside other threads' faces on the same address (needs
   * `--unstable-net`).
   */
  reusePort?: boolean;
  /** Called once listening, with the address actually bound. */
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/** The limits a face may be given; see `HttpLimits`. */
export type HttpFaceLimits = Partial<
  Pick<HttpLimits, "maxConnections" | "headerTimeoutMs" | "requestTimeoutMs" | "maxHeadBytes">
>;

/** A running HTTP face. */
export interface HttpFace {
  /** Where it listens (the port actually bound when 0 was asked). */
  readonly addr: { hostname: string; port: number };
  /** Stops accepting, finishes the requests in flight, and closes; safe to call twice. */
  shutdown(): Promise<void>;
  /**
   * Serves new connections with another certificate and key (a face started with `tls`
   * only); connections already open keep theirs.
   *
   * @returns a promise that settles once new connections get the new pair
   * @throws {Error} when the pair is refused (the old one stays in force)
   */
  replaceTls(pem: TlsPem): Promise<void>;
}

/** The default largest `POST /json` body. */
export const DEFAULT_MAX_BODY_BYTES = DEFAULT_HTTP_LIMITS.maxBodyBytes;

/** Addresses of a batch rendered at a time: the answer is written in pieces this big. */
const BATCH_PIECE = 4;

const JSON_TYPE = "application/json; charset=utf-8";
const TSV_TYPE = "text/tab-separated-values; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";
const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const READ_ONLY = "GET, HEAD";
const READ_AND_POST = "GET, HEAD, POST";
/** The query parameters each lookup route takes (docs/HTTP.md, "Query parameters"). */
const JSON_QUERY: QuerySchema = { fields: "once", lang: "once", shape: "once" };
const GEOIP_QUERY: QuerySchema = { fields: "once", lang: "once" };
const GET_BATCH_QUERY: QuerySchema = { ip: "many" };
const POST_BATCH_QUERY: QuerySchema = {};
const utf8 = new TextDecoder("utf-8", { fatal: true });

function healthAnswer(health: { ok: boolean; reason: string }): HttpAnswer {
  return health.ok
    ? reply(200, JSON.stringify({ status: "ok" }), JSON_TYPE)
    : reply(503, JSON.stringify({ status: "unavailable", reason: health.reason }), JSON_TYPE);
}

function metricsAnswer(text: string): HttpAnswer {
  return reply(200, text, METRICS_TYPE);
}

/** A client mistake, answered with its status and a JSON error body. */
class HttpProblem extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

function reply(
  status: number,
  body: string | Iterable<string>,
  type: string,
  headers: Record<string, string> = {},
): HttpAnswer {
  return { status, body, headers: { "content-type": type, ...headers } };
}

function jsonError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): HttpAnswer {
  return reply(status, JSON.stringify({ error: message }), JSON_TYPE, headers);
}

/** A comma-separated query parameter, parsed; undefined when absent; 400 when bad. */
function optionalList<T>(
  query: Map<string, string[]>,
  name: string,
  parse: (text: string) => { ok: true; value: T } | { ok: false; reason: string },
): T | undefined {
  const text = query.get(name)?.[0];
  if (text === undefined) return undefined;
  const parsed = parse(text);
  if (!parsed.ok) throw new HttpProblem(400, `"${name}": ${parsed.reason}`);
  return parsed.value;
}

/**
 * The `shape` query parameter: true for `geoip2` (the record in GeoIP2's names, another
 * vendor's mapped); absent, false; any other value, 400.
 */
function readShape(query: Map<string, string[]>): boolean {
  const shape = query.get("shape")?.[0];
  if (shape === undefined) return false;
  if (shape !== "geoip2") {
    const shown = JSON.stringify(shape.length > 32 ? `${shape.slice(0, 32)}...` : shape);
    throw new HttpProblem(400, `"shape": expected geoip2, not ${shown}`);
  }
  return true;
}

/** The address in a path segment, percent-decoded (undecodable text is kept as sent). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function requireMethod(request: HttpRequest, allow: string): void {
  if (!allow.split(", ").includes(request.method)) {
    throw new HttpProblem(405, `method ${request.method} not allowed; use ${allow}`, {
      allow,
    });
  }
}

function decodeBody(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new HttpProblem(400, "request body is not UTF-8");
  }
}

function parseAddressList(body: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new HttpProblem(400, "request body is not JSON; expected an array of IP addresses");
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new HttpProblem(400, "request body must be a JSON array of IP address strings");
  }
  return value;
}

/** The HTTP status of one address's failure: the client's mistake, or the database's. */
function failureStatus(answer: AddressAnswer): number {
  return answer.result === "invalid" ? 400 : 500;
}

function isAnswer(value: AddressAnswer | HttpAnswer): value is HttpAnswer {
  return "status" in value;
}

/**
 * The pieces of a batch's JSON array, {@linkcode BATCH_PIECE} addresses at a time. Each
 * piece is rendered at once (other requests may run between pieces, so the responder's
 * tally is read after each piece and added up); `done` counts the whole request.
 */
function* batchPieces(
  responder: GeoipResponder,
  addresses: PackedStrings,
  done: () => void,
): Generator<string> {
  const sums = { found: 0, notFound: 0, invalid: 0, error: 0 };
  let body = "[";
  for (let start = 0; start < addresses.length; start += BATCH_PIECE) {
    responder.startTally("json");
    const end = Math.min(addresses.length, start + BATCH_PIECE);
    for (let i = start; i < end; i++) {
      const address = addresses.at(i)!;
      const answer = responder.answer("json", address);
      if (i > 0) body += ",";
      body += answer.result === "found" || answer.result === "not_found"
        ? answer.text
        : JSON.stringify({ ip: address, error: answer.text });
    }
    const tally = responder.tally;
    sums.found += tally.found;
    sums.notFound += tally.notFound;
    sums.invalid += tally.invalid;
    sums.error += tally.error;
    yield body;
    body = "";
  }
  responder.startTally("json");
  Object.assign(responder.tally, sums);
  done();
  yield body + "]";
}

/**
 * Answers lookups through the responder of the moment, counting each request in the
 * service's metrics as ZeroMQ requests are counted.
 */
class HttpLookups {
  readonly #responder: () => GeoipResponder;
  readonly #metrics: ServiceMetrics;
  readonly #maxAddresses: number;
  #counter: RequestCounter | undefined;
  #counted: GeoipResponder | undefined;

  constructor(options: HttpFaceOptions) {
    this.#responder = options.responder;
    this.#metrics = options.metrics;
    this.#maxAddresses = options.maxAddresses;
  }

  /** One address: the answer, 404 when not found, 4xx/5xx with the reason. */
  one(format: "geoip" | "json", address: string): HttpAnswer {
    const answer = this.#lookUp(format, (responder) => responder.answer(format, address));
    if (isAnswer(answer)) return answer;
    const status = answer.result === "found" ? 200 : 404;
    return format === "json"
      ? reply(status, answer.text, JSON_TYPE)
      : reply(status, answer.text, status === 200 ? TSV_TYPE : TEXT_TYPE);
  }

  /**
   * One address, shaped by the query: `?fields=a.b,c.d` answers just those paths of the
   * record (`{"ip", "network", "fields": {path: value}}`), `?lang=de,en` the names in
   * those languages, `?shape=geoip2` the record in GeoIP2's names (another vendor's
   * mapped; the fields are always read so).
   */
  shaped(
    format: "geoip" | "json",
    address: string,
    query: Map<string, string[]>,
    accepted?: readonly string[],
  ): HttpAnswer {
    const asked = optionalList(query, "lang", parseLanguageList);
    const fields = optionalList(query, "fields", parseFieldList);
    const geoip2 = readShape(query);
    if (fields !== undefined && format === "geoip") {
      throw new HttpProblem(400, '"fields" goes with /json/<ip>, not /geoip/<ip>');
    }
    if (asked !== undefined && format === "json" && fields === undefined) {
      throw new HttpProblem(400, '"lang" chooses names: use it with /geoip/<ip> or with fields');
    }
    // `?lang=` wins over Accept-Language.
    const languages = asked ?? accepted;
    const answer = this.#lookUp(format, (responder) => responder.lookupRecord(address));
    if (isAnswer(answer)) return answer;
    const status = answer.result === "found" ? 200 : 404;
    if (format === "geoip") {
      if (answer.result !== "found") return reply(404, "NOT_FOUND", TEXT_TYPE);
      const tsv = answer.location === null ? "NOT_FOUND" : formatTsv(answer.location, languages);
      return reply(
        answer.location === null ? 404 : 200,
        tsv,
        answer.location === null ? TEXT_TYPE : TSV_TYPE,
      );
    }
    if (geoip2 && fields === undefined) {
      const record = stringifyJson(answer.record ?? null);
      const network = answer.network === undefined || answer.network === null
        ? "null"
        : `"${answer.network}"`;
      return reply(
        status,
        `{"ip":${JSON.stringify(address)},"network":${network},"record":${record}}`,
        JSON_TYPE,
      );
    }
    const chosen: Record<string, unknown> = {};
    for (const path of fields ?? []) {
      const value = answer.record === undefined
        ? undefined
        : resolveField(answer.record, { path, languages: languages ?? ["en"] });
      chosen[path.text] = value ?? null;
    }
    return reply(
      status,
      stringifyJson({ ip: address, network: answer.network ?? null, fields: chosen }),
      JSON_TYPE,
    );
  }

  /**
   * Many addresses: an array of JSON answers, or of `{ip, error}` per bad address. The
   * body is made a few addresses at a time, as the client takes it, all from the
   * responder of the moment the request came; the request is counted once it is whole.
   */
  batch(addresses: string[]): HttpAnswer {
    if (addresses.length > this.#maxAddresses) {
      throw new HttpProblem(400, `more than ${this.#maxAddresses} addresses in one request`);
    }
    const started = performance.now();
    const responder = this.#responder();
    const counter = this.#counterFor(responder);
    return reply(
      200,
      // Packed: the answer's writing keeps a few KiB of its request, not an array.
      batchPieces(responder, PackedStrings.of(addresses), () => counter.answered(started)),
      JSON_TYPE,
    );
  }

  /**
   * Looks one address up through the responder of the moment and counts the request: a
   * failed address is the request's error, answered here with its status.
   */
  #lookUp<T extends AddressAnswer>(
    format: "geoip" | "json",
    lookUp: (responder: GeoipResponder) => T,
  ): T | HttpAnswer {
    const started = performance.now();
    const responder = this.#begin(format);
    const answer = lookUp(responder);
    const failed = answer.result === "invalid" || answer.result === "error";
    if (failed) responder.tally.outcome = "error";
    this.#count(started);
    return failed ? jsonError(failureStatus(answer), answer.text) : answer;
  }

  #begin(format: "geoip" | "json"): GeoipResponder {
    const responder = this.#responder();
    this.#counterFor(responder);
    responder.startTally(format);
    return responder;
  }

  #counterFor(responder: GeoipResponder): RequestCounter {
    // A new responder (after a reload) gets a new counter, before its first lookup.
    if (this.#counted !== responder) {
      this.#counted = responder;
      this.#counter = new RequestCounter(this.#metrics, responder, "http");
    }
    return this.#counter!;
  }

  #count(started: number): void {
    this.#counter!.answered(started);
  }
}

/**
 * Starts the HTTP face. It listens at once; requests are answered until
 * {@linkcode HttpFace.shutdown}. Nothing is logged per request; an error inside a handler
 * becomes a 500 with a JSON body.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { GeoipResponder } from "../lookup/mod.ts";
 * import { ServiceMetrics } from "../metrics/mod.ts";
 * import { DEFAULT_LIMITS } from "../protocol/mod.ts";
 * import { startHttpFace } from "./mod.ts";
 * const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
 * const metrics = ServiceMetrics.create({ version: "1.0.0" });
 * const face = startHttpFace({
 *   hostname: "127.0.0.1",
 *   port: 0, // any free port; face.addr.port says which
 *   responder: () => responder,
 *   maxAddresses: 1000,
 *   health: () => ({ ok: true, reason: "" }),
 *   metrics,
 *   renderMetrics: () => metrics.renderPrometheus(),
 * });
 * const response = await fetch(`http://127.0.0.1:${face.addr.port}/geoip/81.2.69.160`);
 * assert.equal(response.status, 200);
 * assert.match(await response.text(), /^GB\tENG\tEast Finchley\t/);
 * await face.shutdown();
 * ```
 *
 * @param options where to listen and what to answer with
 * @returns the running face
 * @throws {Error} one line naming the address when it cannot listen
 */
export function startHttpFace(options: HttpFaceOptions): HttpFace {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limits: HttpLimits = {
    ...DEFAULT_HTTP_LIMITS,
    ...options.limits,
    maxBodyBytes,
  };
  const lookups = new HttpLookups(options);
  const { rateLimiter, metrics, cors, trustedProxies } = options;

  /** The client's address: the peer's, or a trusted proxy's word for it. */
  const client = (request: HttpRequest): string => {
    try {
      return clientAddress(
        { peer: request.remoteAddress, headers: request.headers },
        trustedProxies,
      );
    } catch (error) {
      if (error instanceof ClientAddressError) throw new HttpProblem(400, error.message);
      throw error;
    }
  };

  /** The languages of Accept-Language, or undefined when it names none. */
  const accepted = (request: HttpRequest): string[] | undefined => {
    const header = request.headers.get("accept-language");
    if (header === undefined) return undefined;
    const parsed = acceptedLanguages(header);
    if (!parsed.ok) throw new HttpProblem(400, parsed.reason);
    return parsed.value.length === 0 ? undefined : parsed.value;
  };

  const limit = (request: HttpRequest): void => {
    if (rateLimiter === undefined) return;
    const now = Date.now();
    const address = client(request);
    if (rateLimiter.allow(address, now)) return;
    const seconds = Math.max(1, Math.ceil(rateLimiter.retryAfterSeconds(address, now)));
    throw new HttpProblem(429, "rate limited; try again later", { "retry-after": String(seconds) });
  };

  const route = (request: HttpRequest): HttpAnswer | Promise<HttpAnswer> => {
    const path = request.path;
    const query = (schema: QuerySchema) => {
      try {
        return readQuery(request.query, schema);
      } catch (error) {
        if (error instanceof QueryError) throw new HttpProblem(400, error.message);
        throw error;
      }
    };
    if (cors !== undefined && request.method === "OPTIONS") return preflight(request, cors);
    if (path === "/json") {
      requireMethod(request, READ_AND_POST);
      limit(request);
      if (request.method === "POST") {
        query(POST_BATCH_QUERY);
        return lookups.batch(parseAddressList(decodeBody(request.body)));
      }
      const addresses = query(GET_BATCH_QUERY).get("ip") ?? [];
      if (addresses.length === 0) {
        throw new HttpProblem(400, 'missing "ip" query parameter, e.g. /json?ip=81.2.69.160');
      }
      return lookups.batch(addresses);
    }
    if (path.startsWith("/json/")) {
      requireMethod(request, READ_ONLY);
      limit(request);
      // `/json/` alone: the caller's own address.
      const address = decodeSegment(path.slice("/json/".length)) || client(request);
      const shape = query(JSON_QUERY);
      if (shape.size > 0) return lookups.shaped("json", address, shape, accepted(request));
      return lookups.one("json", address);
    }
    if (path.startsWith("/geoip/")) {
      requireMethod(request, READ_ONLY);
      limit(request);
      const address = decodeSegment(path.slice("/geoip/".length)) || client(request);
      const shape = query(GEOIP_QUERY);
      const languages = accepted(request);
      if (shape.size > 0 || languages !== undefined) {
        return lookups.shaped("geoip", address, shape, languages);
      }
      return lookups.one("geoip", address);
    }
    if (path === "/healthz") {
      requireMethod(request, READ_ONLY);
      const health = options.health();
      return health instanceof Promise ? health.then(healthAnswer) : healthAnswer(health);
    }
    if (path === "/metrics") {
      requireMethod(request, READ_ONLY);
      const text = options.renderMetrics();
      return text instanceof Promise ? text.then(metricsAnswer) : metricsAnswer(text);
    }
    throw new HttpProblem(404, `not found: ${path}`);
  };

  /** A preflight: 204 with the path's methods, or 404 for a path that is not served. */
  const preflight = (request: HttpRequest, policy: CorsPolicy): HttpAnswer => {
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
  };

  const problem = (error: unknown): HttpAnswer => {
    if (error instanceof HttpProblem) {
      return jsonError(error.status, error.message, error.headers);
    }
    const reason = error instanceof Error ? error.message : String(error);
    return jsonError(500, `internal error: ${reason.replace(/[\r\n]+/g, " ")}`);
  };
  const handler = (request: HttpRequest): HttpAnswer | Promise<HttpAnswer> => {
    try {
      const answer = route(request);
      return answer instanceof Promise ? answer.catch(problem) : answer;
    } catch (error) {
      return problem(error);
    }
  };

  let counted = 0;
  let server: HttpServer;
  try {
    server = HttpServer.listen({
      hostname: options.hostname,
      port: options.port,
      limits,
      handler,
      ...(options.reusePort === true ? { reusePort: true } : {}),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(cors === undefined ? {} : {
        extraHeaders: (headers: ReadonlyMap<string, string>) => cors.headers(headers.get("origin")),
      }),
      problem: jsonError,
      events: {
        dropped: (reason) => metrics.recordHttpDrop(reason),
        acceptFailed: () => metrics.recordHttpAcceptFailure(),
        // Each thread's face adds its own change: the gauge counts every thread's.
        connections: (open) => {
          metrics.addHttpConnections(open - counted);
          counted = open;
        },
      },
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot listen for HTTP on ${options.hostname}:${options.port}: ${reason}`,
      { cause: error },
    );
  }
  options.onListen?.({ ...server.addr });
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

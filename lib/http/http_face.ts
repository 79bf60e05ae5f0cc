/**
 * The HTTP face of geoipmq, on Deno's own server (`Deno.serve`): JSON and TSV lookups,
 * a health check and Prometheus metrics. See `docs/HTTP.md`.
 *
 * - `GET /json/<ip>`: one answer object (200, 404 not found, 400 bad address)
 * - `GET /json?ip=a&ip=b`, `POST /json` with a JSON array of strings: an array of answers
 * - `GET /geoip/<ip>`: the TSV line (200, 404 `NOT_FOUND`, 400 bad address)
 * - `GET /healthz`: 200 or 503
 * - `GET /metrics`: the Prometheus text
 *
 * @module
 */

import { type AddressAnswer, type GeoipResponder, RequestCounter } from "../lookup/mod.ts";
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
   * address is then answered by that responder, so that swapping the database never mixes
   * two databases in one answer.
   */
  responder: () => GeoipResponder;
  /** Most addresses in one batch (`/json?ip=...`, `POST /json`). */
  maxAddresses: number;
  /** Largest `POST /json` body in bytes; default 65536. Larger bodies get 413. */
  maxBodyBytes?: number;
  /** Whether the service can answer; `reason` says why not. */
  health: () => { ok: boolean; reason: string };
  /** Where lookups are counted (with `transport="http"`), beside the ZeroMQ ones. */
  metrics: ServiceMetrics;
  /** The Prometheus text exposition for `/metrics`. */
  renderMetrics: () => string;
  /** Called once listening, with the address actually bound. */
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/** A running HTTP face. */
export interface HttpFace {
  /** Where it listens (the port actually bound when 0 was asked). */
  readonly addr: { hostname: string; port: number };
  /** Stops accepting, finishes the requests in flight, and closes; safe to call twice. */
  shutdown(): Promise<void>;
}

/** The default largest `POST /json` body. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

const JSON_TYPE = "application/json; charset=utf-8";
const TSV_TYPE = "text/tab-separated-values; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";
const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const READ_ONLY = "GET, HEAD";
const READ_AND_POST = "GET, HEAD, POST";
const utf8 = new TextDecoder("utf-8", { fatal: true });

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
  body: string,
  type: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers: { "content-type": type, ...headers } });
}

function jsonError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return reply(status, JSON.stringify({ error: message }), JSON_TYPE, headers);
}

/** A comma-separated query parameter, parsed; undefined when absent; 400 when bad. */
function optionalList<T>(
  query: URLSearchParams,
  name: string,
  parse: (text: string) => { ok: true; value: T } | { ok: false; reason: string },
): T | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const parsed = parse(text);
  if (!parsed.ok) throw new HttpProblem(400, `"${name}": ${parsed.reason}`);
  return parsed.value;
}

/** The address in a path segment, percent-decoded (undecodable text is kept as sent). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function requireMethod(request: Request, allow: string): void {
  if (!allow.split(", ").includes(request.method)) {
    throw new HttpProblem(405, `method ${request.method} not allowed; use ${allow}`, {
      allow,
    });
  }
}

async function readBody(request: Request, maxBytes: number): Promise<string> {
  const tooLarge = () => new HttpProblem(413, `request body larger than ${maxBytes} bytes`);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await request.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  try {
    return utf8.decode(bytes);
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
  one(format: "geoip" | "json", address: string): Response {
    const answer = this.#lookUp(format, (responder) => responder.answer(format, address));
    if (answer instanceof Response) return answer;
    const status = answer.result === "found" ? 200 : 404;
    return format === "json"
      ? reply(status, answer.text, JSON_TYPE)
      : reply(status, answer.text, status === 200 ? TSV_TYPE : TEXT_TYPE);
  }

  /**
   * One address, shaped by the query: `?fields=a.b,c.d` answers just those paths of the
   * record (`{"ip", "network", "fields": {path: value}}`), `?lang=de,en` the names in
   * those languages.
   */
  shaped(format: "geoip" | "json", address: string, query: URLSearchParams): Response {
    for (const name of query.keys()) {
      if (name !== "lang" && name !== "fields") {
        throw new HttpProblem(400, `unknown query parameter "${name}"; expected fields or lang`);
      }
    }
    const languages = optionalList(query, "lang", parseLanguageList);
    const fields = optionalList(query, "fields", parseFieldList);
    if (fields !== undefined && format === "geoip") {
      throw new HttpProblem(400, '"fields" goes with /json/<ip>, not /geoip/<ip>');
    }
    if (languages !== undefined && format === "json" && fields === undefined) {
      throw new HttpProblem(400, '"lang" chooses names: use it with /geoip/<ip> or with fields');
    }
    const answer = this.#lookUp(format, (responder) => responder.lookupRecord(address));
    if (answer instanceof Response) return answer;
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

  /** Many addresses: an array of JSON answers, or of `{ip, error}` per bad address. */
  batch(addresses: string[]): Response {
    if (addresses.length > this.#maxAddresses) {
      throw new HttpProblem(400, `more than ${this.#maxAddresses} addresses in one request`);
    }
    const started = performance.now();
    const responder = this.#begin("json");
    let body = "[";
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i]!;
      const answer = responder.answer("json", address);
      if (i > 0) body += ",";
      body += answer.result === "found" || answer.result === "not_found"
        ? answer.text
        : JSON.stringify({ ip: address, error: answer.text });
    }
    this.#count(started);
    return reply(200, body + "]", JSON_TYPE);
  }

  /**
   * Looks one address up through the responder of the moment and counts the request: a
   * failed address is the request's error, answered here with its status.
   */
  #lookUp<T extends AddressAnswer>(
    format: "geoip" | "json",
    lookUp: (responder: GeoipResponder) => T,
  ): T | Response {
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
    // A new responder (after a reload) gets a new counter, before its first lookup.
    if (this.#counted !== responder) {
      this.#counted = responder;
      this.#counter = new RequestCounter(this.#metrics, responder, "http");
    }
    responder.startTally(format);
    return responder;
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
  const lookups = new HttpLookups(options);

  const route = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/json") {
      requireMethod(request, READ_AND_POST);
      if (request.method === "POST") {
        return lookups.batch(parseAddressList(await readBody(request, maxBodyBytes)));
      }
      const addresses = url.searchParams.getAll("ip");
      if (addresses.length === 0) {
        throw new HttpProblem(400, 'missing "ip" query parameter, e.g. /json?ip=81.2.69.160');
      }
      return lookups.batch(addresses);
    }
    if (path.startsWith("/json/")) {
      requireMethod(request, READ_ONLY);
      const address = decodeSegment(path.slice("/json/".length));
      if (url.searchParams.size > 0) return lookups.shaped("json", address, url.searchParams);
      return lookups.one("json", address);
    }
    if (path.startsWith("/geoip/")) {
      requireMethod(request, READ_ONLY);
      const address = decodeSegment(path.slice("/geoip/".length));
      if (url.searchParams.size > 0) return lookups.shaped("geoip", address, url.searchParams);
      return lookups.one("geoip", address);
    }
    if (path === "/healthz") {
      requireMethod(request, READ_ONLY);
      const health = options.health();
      return health.ok
        ? reply(200, JSON.stringify({ status: "ok" }), JSON_TYPE)
        : reply(503, JSON.stringify({ status: "unavailable", reason: health.reason }), JSON_TYPE);
    }
    if (path === "/metrics") {
      requireMethod(request, READ_ONLY);
      return reply(200, options.renderMetrics(), METRICS_TYPE);
    }
    throw new HttpProblem(404, `not found: ${path}`);
  };

  const handler = async (request: Request): Promise<Response> => {
    try {
      return await route(request);
    } catch (error) {
      if (error instanceof HttpProblem) {
        return jsonError(error.status, error.message, error.headers);
      }
      const reason = error instanceof Error ? error.message : String(error);
      return jsonError(500, `internal error: ${reason.replace(/[\r\n]+/g, " ")}`);
    }
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: (addr) => options.onListen?.({ hostname: addr.hostname, port: addr.port }),
      onError: () => jsonError(500, "internal error"),
      handler,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot listen for HTTP on ${options.hostname}:${options.port}: ${reason}`,
      { cause: error },
    );
  }
  const addr = { hostname: server.addr.hostname, port: server.addr.port };
  let stopping: Promise<void> | undefined;
  return {
    addr,
    shutdown(): Promise<void> {
      stopping ??= server.shutdown().then(() => server.finished);
      return stopping;
    },
  };
}

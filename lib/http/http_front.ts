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

import { NOT_FOUND } from "../protocol/reply_format.ts";
import type { GeoipResponder } from "../lookup/responder.ts";

/** What {@linkcode startHttpFront} needs. */
export interface HttpFrontOptions {
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
  /** The Prometheus text exposition for `/metrics`. */
  metrics: () => string;
  /** Called once listening, with the address actually bound. */
  onListen?: (addr: { hostname: string; port: number }) => void;
}

/** A running HTTP front. */
export interface HttpFront {
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

/** The HTTP status for a per-address failure reason from the responder. */
function failureStatus(reason: string): number {
  return reason.startsWith("database error") || reason.startsWith("internal error") ? 500 : 400;
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

function jsonBatch(responder: GeoipResponder, addresses: string[], max: number): Response {
  if (addresses.length > max) {
    throw new HttpProblem(400, `more than ${max} addresses in one request`);
  }
  let body = "[";
  for (let i = 0; i < addresses.length; i++) {
    const answer = responder.answerJson(addresses[i]!);
    if (i > 0) body += ",";
    body += typeof answer === "string" ? answer : JSON.stringify(answer);
  }
  return reply(200, body + "]", JSON_TYPE);
}

function jsonOne(responder: GeoipResponder, address: string): Response {
  const answer = responder.answerJson(address);
  if (typeof answer !== "string") return jsonError(failureStatus(answer.error), answer.error);
  // A found answer's network is a CIDR string; only a miss has `"network":null`.
  const missed = answer.startsWith(`{"ip":"${address}","network":null`);
  return reply(missed ? 404 : 200, answer, JSON_TYPE);
}

function geoipOne(responder: GeoipResponder, address: string): Response {
  const line = responder.answerTsv(address);
  if (line === NOT_FOUND) return reply(404, NOT_FOUND, TEXT_TYPE);
  if (line.startsWith("ERROR\t")) {
    const reason = line.slice("ERROR\t".length);
    return jsonError(failureStatus(reason), reason);
  }
  return reply(200, line, TSV_TYPE);
}

/**
 * Starts the HTTP front. It listens at once; requests are answered until
 * {@linkcode HttpFront.shutdown}. Nothing is logged per request; an error inside a handler
 * becomes a 500 with a JSON body.
 *
 * @example
 * ```ts ignore
 * const front = startHttpFront({
 *   hostname: "127.0.0.1",
 *   port: 8080,
 *   responder: () => currentResponder,
 *   maxAddresses: 1000,
 *   health: () => ({ ok: true, reason: "" }),
 *   metrics: () => metrics.renderPrometheus(),
 * });
 * // curl http://127.0.0.1:8080/json/81.2.69.160
 * await front.shutdown();
 * ```
 *
 * @param options where to listen and what to answer with
 * @returns the running front
 * @throws {Error} one line naming the address when it cannot listen
 */
export function startHttpFront(options: HttpFrontOptions): HttpFront {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const route = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/json") {
      requireMethod(request, READ_AND_POST);
      if (request.method === "POST") {
        const addresses = parseAddressList(await readBody(request, maxBodyBytes));
        return jsonBatch(options.responder(), addresses, options.maxAddresses);
      }
      const addresses = url.searchParams.getAll("ip");
      if (addresses.length === 0) {
        throw new HttpProblem(400, 'missing "ip" query parameter, e.g. /json?ip=81.2.69.160');
      }
      return jsonBatch(options.responder(), addresses, options.maxAddresses);
    }
    if (path.startsWith("/json/")) {
      requireMethod(request, READ_ONLY);
      return jsonOne(options.responder(), decodeSegment(path.slice("/json/".length)));
    }
    if (path.startsWith("/geoip/")) {
      requireMethod(request, READ_ONLY);
      return geoipOne(options.responder(), decodeSegment(path.slice("/geoip/".length)));
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
      return reply(200, options.metrics(), METRICS_TYPE);
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

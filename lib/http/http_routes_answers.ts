/**
 * The answers of the HTTP routes: their content types, a plain answer, a JSON error, the
 * health and metrics answers, and {@linkcode HttpProblem}, the client mistake a route
 * throws to be answered with its status.
 *
 * @module
 */

import type { HttpAnswer } from "./http_messages.ts";

/** JSON answers. */
export const JSON_TYPE = "application/json; charset=utf-8";
/** The TSV line of `/geoip/<ip>`. */
export const TSV_TYPE = "text/tab-separated-values; charset=utf-8";
/** `NOT_FOUND` and other plain text. */
export const TEXT_TYPE = "text/plain; charset=utf-8";
const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A client mistake, answered with its status and a JSON error body. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/**
 * @param status the status
 * @param body the body, whole or in pieces
 * @param type its content type
 * @param headers more header fields
 * @returns the answer
 */
export function reply(
  status: number,
  body: string | Iterable<string>,
  type: string,
  headers: Record<string, string> = {},
): HttpAnswer {
  return { status, body, headers: { "content-type": type, ...headers } };
}

/**
 * @param status the status
 * @param message the reason, as `{"error": message}`
 * @param headers more header fields
 * @returns the answer
 */
export function jsonError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): HttpAnswer {
  return reply(status, JSON.stringify({ error: message }), JSON_TYPE, headers);
}

/**
 * @param error what a route threw
 * @returns its answer: the problem's status, or 500 with the reason on one line
 */
export function problemAnswer(error: unknown): HttpAnswer {
  if (error instanceof HttpProblem) {
    return jsonError(error.status, error.message, error.headers);
  }
  const reason = error instanceof Error ? error.message : String(error);
  return jsonError(500, `internal error: ${reason.replace(/[\r\n]+/g, " ")}`);
}

/**
 * @param health whether the service can answer, and why not
 * @returns 200, or 503 with the reason
 */
export function healthAnswer(health: { ok: boolean; reason: string }): HttpAnswer {
  return health.ok
    ? reply(200, JSON.stringify({ status: "ok" }), JSON_TYPE)
    : reply(503, JSON.stringify({ status: "unavailable", reason: health.reason }), JSON_TYPE);
}

/**
 * @param text the Prometheus text
 * @returns it as the answer to `/metrics`
 */
export function metricsAnswer(text: string): HttpAnswer {
  return reply(200, text, METRICS_TYPE);
}

/**
 * The request language of geoipmq: one frame of printable ASCII, a verb and its
 * arguments separated by spaces or tabs. See `docs/PROTOCOL.md`.
 *
 * - `geoip <ip> [<ip>...]`: tab-separated fields per address
 * - `json <ip> [<ip>...]`: the database record per address, as JSON
 * - `ping`: `pong`
 * - `info`: the serving database and the server, as JSON
 *
 * @module
 */

/** Bounds on what one request may carry. */
export interface RequestLimits {
  /** Largest request frame accepted, in bytes. */
  maxRequestBytes: number;
  /** Most addresses accepted in one `geoip` or `json` request. */
  maxAddresses: number;
}

/** The default {@linkcode RequestLimits}. */
export const DEFAULT_LIMITS: Readonly<RequestLimits> = {
  maxRequestBytes: 64 * 1024,
  maxAddresses: 1000,
};

/** A request to look addresses up. */
export interface LookupRequest {
  kind: "lookup";
  /** `geoip` for TSV answers, `json` for records. */
  format: "geoip" | "json";
  /** The addresses as sent, not yet validated, in request order. */
  addresses: string[];
}

/** A request that is not a lookup. */
export interface SimpleRequest {
  kind: "ping" | "info";
}

/** A request that cannot be served; `reason` says why, for the `ERROR` reply. */
export interface InvalidRequest {
  kind: "invalid";
  reason: string;
}

/** What {@linkcode parseRequest} makes of a frame. */
export type Request = LookupRequest | SimpleRequest | InvalidRequest;

/** The verbs, for messages. */
export const VERBS = ["geoip", "json", "ping", "info"] as const;

const asciiDecoder = new TextDecoder("latin1");
const WORD_SEPARATOR = /[ \t\r\n]+/;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Quotes a client's value for an error message: at most 40 characters, control and
 * non-ASCII characters escaped, so the reason stays one printable line.
 *
 * @param value the value as received
 * @returns the value in double quotes
 */
export function quoteValue(value: string): string {
  const cut = value.length > 40 ? value.slice(0, 40) + "..." : value;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) => {
    return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
  });
}

/**
 * The `ERROR` reply for a reason.
 *
 * @param reason a short, single-line reason
 * @returns `ERROR`, a tab and the reason
 */
export function errorReply(reason: string): string {
  return `ERROR\t${reason.replace(/[\t\r\n]/g, " ")}`;
}

/**
 * Parses one request frame. Leading and trailing white space (including a final line
 * break) is ignored; words are separated by runs of spaces or tabs.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS, parseRequest } from "./protocol.ts";
 * const frame = new TextEncoder().encode("geoip 81.2.69.160");
 * console.log(parseRequest(frame, DEFAULT_LIMITS));
 * // { kind: "lookup", format: "geoip", addresses: ["81.2.69.160"] }
 * ```
 *
 * @param frame the request bytes
 * @param limits the size and batch bounds
 * @returns the request, or why it is invalid
 */
export function parseRequest(frame: Uint8Array, limits: RequestLimits): Request {
  if (frame.length > limits.maxRequestBytes) {
    return invalid(`request larger than ${limits.maxRequestBytes} bytes`);
  }
  for (let i = 0; i < frame.length; i++) {
    const byte = frame[i]!;
    if ((byte < 0x20 || byte > 0x7e) && byte !== TAB && byte !== CR && byte !== LF) {
      return invalid("request is not printable ASCII");
    }
  }
  const text = asciiDecoder.decode(frame).trim();
  const words = text === "" ? [] : text.split(WORD_SEPARATOR, limits.maxAddresses + 2);
  if (words.length > limits.maxAddresses + 1) {
    return invalid(`more than ${limits.maxAddresses} addresses in one request`);
  }
  const verb = words[0];
  if (verb === undefined) return invalid("empty request");
  switch (verb) {
    case "geoip":
    case "json":
      if (words.length === 1) return invalid(`"${verb}" needs an IP address`);
      return { kind: "lookup", format: verb, addresses: words.slice(1) };
    case "ping":
    case "info":
      if (words.length > 1) return invalid(`"${verb}" takes no arguments`);
      return { kind: verb };
    default:
      return invalid(`unknown command ${quoteValue(verb)}; expected one of ${VERBS.join(", ")}`);
  }
}

function invalid(reason: string): InvalidRequest {
  return { kind: "invalid", reason };
}

/**
 * The head of an HTTP/1.1 request (request line and header fields), parsed strictly:
 * what the server needs to frame the body and to route, nothing more.
 *
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  /** The method, e.g. `GET` (case-sensitive, as sent). */
  method: string;
  /** The path of the request target, percent-encoded as sent (dot segments removed). */
  path: string;
  /** The query after `?`, without it; empty when there is none. */
  query: string;
  /** `1.1` or `1.0`. */
  version: "1.1" | "1.0";
  /** Header fields by lower-case name; repeated fields joined with `, `. */
  headers: Map<string, string>;
  /** How the body is framed: none, a declared length, or chunked. */
  body: { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };
  /** Whether the connection stays open after the answer. */
  keepAlive: boolean;
  /** Whether the client waits for `100 Continue` before sending the body. */
  expectContinue: boolean;
}

/** A head that cannot be served: the status to answer with, and why. */
export class HeadError extends Error {
  /** 400, 501 or 505. */
  readonly status: number;

  /**
   * @param status the HTTP status to answer with
   * @param message one line saying what was wrong
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HeadError";
    this.status = status;
  }
}

const latin1 = new TextDecoder("latin1");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/;
/** Spaces and tabs around a field value. */
const OWS_AROUND = /^[ \t]+|[ \t]+$/g;
/** Control characters other than the tab, which no field value may hold. */
// deno-lint-ignore no-control-regex -- control characters are what it looks for
const CONTROL = /[\0-\x08\x0a-\x1f\x7f]/;
/** A path the URL parser need not normalise (no dot segments, escapes or odd bytes). */
const PLAIN_PATH = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@/]*$/;

/**
 * Parses a request head, the bytes before the blank line that ends it (without it).
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "./request_head.ts";
 * const head = parseRequestHead(new TextEncoder().encode("GET /json/1.2.3.4?lang=de HTTP/1.1\r\nHost: x"));
 * console.log(head.path, head.query, head.keepAlive); // /json/1.2.3.4 lang=de true
 * ```
 *
 * @param bytes the head, without its final empty line
 * @returns the parsed head
 * @throws {HeadError} when it does not parse, or asks for what the server does not do
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  const lines = latin1.decode(bytes).split("\r\n");
  const requestLine = REQUEST_LINE.exec(lines[0]!);
  if (requestLine === null) throw new HeadError(400, "malformed request line");
  const method = requestLine[1]!;
  const target = requestLine[2]!;
  const version = requestLine[3] === "1" ? "1.1" : "1.0";
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HeadError(400, "malformed header field");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HeadError(400, "malformed header field name");
    // Optional whitespace is spaces and tabs only (RFC 9110 5.6.3); no other control
    // character may appear in a value (a vertical tab is not whitespace to a proxy).
    const value = line.slice(colon + 1).replace(OWS_AROUND, "");
    if (CONTROL.test(value)) throw new HeadError(400, `malformed value of header field "${name}"`);
    const key = name.toLowerCase();
    const before = headers.get(key);
    headers.set(key, before === undefined ? value : `${before}, ${value}`);
  }
  const { path, query } = splitTarget(target);
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = version === "1.1"
    ? !/(^|,)\s*close\s*(,|$)/.test(connection)
    : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
  return {
    method,
    path,
    query,
    version,
    headers,
    body: bodyFraming(headers),
    keepAlive,
    expectContinue: (headers.get("expect") ?? "").toLowerCase() === "100-continue",
  };
}

/** The path and query of an origin-form target (`/a/b?c`); dot segments resolved. */
function splitTarget(target: string): { path: string; query: string } {
  if (target[0] !== "/") throw new HeadError(400, "request target must start with /");
  const mark = target.indexOf("?");
  const rawPath = mark < 0 ? target : target.slice(0, mark);
  const query = mark < 0 ? "" : target.slice(mark + 1);
  if (PLAIN_PATH.test(rawPath) && !rawPath.includes("/.")) return { path: rawPath, query };
  let url: URL;
  try {
    url = new URL(rawPath, "http://localhost");
  } catch {
    throw new HeadError(400, "malformed request target");
  }
  return { path: url.pathname, query };
}

function bodyFraming(headers: Map<string, string>): RequestHead["body"] {
  const transfer = headers.get("transfer-encoding");
  const length = headers.get("content-length");
  if (transfer !== undefined) {
    if (length !== undefined) {
      throw new HeadError(400, "both Transfer-Encoding and Content-Length");
    }
    if (transfer.toLowerCase() !== "chunked") {
      throw new HeadError(501, `Transfer-Encoding "${transfer}" not supported; use chunked`);
    }
    return { kind: "chunked" };
  }
  if (length === undefined) return { kind: "none" };
  if (!/^\d{1,15}$/.test(length)) throw new HeadError(400, "malformed Content-Length");
  const declared = Number(length);
  return declared === 0 ? { kind: "none" } : { kind: "length", length: declared };
}

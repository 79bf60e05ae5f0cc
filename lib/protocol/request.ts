/**
 * The request language of geoipmq: one frame of printable ASCII, a verb and its
 * arguments separated by spaces or tabs. See `docs/PROTOCOL.md`.
 *
 * - `geoip <ip> [<ip>...]`: tab-separated fields per address
 * - `json <ip> [<ip>...]`: the database record per address, as JSON
 * - `get <fields> <ip> [<ip>...]`: the named fields of the record per address, as TSV
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

/** How a lookup is answered: the eight TSV fields, the JSON record, or chosen fields. */
export type LookupFormat = "geoip" | "json" | "get";

/** A request to look addresses up. */
export interface LookupRequest {
  kind: "lookup";
  /** `geoip` for TSV answers, `json` for records, `get` for the fields named. */
  format: LookupFormat;
  /** For `get`: the comma-separated field list, as sent (checked by the responder). */
  fields?: string;
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
export const VERBS = ["geoip", "json", "ping", "info", "get"] as const;

const asciiDecoder = new TextDecoder("latin1");
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
 * import { DEFAULT_LIMITS, parseRequest } from "./request.ts";
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
  const scan = new RequestScan(limits);
  const kind = scan.scan(frame, frame.length);
  if (kind === "invalid") return invalid(scan.reason);
  if (kind === "lookup") {
    const addresses: string[] = [];
    for (let i = 0; i < scan.addressCount; i++) addresses.push(scan.addressText(frame, i));
    if (scan.format === "get") {
      return { kind, format: "get", fields: scan.fieldsText(frame), addresses };
    }
    return { kind, format: scan.format, addresses };
  }
  return { kind };
}

function invalid(reason: string): InvalidRequest {
  return { kind: "invalid", reason };
}

const VERB_BYTES = VERBS.map((verb) => new TextEncoder().encode(verb));

/**
 * The request parser of the request loop: it finds the verb and the byte ranges of the
 * addresses in a frame, reusing its own arrays, so a request costs no allocation.
 * {@linkcode parseRequest} is the same parser with a friendlier result.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS, RequestScan } from "./request.ts";
 * const scan = new RequestScan(DEFAULT_LIMITS);
 * const frame = new TextEncoder().encode("geoip 1.2.3.4 ::1");
 * console.log(scan.scan(frame, frame.length), scan.addressCount, scan.addressText(frame, 1)); // lookup 2 ::1
 * ```
 */
export class RequestScan {
  /** The verb of a lookup, after {@linkcode RequestScan.scan} returned `lookup`. */
  format: LookupFormat = "geoip";
  /** For `get`: where the field list starts and ends in the frame. */
  fieldsStart = 0;
  /** @see {@linkcode RequestScan.fieldsStart} */
  fieldsEnd = 0;
  /** How many addresses the lookup carries. */
  addressCount = 0;
  /** Where each address starts in the frame. */
  readonly starts: Int32Array;
  /** Where each address ends (exclusive). */
  readonly ends: Int32Array;
  /** Why the request is invalid, after `scan` returned `invalid`. */
  reason = "";
  readonly #limits: RequestLimits;

  /** @param limits the size and batch bounds */
  constructor(limits: RequestLimits) {
    this.#limits = limits;
    this.starts = new Int32Array(limits.maxAddresses);
    this.ends = new Int32Array(limits.maxAddresses);
  }

  /**
   * Scans one frame. Leading and trailing white space is ignored; words are separated by
   * runs of spaces, tabs, CRs or LFs.
   *
   * @param frame holds the request bytes at its start
   * @param length the request's size
   * @returns the kind of request; see the fields for its parts
   */
  scan(frame: Uint8Array, length: number): "lookup" | "ping" | "info" | "invalid" {
    const limits = this.#limits;
    this.fieldsStart = this.fieldsEnd = 0;
    if (length > limits.maxRequestBytes) {
      return this.#invalid(`request larger than ${limits.maxRequestBytes} bytes`);
    }
    let verbStart = -1;
    let verbEnd = -1;
    let count = 0;
    let fieldsWord = false;
    let wordStart = -1;
    for (let i = 0; i <= length; i++) {
      const byte = i < length ? frame[i]! : 0x20;
      const space = byte === 0x20 || byte === TAB || byte === CR || byte === LF;
      if (!space && (byte < 0x21 || byte > 0x7e)) {
        return this.#invalid("request is not printable ASCII");
      }
      if (!space) {
        if (wordStart < 0) wordStart = i;
        continue;
      }
      if (wordStart < 0) continue;
      if (verbStart < 0) {
        verbStart = wordStart;
        verbEnd = i;
        fieldsWord = sameBytes(frame, verbStart, verbEnd, VERB_BYTES[4]!);
      } else if (fieldsWord) {
        // `get`: its first argument is the field list, the addresses follow.
        this.fieldsStart = wordStart;
        this.fieldsEnd = i;
        fieldsWord = false;
      } else {
        if (count === limits.maxAddresses) {
          return this.#invalid(`more than ${limits.maxAddresses} addresses in one request`);
        }
        this.starts[count] = wordStart;
        this.ends[count] = i;
        count++;
      }
      wordStart = -1;
    }
    this.addressCount = count;
    if (verbStart < 0) return this.#invalid("empty request");
    let verb = -1;
    for (let v = 0; v < VERB_BYTES.length && verb < 0; v++) {
      if (sameBytes(frame, verbStart, verbEnd, VERB_BYTES[v]!)) verb = v;
    }
    switch (verb) {
      case 0:
      case 1:
        if (count === 0) return this.#invalid(`"${VERBS[verb]}" needs an IP address`);
        this.format = verb === 0 ? "geoip" : "json";
        return "lookup";
      case 2:
      case 3:
        if (count > 0) return this.#invalid(`"${VERBS[verb]}" takes no arguments`);
        return verb === 2 ? "ping" : "info";
      case 4:
        if (this.fieldsEnd <= verbEnd) {
          return this.#invalid(
            `"get" needs a field list, e.g. "get country.iso_code,city.name 1.2.3.4"`,
          );
        }
        if (count === 0) return this.#invalid(`"get" needs an IP address after its field list`);
        this.format = "get";
        return "lookup";
      default: {
        const text = asciiDecoder.decode(frame.subarray(verbStart, verbEnd));
        return this.#invalid(
          `unknown command ${quoteValue(text)}; expected one of ${VERBS.join(", ")}`,
        );
      }
    }
  }

  /**
   * @param frame the frame last scanned (a `get` request)
   * @returns its field list as text
   */
  fieldsText(frame: Uint8Array): string {
    return asciiDecoder.decode(frame.subarray(this.fieldsStart, this.fieldsEnd));
  }

  /**
   * @param frame the frame last scanned
   * @param index which address
   * @returns the address as text
   */
  addressText(frame: Uint8Array, index: number): string {
    return asciiDecoder.decode(frame.subarray(this.starts[index], this.ends[index]));
  }

  #invalid(reason: string): "invalid" {
    this.reason = reason;
    this.addressCount = 0;
    return "invalid";
  }
}

function sameBytes(frame: Uint8Array, start: number, end: number, bytes: Uint8Array): boolean {
  if (end - start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (frame[start + i] !== bytes[i]) return false;
  return true;
}

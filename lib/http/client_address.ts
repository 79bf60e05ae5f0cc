/**
 * The address of the client behind trusted proxies: taken from `Forwarded` (RFC 7239),
 * else `X-Forwarded-For`, else `X-Real-IP`, but only when the peer is a trusted proxy;
 * from any other peer those headers are ignored.
 *
 * @module
 */

import {
  formatIpAddress,
  type IpAddress,
  isIpv4Mapped,
  parseIpAddress,
  quoteValue,
} from "../protocol/mod.ts";
import type { TrustedProxies } from "./trusted_proxies.ts";

/** A proxy header that does not parse: answered 400 with the message. */
export class ClientAddressError extends Error {
  /** @param message one line naming the header and what is wrong with it */
  constructor(message: string) {
    super(message);
    this.name = "ClientAddressError";
  }
}

/** A hop of a proxy chain: an address, or `unknown` (hidden or obfuscated). */
type Hop = IpAddress | "unknown";

/** A hop as written, read only when the walk reaches it. */
type WrittenHop = () => Hop;

/**
 * The client's address. When the peer is a trusted proxy, the chain of the first of the
 * headers `Forwarded`, `X-Forwarded-For`, `X-Real-IP` that is present is walked from the
 * right: the first address that is not a trusted proxy is the client; when every one is
 * trusted, the leftmost is; a hop written `unknown` (or obfuscated, `_name`) ends the
 * walk at the trusted hop after it. IPv4-mapped IPv6 addresses are given as IPv4.
 *
 * @example
 * ```ts
 * import { clientAddress } from "./client_address.ts";
 * import { TrustedProxies } from "./trusted_proxies.ts";
 * const proxies = TrustedProxies.parse(["127.0.0.0/8"]);
 * const headers = new Map([["x-forwarded-for", "203.0.113.9, 127.0.0.5"]]);
 * console.log(clientAddress({ peer: "127.0.0.1", headers }, proxies)); // "203.0.113.9"
 * console.log(clientAddress({ peer: "192.0.2.1", headers }, proxies)); // "192.0.2.1"
 * ```
 *
 * @param request the peer's address and the request's header fields (lower-case names)
 * @param proxies the trusted proxies; undefined: none (the peer is the client)
 * @returns the client's address, in canonical text form
 * @throws {ClientAddressError} when the peer is trusted and the header does not parse
 */
export function clientAddress(
  request: { peer: string; headers: ReadonlyMap<string, string> },
  proxies: TrustedProxies | undefined,
): string {
  // The common case, without parsing: no proxies, an IPv4 peer.
  if (proxies === undefined && !request.peer.includes(":")) return request.peer;
  const peer = parseIpAddress(request.peer);
  if (peer === undefined) return request.peer;
  if (proxies === undefined || !proxies.includes(peer)) return plainText(peer);
  const { headers } = request;
  let hops: WrittenHop[];
  const forwarded = headers.get("forwarded");
  const forwardedFor = headers.get("x-forwarded-for");
  const realIp = headers.get("x-real-ip");
  if (forwarded !== undefined) hops = parseForwarded(forwarded);
  else if (forwardedFor !== undefined) hops = parseForwardedFor(forwardedFor);
  else if (realIp !== undefined) hops = [() => parseNode(realIp.trim(), "X-Real-IP", false)];
  else return plainText(peer);
  let trusted: IpAddress = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!();
    if (hop === "unknown") return plainText(trusted);
    if (!proxies.includes(hop)) return plainText(hop);
    trusted = hop;
  }
  return plainText(trusted);
}

function plainText(address: IpAddress): string {
  return formatIpAddress(
    isIpv4Mapped(address) ? { version: 4, bytes: address.bytes.subarray(12) } : address,
  );
}

/** `X-Forwarded-For: client, proxy1, proxy2`. */
function parseForwardedFor(value: string): WrittenHop[] {
  return value.split(",").map((item) => () => parseNode(item.trim(), "X-Forwarded-For", false));
}

/**
 * A node: an IPv4 address, a bracketed IPv6 address, each with an optional port; a bare
 * IPv6 address where brackets are optional (`X-Forwarded-For`, `X-Real-IP`); `unknown`
 * or an obfuscated `_name`.
 */
function parseNode(text: string, header: string, bracketsNeeded: boolean): Hop {
  const refuse = (): never => {
    throw new ClientAddressError(
      `${header}: ${quoteValue(text)} is not an IP address`,
    );
  };
  if (text.toLowerCase() === "unknown" || /^_[A-Za-z0-9._-]+$/.test(text)) return "unknown";
  let address: string;
  let port = "";
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) refuse();
    address = text.slice(1, close);
    port = text.slice(close + 1);
    if (!address.includes(":")) refuse();
  } else if (text.split(":").length === 2) {
    [address, port] = text.split(":") as [string, string];
    port = `:${port}`;
  } else {
    address = text;
    if (bracketsNeeded && address.includes(":")) refuse();
  }
  if (port !== "" && !/^:(?:[0-9]{1,5}|_[A-Za-z0-9._-]+)$/.test(port)) refuse();
  return parseIpAddress(address) ?? refuse();
}

/**
 * `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`: the `for` node of
 * each element, in order; an element without one is `unknown`.
 */
function parseForwarded(value: string): WrittenHop[] {
  const hops: WrittenHop[] = [];
  const refuse = (why: string): never => {
    throw new ClientAddressError(`Forwarded: ${why}`);
  };
  let i = 0;
  const skipSpace = () => {
    while (value[i] === " " || value[i] === "\t") i++;
  };
  for (;;) {
    let node: string | undefined;
    for (;;) {
      skipSpace();
      const nameStart = i;
      while (i < value.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(value[i]!)) i++;
      const name = value.slice(nameStart, i).toLowerCase();
      if (name === "") {
        if (value[i] === ";" || value[i] === "," || i >= value.length) {
          // An empty pair (`;;`) is allowed by the grammar.
        } else refuse(`unexpected ${quoteValue(value[i]!)} at ${i}`);
      } else {
        if (value[i] !== "=") refuse(`expected "=" after ${quoteValue(name)}`);
        i++;
        let text: string;
        if (value[i] === '"') {
          i++;
          text = "";
          while (i < value.length && value[i] !== '"') {
            if (value[i] === "\\") i++;
            if (i < value.length) text += value[i++];
          }
          if (value[i] !== '"') refuse("unterminated quoted string");
          i++;
        } else {
          const start = i;
          while (i < value.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(value[i]!)) i++;
          text = value.slice(start, i);
          if (text === "") refuse(`empty value of ${quoteValue(name)}`);
        }
        if (name === "for") {
          if (node !== undefined) refuse('two "for" in one element');
          node = text;
        }
      }
      skipSpace();
      if (value[i] === ";") {
        i++;
        continue;
      }
      break;
    }
    const written = node;
    hops.push(() => written === undefined ? "unknown" : parseNode(written, "Forwarded", true));
    if (i >= value.length) return hops;
    if (value[i] !== ",") refuse(`unexpected ${quoteValue(value[i]!)} at ${i}`);
    i++;
  }
}

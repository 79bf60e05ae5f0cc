/**
 * Whether a bound endpoint can be reached from other hosts: the test behind the warning
 * that geoipmq logs when it listens beyond this machine without CURVE.
 *
 * @module
 */

import { isIpv4Mapped, parseIpAddress } from "../protocol/mod.ts";

/**
 * Tells whether only this machine can reach an endpoint: `ipc://` and `inproc://`
 * endpoints, and TCP on a loopback address (127.0.0.0/8, `::1`, `::ffff:127.x.x.x`,
 * `localhost`). Anything else (`0.0.0.0`, `[::]`, `*`, an interface name, a host name, a
 * routable address) counts as reachable from other hosts.
 *
 * @example
 * ```ts
 * import { isLoopbackEndpoint } from "./endpoint.ts";
 * console.log(isLoopbackEndpoint("tcp://127.0.0.1:5555")); // true
 * console.log(isLoopbackEndpoint("tcp://[::1]:5555")); // true
 * console.log(isLoopbackEndpoint("ipc:///run/geoipmq.sock")); // true
 * console.log(isLoopbackEndpoint("tcp://0.0.0.0:5555")); // false
 * ```
 *
 * @param endpoint an endpoint as bound, e.g. `tcp://0.0.0.0:5555`
 * @returns true when only this machine can connect to it
 */
export function isLoopbackEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith("ipc://") || endpoint.startsWith("inproc://")) return true;
  const tcp = endpoint.match(/^tcp:\/\/(?:\[([^\]]*)\]|([^:]*)):(?:\d+|\*)$/);
  if (tcp === null) return false;
  const host = tcp[1] ?? tcp[2] ?? "";
  if (host === "localhost") return true;
  const address = parseIpAddress(host);
  if (address === undefined) return false;
  const bytes = address.bytes;
  if (address.version === 4) return bytes[0] === 127;
  if (isIpv4Mapped(address)) return bytes[12] === 127;
  return bytes.every((byte, i) => byte === (i === 15 ? 1 : 0));
}

/**
 * Whether a TCP endpoint needs `ZMQ_IPV6`: an IPv6 literal, or a wildcard (dual stack).
 *
 * @example
 * ```ts
 * import { wantsIpv6 } from "./endpoint.ts";
 * console.log(wantsIpv6("tcp://[::1]:5555")); // true
 * console.log(wantsIpv6("tcp://*:5555")); // true
 * console.log(wantsIpv6("tcp://127.0.0.1:5555")); // false
 * ```
 *
 * @param endpoint e.g. `tcp://[::1]:5555`
 * @returns true when the socket should accept IPv6
 */
export function wantsIpv6(endpoint: string): boolean {
  return /^tcp:\/\/(\[|\*:)/.test(endpoint);
}

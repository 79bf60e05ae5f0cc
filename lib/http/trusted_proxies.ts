/**
 * The networks of trusted proxies (`--http-trusted-proxy`): a list of CIDR blocks, and
 * whether an address is in one of them.
 *
 * @module
 */

import { type IpAddress, isIpv4Mapped, parseIpAddress } from "../protocol/mod.ts";

interface Network {
  bytes: Uint8Array;
  prefix: number;
}

/** A list of networks, e.g. `10.0.0.0/8`, `192.0.2.7` (one address), `fd00::/8`. */
export class TrustedProxies {
  readonly #networks: readonly Network[];

  private constructor(networks: readonly Network[]) {
    this.#networks = networks;
  }

  /**
   * Parses CIDR blocks; an address without `/bits` is that address alone. An IPv4-mapped
   * IPv6 address (`::ffff:192.0.2.1`) is compared as the IPv4 address it maps.
   *
   * @example
   * ```ts
   * import { parseIpAddress } from "../protocol/mod.ts";
   * import { TrustedProxies } from "./trusted_proxies.ts";
   * const proxies = TrustedProxies.parse(["10.0.0.0/8", "::1"]);
   * console.log(proxies.includes(parseIpAddress("10.1.2.3")!)); // true
   * console.log(proxies.includes(parseIpAddress("192.0.2.1")!)); // false
   * ```
   *
   * @param blocks the CIDR blocks
   * @returns the list
   * @throws {TypeError} naming the first block that does not parse
   */
  static parse(blocks: readonly string[]): TrustedProxies {
    return new TrustedProxies(blocks.map(parseNetwork));
  }

  /** Whether no network is listed. */
  get empty(): boolean {
    return this.#networks.length === 0;
  }

  /**
   * @param address an address
   * @returns whether it is in one of the networks
   */
  includes(address: IpAddress): boolean {
    const bytes = plainBytes(address);
    return this.#networks.some((network) => inNetwork(bytes, network));
  }
}

/** The address's bytes, an IPv4-mapped IPv6 address as its 4 IPv4 bytes. */
function plainBytes(address: IpAddress): Uint8Array {
  return isIpv4Mapped(address) ? address.bytes.subarray(12) : address.bytes;
}

function parseNetwork(block: string): Network {
  const slash = block.indexOf("/");
  const text = slash < 0 ? block : block.slice(0, slash);
  const address = parseIpAddress(text);
  if (address === undefined) {
    throw new TypeError(`"${block}" is not an address or CIDR block such as 10.0.0.0/8`);
  }
  let bytes = address.bytes;
  let prefix = bytes.length * 8;
  if (slash >= 0) {
    const bits = block.slice(slash + 1);
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(bits) || Number(bits) > prefix) {
      throw new TypeError(`"${block}": the prefix length must be 0 to ${prefix}`);
    }
    prefix = Number(bits);
  }
  if (isIpv4Mapped(address) && prefix >= 96) {
    bytes = bytes.subarray(12);
    prefix -= 96;
  }
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) {
      throw new TypeError(`"${block}" has bits set past its prefix length`);
    }
  }
  return { bytes, prefix };
}

function inNetwork(bytes: Uint8Array, network: Network): boolean {
  if (bytes.length !== network.bytes.length) return false;
  const whole = network.prefix >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== network.bytes[i]) return false;
  const rest = network.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole]! & mask) === (network.bytes[whole]! & mask);
}

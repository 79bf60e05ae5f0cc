/**
 * Strict parsing and formatting of IPv4 and IPv6 addresses, without regular expressions.
 *
 * Accepted: dotted-quad IPv4 (`192.0.2.1`, no leading zeros, no shorthand), and IPv6 in
 * the forms of RFC 4291 section 2.2, with one `::` at most and an optional dotted-quad
 * tail (`::ffff:192.0.2.1`). Refused: zone ids (`fe80::1%eth0`), brackets, prefixes,
 * leading zeros in IPv4 parts, groups longer than four digits, more than eight groups.
 *
 * @module
 */

/** An address as 4 (IPv4) or 16 (IPv6) bytes in network order. */
export interface IpAddress {
  /** 4 for IPv4, 6 for IPv6 (including IPv4-mapped IPv6). */
  readonly version: 4 | 6;
  /** The address bytes, 4 or 16 of them. */
  readonly bytes: Uint8Array;
}

/** The longest text form of an IPv6 address (with an IPv4 tail). */
export const MAX_ADDRESS_LENGTH = 45;

/**
 * Parses an IP address.
 *
 * @example
 * ```ts
 * import { parseIpAddress } from "./ip_address.ts";
 * console.log(parseIpAddress("192.0.2.1")?.version); // 4
 * console.log(parseIpAddress("192.0.2.256")); // undefined
 * ```
 *
 * @param text the address
 * @returns the address, or undefined when `text` is not a valid address
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (text.length === 0 || text.length > MAX_ADDRESS_LENGTH) return undefined;
  const ascii = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7e) return undefined;
    ascii[i] = code;
  }
  const out = new Uint8Array(16);
  const version = parseIpInto(ascii, 0, ascii.length, out);
  if (version === 0) return undefined;
  return { version, bytes: version === 4 ? out.slice(0, 4) : out };
}

/**
 * Parses an IP address written in ASCII bytes, without allocating: the request loop's
 * parser.
 *
 * @param text the bytes holding the address
 * @param start where the address starts
 * @param end where it ends (exclusive)
 * @param out at least 16 bytes: receives the 4 (IPv4) or 16 (IPv6) address bytes
 * @returns 4 or 6, or 0 when the bytes are not a valid address
 */
export function parseIpInto(
  text: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): 0 | 4 | 6 {
  const length = end - start;
  if (length <= 0 || length > MAX_ADDRESS_LENGTH) return 0;
  for (let i = start; i < end; i++) {
    if (text[i] === 58) return parseIpv6Into(text, start, end, out) ? 6 : 0;
  }
  return parseIpv4Into(text, start, end, out, 0) ? 4 : 0;
}

function parseIpv4Into(
  text: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  offset: number,
): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const code = i < end ? text[i]! : 46; // a final "." closes the last part
    if (code >= 48 && code <= 57) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + code - 48;
      digits++;
      if (value > 255) return false;
    } else if (code === 46) {
      if (digits === 0 || part > 3) return false;
      out[offset + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

function parseIpv6Into(text: Uint8Array, start: number, end: number, out: Uint8Array): boolean {
  // Groups are written into `out` as they come (group g at bytes 2g, 2g + 1); a "::" gap is
  // opened at the end, by moving the groups after it to the back.
  let groupCount = 0;
  let gapAt = -1;
  let i = start;
  if (text[start] === 58 && end - start >= 2 && text[start + 1] === 58) {
    gapAt = 0;
    i = start + 2;
    if (i === end) {
      out.fill(0, 0, 16);
      return true; // "::"
    }
  } else if (text[start] === 58) {
    return false; // a single leading ":"
  }
  while (i < end) {
    let value = 0;
    let digits = 0;
    const groupStart = i;
    while (i < end) {
      const digit = hexValue(text[i]!);
      if (digit < 0) break;
      value = value * 16 + digit;
      digits++;
      i++;
    }
    if (i < end && text[i] === 46) {
      // An IPv4 tail takes the next two groups: parsed into bytes 12-15 (after every group
      // so far, at most six), then moved to where those groups go.
      if (groupCount > 6) return false;
      if (!parseIpv4Into(text, groupStart, end, out, 12)) return false;
      out.copyWithin(groupCount * 2, 12, 16);
      groupCount += 2;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4 || groupCount === 8) return false;
    out[groupCount * 2] = value >> 8;
    out[groupCount * 2 + 1] = value & 0xff;
    groupCount++;
    if (i === end) break;
    if (text[i] !== 58) return false;
    i++;
    if (i < end && text[i] === 58) {
      if (gapAt >= 0) return false; // a second "::"
      gapAt = groupCount;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // a single trailing ":"
    }
  }
  if (gapAt < 0) return groupCount === 8;
  if (groupCount > 7) return false;
  const tailGroups = groupCount - gapAt;
  out.copyWithin(16 - tailGroups * 2, gapAt * 2, groupCount * 2);
  out.fill(0, gapAt * 2, 16 - tailGroups * 2);
  return true;
}

/**
 * Whether an IPv6 address is IPv4-mapped (`::ffff:0:0/96`).
 *
 * @param address the address
 * @returns true for `::ffff:a.b.c.d`
 */
export function isIpv4Mapped(address: IpAddress): boolean {
  if (address.version !== 6) return false;
  const b = address.bytes;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Formats an address in its canonical text form: dotted quad for IPv4, RFC 5952 for IPv6
 * (lower case, longest run of two or more zero groups as `::`, `::ffff:a.b.c.d` for
 * IPv4-mapped addresses).
 *
 * @param address the address
 * @returns its canonical text
 */
export function formatIpAddress(address: IpAddress): string {
  const b = address.bytes;
  if (address.version === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (isIpv4Mapped(address)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * The network of a given prefix length that contains an address, in CIDR form.
 *
 * @param address the address
 * @param prefixLength bits of the network part, up to 32 or 128
 * @returns e.g. `192.0.2.0/24`
 */
export function formatNetwork(address: IpAddress, prefixLength: number): string {
  const bits = address.bytes.length * 8;
  const prefix = Math.max(0, Math.min(bits, prefixLength));
  const masked = new Uint8Array(address.bytes);
  for (let bit = prefix; bit < bits; bit++) {
    masked[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return `${formatIpAddress({ version: address.version, bytes: masked })}/${prefix}`;
}

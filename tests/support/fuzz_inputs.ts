/**
 * Inputs for the request fuzz tests: valid addresses in every form, addresses in odd
 * forms, strings of address characters, and mutations of valid requests, all drawn from
 * a seeded {@linkcode Random}.
 *
 * @module
 */

import type { RequestLimits } from "../../lib/protocol/mod.ts";
import type { Random } from "./fuzz_random.ts";
import { concatBytes } from "../../tooling/mod.ts";

const encoder = new TextEncoder();

/** The request limits the fuzz tests parse and answer with. */
export const FUZZ_LIMITS: RequestLimits = { maxRequestBytes: 4096, maxAddresses: 50 };

/** The characters IPv4 and IPv6 addresses are made of. */
export const IP_ALPHABET = "0123456789abcdefABCDEF:.";

/** Addresses in odd forms that a client might send, valid or not. */
export const ODD_ADDRESSES: readonly string[] = [
  "01.2.3.4",
  "81.02.69.160",
  "1.2.3.04",
  "00.0.0.0",
  "fe80::1%eth0",
  "fe80::1%25eth0",
  "fe80::1%",
  "1:2:3:4:5:6:7:8:9",
  "1:2:3:4:5:6:7:8::",
  "::1:2:3:4:5:6:7:8",
  "1:2::3:4:5:6:7:8",
  "1".repeat(60),
  "a:".repeat(30),
  "1:".repeat(29) + "1",
  "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000",
  "0000:0000:0000:0000:0000:ffff:255.255.255.255",
  "0000:0000:0000:0000:0000:ffff:255.255.255.2555",
  "1.2.3.4.5",
  "81.2.69.160.1",
  "1.2.3",
  "1.2",
  "1",
  "::ffff:81.2.69.160",
  "::FFFF:81.2.69.161",
  "0:0:0:0:0:ffff:81.2.69.160",
  "::ffff:5102:45a0",
  "::81.2.69.160",
  "64:ff9b::81.2.69.160",
  "::ffff:01.2.3.4",
  "::ffff:1.2.3",
  "::ffff:1.2.3.4.5",
  "::",
  ":::",
  "::::",
  ":",
  "::1",
  "::1:",
  ":1::",
  "1::",
  "1::2::3",
  "2001:db8::1",
  "2001:DB8::1",
  "2001:0db8:0000:0000:0000:0000:0000:0001",
  "2001:db8:0:0:0:0:0:1",
  "2001:db8::00001",
  "2001:db8::g",
  "2001:db8::1.2.3.4",
  "1:2:3:4:5:6:1.2.3.4",
  "1:2:3:4:5:6:7:1.2.3.4",
  "1:2:3:4:5:6::1.2.3.4",
  "0x51.2.69.160",
  "0x51020645",
  "1361167776",
  "81.2.69.0xa0",
  "0xff.0xff.0xff.0xff",
  "[::1]",
  "[81.2.69.160]",
  "[2001:db8::1]",
  "81.2.69.160.",
  "81.2.69.160..",
  ".81.2.69.160",
  "81..2.69.160",
  "81.2.69.160/27",
  "2001:db8::/32",
  "81.2.69.160:80",
  "[::1]:80",
  "81.2.69.256",
  "256.2.69.160",
  "-1.2.3.4",
  "+1.2.3.4",
  "1e1.2.3.4",
  "0.0.0.0",
  "255.255.255.255",
  "localhost",
  "ip6-localhost",
  "NaN",
  "undefined",
  "\\x00",
  "%00",
  "81.2.69.160%00",
  "\u0661.2.3.4",
];

/**
 * @param random the source of randomness
 * @returns a dotted-quad IPv4 address
 */
export function randomIpv4(random: Random): string {
  const value = random.next();
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * A valid IPv6 address in one of the forms of RFC 4291 section 2.2: full or compressed,
 * upper or lower case, with or without leading zeros in groups, with or without an IPv4
 * tail, IPv4-mapped now and then.
 *
 * @param random the source of randomness
 * @returns the address text
 */
export function randomIpv6(random: Random): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) {
    groups.push(random.chance(0.35) ? 0 : random.chance(0.5) ? random.int(16) : random.int(65536));
  }
  if (random.chance(0.15)) groups.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
  const tail = random.chance(0.25);
  let texts = groups.map((g) => {
    let text = g.toString(16);
    if (random.chance(0.15)) text = text.padStart(random.range(text.length, 4), "0");
    return random.chance(0.2) ? text.toUpperCase() : text;
  });
  if (tail) {
    const [a, b] = [groups[6]!, groups[7]!];
    texts = [...texts.slice(0, 6), `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`];
  }
  const slots = texts.length; // 8 groups, or 6 groups and a tail counting as two
  const groupSlots = tail ? 6 : 8;
  if (random.chance(0.7)) {
    // Compress a run of zero groups (any run: not only the longest), at most once.
    const runs: [number, number][] = [];
    for (let i = 0; i < groupSlots; i++) {
      if (groups[i] !== 0) continue;
      let j = i;
      while (j < groupSlots && groups[j] === 0) j++;
      runs.push([i, j]);
      i = j;
    }
    if (runs.length > 0) {
      const [start, end] = random.pick(runs);
      const left = texts.slice(0, start).join(":");
      const right = texts.slice(end, slots).join(":");
      return `${left}::${right}`;
    }
  }
  return texts.join(":");
}

/**
 * @param random the source of randomness
 * @returns a valid address: IPv4, IPv6, or IPv4-mapped IPv6
 */
export function randomValidAddress(random: Random): string {
  const kind = random.int(10);
  if (kind < 5) return randomIpv4(random);
  if (kind < 6) return `::ffff:${randomIpv4(random)}`;
  return randomIpv6(random);
}

/**
 * Mutates an address with characters of an alphabet: replace, insert, delete,
 * duplicate a piece, truncate, or join two.
 *
 * @param random the source of randomness
 * @param text the address
 * @param alphabet characters to insert
 * @returns the mutant
 */
export function mutateText(random: Random, text: string, alphabet: string): string {
  let out = text;
  const rounds = random.range(1, 3);
  for (let round = 0; round < rounds; round++) {
    const at = random.int(out.length + 1);
    const char = alphabet[random.int(alphabet.length)]!;
    switch (random.int(7)) {
      case 0:
        out = out.slice(0, at) + char + out.slice(at + 1);
        break;
      case 1:
        out = out.slice(0, at) + char + out.slice(at);
        break;
      case 2:
        out = out.slice(0, at) + out.slice(at + random.range(1, 3));
        break;
      case 3: {
        const end = Math.min(out.length, at + random.range(1, 6));
        out = out.slice(0, end) + out.slice(at, end) + out.slice(end);
        break;
      }
      case 4:
        out = out.slice(0, at);
        break;
      case 5:
        out = out.slice(0, at) + random.pick([":", "::", ".", "0", "00", "ffff"]) + out.slice(at);
        break;
      default:
        out = out + random.pick([":", ".", "::", ""]) + randomValidAddress(random);
        break;
    }
  }
  return out;
}

/**
 * @param random the source of randomness
 * @param alphabet the characters to use
 * @param maxLength the longest string
 * @returns a random string, short ones more likely
 */
export function randomString(random: Random, alphabet: string, maxLength: number): string {
  const length = random.chance(0.7) ? random.int(Math.min(16, maxLength) + 1) : random.int(
    maxLength + 1,
  );
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[random.int(alphabet.length)];
  return out;
}

/**
 * An address-like string of {@linkcode IP_ALPHABET} characters: a valid address, a
 * mutant of one, or random characters.
 *
 * @param random the source of randomness
 * @returns the string
 */
export function addressLikeString(random: Random): string {
  const kind = random.int(10);
  if (kind < 3) return randomValidAddress(random);
  if (kind < 8) return mutateText(random, randomValidAddress(random), IP_ALPHABET);
  return randomString(random, IP_ALPHABET, 50);
}

/**
 * An address in an odd form: from {@linkcode ODD_ADDRESSES}, or made up from a valid
 * one (zone id, brackets, trailing dot, leading zeros, white space inside, hex parts).
 *
 * @param random the source of randomness
 * @returns the text, which may contain white space
 */
export function oddAddress(random: Random): string {
  if (random.chance(0.5)) return random.pick(ODD_ADDRESSES);
  const valid = randomValidAddress(random);
  switch (random.int(10)) {
    case 0:
      return `${valid}%${random.pick(["eth0", "1", "lo", ""])}`;
    case 1:
      return `[${valid}]`;
    case 2:
      return `${valid}.`;
    case 3:
      return valid.replace(/(^|[.:])(\d)/, "$10$2");
    case 4: {
      const at = random.int(valid.length + 1);
      return valid.slice(0, at) + random.pick([" ", "\t", "\r\n", "  "]) + valid.slice(at);
    }
    case 5:
      return valid.replace(/\d+/, (digits) => `0x${Number(digits).toString(16)}`);
    case 6:
      return `${valid}/${random.int(129)}`;
    case 7:
      return valid.toUpperCase();
    case 8:
      return valid + ":" + random.int(65536).toString(16);
    default:
      return mutateText(random, valid, IP_ALPHABET + "%[]/ xX-+");
  }
}

/** Valid requests, the starting points of mutations. */
export const REQUEST_TEMPLATES: readonly string[] = [
  "geoip 81.2.69.160",
  "json 81.2.69.160",
  "geoip 2001:db8::1",
  "json 2001:db8::1",
  "geoip ::ffff:81.2.69.161",
  "geoip 81.2.69.160 8.8.8.8 2.125.160.217 198.51.100.7",
  "json 203.0.113.9 192.0.2.1 ::1",
  "geoip 192.0.2.1\n",
  "  geoip\t81.2.69.160  \r\n",
  "ping",
  "info",
  "json 1.2.3.4",
];

const VERB_SWAPS = [
  "geoip",
  "json",
  "ping",
  "info",
  "GEOIP",
  "Geoip",
  "geo",
  "geoipx",
  "jsonp",
  "pong",
  "ERROR",
  "",
  "geoip\0",
];

const INTERESTING_BYTES = [
  0x00,
  0x09,
  0x0a,
  0x0d,
  0x20,
  0x7f,
  0x80,
  0xff,
  0xc3,
  0x3a,
  0x2e,
  0x25,
  0x5b,
  0x5d,
  0x2f,
  0x30,
  0x66,
  0x01,
  0x1b,
];

/** Byte sequences that are not valid UTF-8, and some that are but are not ASCII. */
export const NON_ASCII_SEQUENCES: readonly number[][] = [
  [0xc3, 0x28],
  [0xe2, 0x82],
  [0xf0, 0x28, 0x8c, 0xbc],
  [0xff],
  [0xfe, 0xff],
  [0xed, 0xa0, 0x80],
  [0xc0, 0xaf],
  [0x80],
  [0xc3, 0xa9],
  [0xe2, 0x80, 0x8b],
  [0xef, 0xbb, 0xbf],
  [0xf0, 0x9f, 0x98, 0x80],
];

/**
 * Mutates a request frame 1-3 times: flip, insert or delete bytes, swap the verb,
 * stretch white space into runs of spaces, tabs and CRLFs, add a line break, repeat the
 * addresses, insert invalid UTF-8, truncate.
 *
 * @param random the source of randomness
 * @param frame the request
 * @returns the mutant (a new array)
 */
export function mutateRequest(random: Random, frame: Uint8Array): Uint8Array<ArrayBuffer> {
  let out: Uint8Array<ArrayBuffer> = new Uint8Array(frame);
  const rounds = random.range(1, 3);
  for (let round = 0; round < rounds; round++) {
    const at = random.int(out.length + 1);
    switch (random.int(10)) {
      case 0: {
        if (out.length === 0) break;
        const i = random.int(out.length);
        out[i] = random.chance(0.5) ? random.pick(INTERESTING_BYTES) : random.int(256);
        break;
      }
      case 1:
        out = concatBytes([
          out.subarray(0, at),
          new Uint8Array([random.pick(INTERESTING_BYTES)]),
          out.subarray(at),
        ]);
        break;
      case 2:
        out = concatBytes([out.subarray(0, at), out.subarray(at + random.range(1, 3))]);
        break;
      case 3: {
        const text = new TextDecoder("latin1").decode(out);
        const swapped = text.replace(/^\s*\S*/, () => random.pick(VERB_SWAPS));
        out = Uint8Array.from(swapped, (c) => c.charCodeAt(0) & 0xff);
        break;
      }
      case 4: {
        const text = new TextDecoder("latin1").decode(out);
        const runs = text.replace(
          /[ \t]/g,
          () => random.pick([" ", "  ", "\t", "\t\t", " \t ", "\r\n", "\n", "\r", "   "]),
        );
        out = Uint8Array.from(runs, (c) => c.charCodeAt(0) & 0xff);
        break;
      }
      case 5:
        out = concatBytes([
          out,
          encoder.encode(random.pick(["\r\n", "\n", "\r", " ", "\t", "\n\n"])),
        ]);
        break;
      case 6: {
        const text = new TextDecoder("latin1").decode(out);
        const words = text.trim().split(/\s+/);
        const repeat = random.pick([2, 5, 17, 25, 26, 51]);
        const rest = words.slice(1);
        const more = Array.from({ length: repeat }, () => rest).flat();
        out = encoder.encode([words[0] ?? "geoip", ...more].join(" "));
        break;
      }
      case 7:
        out = concatBytes([
          out.subarray(0, at),
          new Uint8Array(random.pick(NON_ASCII_SEQUENCES)),
          out.subarray(at),
        ]);
        break;
      case 8:
        out = out.slice(0, at);
        break;
      default: {
        const text = new TextDecoder("latin1").decode(out);
        out = encoder.encode(`${text} ${oddAddress(random)}`);
        break;
      }
    }
  }
  return out;
}

import assert from "node:assert/strict";
import {
  formatIpAddress,
  formatNetwork,
  isIpv4Mapped,
  parseIpAddress,
} from "../../../lib/protocol/ip_address.ts";

function bytesOf(text: string): number[] {
  const address = parseIpAddress(text);
  assert.ok(address, `expected "${text}" to parse`);
  return [...address.bytes];
}

Deno.test("parseIpAddress() reads dotted-quad IPv4 addresses", () => {
  assert.deepEqual(bytesOf("81.2.69.160"), [81, 2, 69, 160]);
  assert.deepEqual(bytesOf("0.0.0.0"), [0, 0, 0, 0]);
  assert.deepEqual(bytesOf("255.255.255.255"), [255, 255, 255, 255]);
  assert.equal(parseIpAddress("10.0.0.1")?.version, 4);
});

Deno.test("parseIpAddress() rejects malformed IPv4 addresses", async (t) => {
  const cases: [string, string][] = [
    ["five parts", "1.2.3.4.5"],
    ["three parts", "1.2.3"],
    ["a part over 255", "1.2.3.256"],
    ["leading zeros", "01.2.3.4"],
    ["a leading zero in the last part", "1.2.3.04"],
    ["an empty part", "1..2.3"],
    ["a trailing dot", "1.2.3.4."],
    ["a sign", "+1.2.3.4"],
    ["a space", "1.2.3. 4"],
    ["hexadecimal", "0x1.2.3.4"],
    ["a prefix length", "1.2.3.4/24"],
    ["the empty string", ""],
    ["a host name", "localhost"],
  ];
  for (const [name, text] of cases) {
    await t.step(name, () => assert.equal(parseIpAddress(text), undefined, text));
  }
});

Deno.test("parseIpAddress() reads IPv6 addresses in all RFC 4291 forms", () => {
  assert.deepEqual(bytesOf("::"), new Array(16).fill(0));
  assert.deepEqual(bytesOf("::1"), [...new Array(15).fill(0), 1]);
  assert.deepEqual(bytesOf("1::"), [0, 1, ...new Array(14).fill(0)]);
  assert.deepEqual(
    bytesOf("2001:DB8:0:0:8:800:200C:417A"),
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a],
  );
  assert.deepEqual(bytesOf("2001:db8::8:800:200c:417a"), bytesOf("2001:DB8:0:0:8:800:200C:417A"));
  assert.deepEqual(
    bytesOf("::ffff:81.2.69.160"),
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 81, 2, 69, 160],
  );
  assert.deepEqual(bytesOf("1:2:3:4:5:6:1.2.3.4").slice(12), [1, 2, 3, 4]);
  assert.deepEqual(bytesOf("1:2:3:4:5:6:7::"), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]);
  assert.deepEqual(bytesOf("::2:3:4:5:6:7:8"), [0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  assert.equal(parseIpAddress("::ffff:1.2.3.4")?.version, 6);
});

Deno.test("parseIpAddress() rejects malformed IPv6 addresses", async (t) => {
  const cases: [string, string][] = [
    ["two gaps", "1::2::3"],
    ["nine groups", "1:2:3:4:5:6:7:8:9"],
    ["seven groups without a gap", "1:2:3:4:5:6:7"],
    ["eight groups and a gap", "1:2:3:4:5:6:7:8::"],
    ["a group of five digits", "12345::1"],
    ["a zone id", "fe80::1%eth0"],
    ["brackets", "[::1]"],
    ["a single leading colon", ":1:2:3:4:5:6:7"],
    ["a single trailing colon", "1:2:3:4:5:6:7:"],
    ["three colons", ":::"],
    ["a non-hex digit", "::g"],
    ["an IPv4 tail with too many groups", "1:2:3:4:5:6:7:1.2.3.4"],
    ["a bad IPv4 tail", "::ffff:1.2.3.256"],
    ["an IPv4 tail in the middle", "::1.2.3.4:1"],
    ["over 45 characters", "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000"],
  ];
  for (const [name, text] of cases) {
    await t.step(name, () => assert.equal(parseIpAddress(text), undefined, text));
  }
});

Deno.test("formatIpAddress() writes the canonical forms of RFC 5952", () => {
  const canonical = (text: string) => formatIpAddress(parseIpAddress(text)!);
  assert.equal(canonical("2001:DB8:0:0:8:800:200C:417A"), "2001:db8::8:800:200c:417a");
  assert.equal(canonical("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  assert.equal(canonical("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
  assert.equal(canonical("0:0:0:0:0:0:0:0"), "::");
  assert.equal(canonical("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
  assert.equal(canonical("0:0:0:0:0:FFFF:0102:0304"), "::ffff:1.2.3.4");
  assert.equal(canonical("81.2.69.160"), "81.2.69.160");
});

Deno.test("isIpv4Mapped() tells ::ffff:0:0/96 apart", () => {
  assert.equal(isIpv4Mapped(parseIpAddress("::ffff:1.2.3.4")!), true);
  assert.equal(isIpv4Mapped(parseIpAddress("::1.2.3.4")!), false);
  assert.equal(isIpv4Mapped(parseIpAddress("1.2.3.4")!), false);
});

Deno.test("formatNetwork() masks the address to its prefix", () => {
  assert.equal(formatNetwork(parseIpAddress("81.2.69.160")!, 27), "81.2.69.160/27");
  assert.equal(formatNetwork(parseIpAddress("81.2.69.191")!, 27), "81.2.69.160/27");
  assert.equal(formatNetwork(parseIpAddress("81.2.69.191")!, 0), "0.0.0.0/0");
  assert.equal(formatNetwork(parseIpAddress("2001:db8:ffff::1")!, 32), "2001:db8::/32");
  assert.equal(formatNetwork(parseIpAddress("2001:db8::1")!, 128), "2001:db8::1/128");
});

/** The forms an IPv6 address can be written in: in full, as the URL parser writes it, with an IPv4 tail. */
function ipv6Forms(bytes: Uint8Array): string[] {
  const groups = Array.from({ length: 8 }, (_, g) => ((bytes[2 * g]! << 8) | bytes[2 * g + 1]!));
  const full = groups.map((group) => group.toString(16)).join(":");
  // WHATWG URL writes IPv6 hosts as RFC 5952 says: the longest run of zero groups as "::".
  const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
  const dotted = [...bytes.subarray(12)].join(".");
  const head = groups.slice(0, 6).map((group) => group.toString(16)).join(":");
  return [full, full.toUpperCase(), compressed, `${head}:${dotted}`];
}

Deno.test("parseIpAddress() reads every form of 5,000 random IPv6 addresses with runs of zeros", () => {
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  for (let n = 0; n < 5000; n++) {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = next() & 0xff;
    // A run of zero groups somewhere (or none), so that "::" falls at every place.
    const from = next() % 9;
    const to = from + (next() % (9 - from));
    bytes.fill(0, from * 2, to * 2);
    for (const form of ipv6Forms(bytes)) {
      assert.deepEqual(bytesOf(form), [...bytes], form);
    }
  }
});

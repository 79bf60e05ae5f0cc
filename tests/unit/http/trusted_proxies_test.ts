import assert from "node:assert/strict";
import { parseIpAddress } from "../../../lib/protocol/mod.ts";
import { TrustedProxies } from "../../../lib/http/trusted_proxies.ts";

const ip = (text: string) => parseIpAddress(text)!;

Deno.test("TrustedProxies.includes() matches CIDR blocks of both families", () => {
  const proxies = TrustedProxies.parse(["10.0.0.0/8", "192.0.2.128/25", "127.0.0.2", "fd00::/8"]);
  assert.equal(proxies.includes(ip("10.255.0.1")), true);
  assert.equal(proxies.includes(ip("11.0.0.1")), false);
  assert.equal(proxies.includes(ip("192.0.2.200")), true);
  assert.equal(proxies.includes(ip("192.0.2.127")), false);
  assert.equal(proxies.includes(ip("127.0.0.2")), true);
  assert.equal(proxies.includes(ip("127.0.0.1")), false);
  assert.equal(proxies.includes(ip("fd12::1")), true);
  assert.equal(proxies.includes(ip("fe80::1")), false);
  assert.equal(proxies.includes(ip("::ffff:10.1.2.3")), true, "IPv4-mapped is IPv4");
  assert.equal(TrustedProxies.parse(["0.0.0.0/0"]).includes(ip("203.0.113.1")), true);
  assert.equal(TrustedProxies.parse(["0.0.0.0/0"]).includes(ip("::1")), false);
  assert.equal(TrustedProxies.parse(["::ffff:10.0.0.0/104"]).includes(ip("10.9.9.9")), true);
  assert.equal(TrustedProxies.parse([]).empty, true);
});

Deno.test("TrustedProxies.parse() refuses what is not a CIDR block", () => {
  for (const block of ["10.0.0.0/33", "10.0.0.1/8", "10.0.0/8", "x", "::/129", "1.2.3.4/", "/8"]) {
    assert.throws(() => TrustedProxies.parse([block]), TypeError, block);
  }
});

import assert from "node:assert/strict";
import { clientAddress, ClientAddressError } from "../../../lib/http/client_address.ts";
import { TrustedProxies } from "../../../lib/http/trusted_proxies.ts";

const proxies = TrustedProxies.parse(["127.0.0.0/8", "10.0.0.0/8", "::1"]);

function from(peer: string, headers: Record<string, string>): string {
  return clientAddress({ peer, headers: new Map(Object.entries(headers)) }, proxies);
}

function refusal(peer: string, headers: Record<string, string>): string {
  try {
    from(peer, headers);
  } catch (error) {
    assert.ok(error instanceof ClientAddressError, String(error));
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(headers)}`);
}

Deno.test("clientAddress() ignores the proxy headers of a peer that is not trusted", () => {
  const headers = { forwarded: "for=203.0.113.1", "x-forwarded-for": "203.0.113.2" };
  assert.equal(from("192.0.2.1", headers), "192.0.2.1");
  assert.equal(from("192.0.2.1", { "x-forwarded-for": "junk" }), "192.0.2.1");
  assert.equal(clientAddress({ peer: "127.0.0.1", headers: new Map() }, undefined), "127.0.0.1");
  assert.equal(from("::ffff:192.0.2.9", {}), "192.0.2.9", "IPv4-mapped given as IPv4");
});

Deno.test("clientAddress() walks X-Forwarded-For from the right past trusted proxies", () => {
  assert.equal(from("127.0.0.1", {}), "127.0.0.1");
  assert.equal(from("127.0.0.1", { "x-forwarded-for": "203.0.113.7" }), "203.0.113.7");
  assert.equal(
    from("127.0.0.1", { "x-forwarded-for": "198.51.100.1, 203.0.113.7, 10.1.1.1" }),
    "203.0.113.7",
    "the rightmost address that is not a trusted proxy",
  );
  assert.equal(from("127.0.0.1", { "x-forwarded-for": "10.0.0.5, 10.0.0.6" }), "10.0.0.5");
  assert.equal(from("127.0.0.1", { "x-forwarded-for": "203.0.113.7:4711" }), "203.0.113.7");
  assert.equal(from("::1", { "x-forwarded-for": "2001:db8::1, [2001:db8::2]:80" }), "2001:db8::2");
  assert.equal(from("127.0.0.1", { "x-forwarded-for": "203.0.113.7, unknown" }), "127.0.0.1");
  assert.equal(
    from("127.0.0.1", { "x-forwarded-for": "junk, 203.0.113.7" }),
    "203.0.113.7",
    "what is left of the client is not read",
  );
});

Deno.test("clientAddress() reads Forwarded first, then X-Forwarded-For, then X-Real-IP", () => {
  assert.equal(
    from("127.0.0.1", {
      forwarded: 'for=198.51.100.17;proto=https;by=10.0.0.1, for="[2001:db8:cafe::17]:4711"',
      "x-forwarded-for": "203.0.113.1",
    }),
    "2001:db8:cafe::17",
  );
  assert.equal(
    from("127.0.0.1", { forwarded: "For=198.51.100.17, for=10.2.2.2;proto=http" }),
    "198.51.100.17",
  );
  assert.equal(from("127.0.0.1", { forwarded: 'for="_hidden", for=10.2.2.2' }), "10.2.2.2");
  assert.equal(from("127.0.0.1", { forwarded: "proto=https" }), "127.0.0.1");
  assert.equal(from("127.0.0.1", { "x-real-ip": " 203.0.113.9 " }), "203.0.113.9");
  assert.equal(
    from("127.0.0.1", { "x-forwarded-for": "203.0.113.1", "x-real-ip": "203.0.113.9" }),
    "203.0.113.1",
  );
});

Deno.test("clientAddress() refuses a proxy header that does not parse, saying why", () => {
  assert.equal(
    refusal("127.0.0.1", { "x-forwarded-for": "203.0.113.1, nope" }),
    'X-Forwarded-For: "nope" is not an IP address',
  );
  assert.equal(
    refusal("127.0.0.1", { "x-real-ip": "1.2.3" }),
    'X-Real-IP: "1.2.3" is not an IP address',
  );
  assert.match(refusal("127.0.0.1", { forwarded: "for=2001:db8::1" }), /^Forwarded: unexpected/);
  assert.match(refusal("127.0.0.1", { forwarded: 'for="2001:db8::1"' }), /^Forwarded: /);
  assert.match(refusal("127.0.0.1", { forwarded: 'for="[2001:db8::1]' }), /^Forwarded: /);
  assert.match(refusal("127.0.0.1", { forwarded: 'for="unterminated' }), /unterminated/);
  assert.match(refusal("127.0.0.1", { forwarded: "for=1.2.3.4;for=5.6.7.8" }), /two "for"/);
  assert.match(refusal("127.0.0.1", { forwarded: "for" }), /expected "="/);
  assert.match(refusal("127.0.0.1", { "x-forwarded-for": "[::1" }), /X-Forwarded-For/);
  assert.match(refusal("127.0.0.1", { "x-forwarded-for": "1.2.3.4:99999999" }), /X-Forwarded/);
});

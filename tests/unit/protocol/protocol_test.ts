import assert from "node:assert/strict";
import {
  DEFAULT_LIMITS,
  errorReply,
  parseRequest,
  quoteValue,
  type RequestLimits,
} from "../../../lib/protocol/request.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const parse = (text: string, limits: RequestLimits = DEFAULT_LIMITS) =>
  parseRequest(encode(text), limits);

function reasonOf(text: string | Uint8Array, limits: RequestLimits = DEFAULT_LIMITS): string {
  const request = parseRequest(typeof text === "string" ? encode(text) : text, limits);
  assert.equal(request.kind, "invalid", `expected ${JSON.stringify(text)} to be invalid`);
  return (request as { reason: string }).reason;
}

Deno.test("parseRequest() reads the original's geoip request", () => {
  assert.deepEqual(parse("geoip 81.2.69.160"), {
    kind: "lookup",
    format: "geoip",
    addresses: ["81.2.69.160"],
  });
});

Deno.test("parseRequest() reads many addresses in one request, in order", () => {
  assert.deepEqual(parse("json 1.1.1.1 ::1\t8.8.8.8"), {
    kind: "lookup",
    format: "json",
    addresses: ["1.1.1.1", "::1", "8.8.8.8"],
  });
});

Deno.test("parseRequest() ignores surrounding white space and a final line break", () => {
  assert.deepEqual(parse("  geoip   1.2.3.4 \r\n"), {
    kind: "lookup",
    format: "geoip",
    addresses: ["1.2.3.4"],
  });
  assert.deepEqual(parse("ping\n"), { kind: "ping" });
  assert.deepEqual(parse("info"), { kind: "info" });
});

Deno.test("parseRequest() explains each kind of bad request", async (t) => {
  await t.step("an empty frame", () => assert.equal(reasonOf(""), "empty request"));
  await t.step("only white space", () => assert.equal(reasonOf(" \t\n"), "empty request"));
  await t.step("an unknown verb", () => {
    assert.match(reasonOf("where 1.2.3.4"), /^unknown command "where"; expected one of/);
  });
  await t.step("a verb in capitals", () => assert.match(reasonOf("GEOIP 1.2.3.4"), /unknown/));
  await t.step("a lookup without an address", () => {
    assert.equal(reasonOf("geoip"), '"geoip" needs an IP address');
  });
  await t.step("ping with an argument", () => {
    assert.equal(reasonOf("ping me"), '"ping" takes no arguments');
  });
  await t.step("a NUL byte", () => {
    assert.equal(reasonOf(new Uint8Array([0x67, 0, 0x31])), "request is not printable ASCII");
  });
  await t.step("invalid UTF-8", () => {
    assert.equal(reasonOf(new Uint8Array([0x67, 0xff, 0xfe])), "request is not printable ASCII");
  });
  await t.step("a non-ASCII address", () => {
    assert.equal(reasonOf("geoip １.２.３.４"), "request is not printable ASCII");
  });
});

Deno.test("parseRequest() enforces the size and batch limits", () => {
  const limits = { maxRequestBytes: 64, maxAddresses: 3 };
  assert.equal(reasonOf("geoip " + "1".repeat(60), limits), "request larger than 64 bytes");
  assert.equal(parse("geoip 1.1.1.1 2.2.2.2 3.3.3.3", limits).kind, "lookup");
  assert.equal(
    reasonOf("geoip 1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4", limits),
    "more than 3 addresses in one request",
  );
});

Deno.test("quoteValue() keeps a client's value to one short printable line", () => {
  assert.equal(quoteValue("abc"), '"abc"');
  assert.equal(quoteValue('a"b'), '"a\\"b"');
  assert.equal(quoteValue("a\tb"), '"a\\tb"');
  assert.equal(quoteValue("é"), '"\\u00e9"');
  assert.equal(quoteValue("x".repeat(100)), `"${"x".repeat(40)}..."`);
});

Deno.test("errorReply() is ERROR, a tab and a one-line reason", () => {
  assert.equal(errorReply("empty request"), "ERROR\tempty request");
  assert.equal(errorReply("a\tb\nc"), "ERROR\ta b c");
});

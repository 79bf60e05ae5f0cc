import assert from "node:assert/strict";
import { CORS_MAX_AGE_SECONDS, CorsPolicy } from "../../../lib/http/cors.ts";

Deno.test("CorsPolicy allows the listed origins only, and says the answer varies by origin", () => {
  const policy = CorsPolicy.parse(["https://Example.com:443", "http://localhost:3000"]);
  assert.equal(policy.anyOrigin, false);
  assert.deepEqual(policy.headers("https://example.com"), {
    "access-control-allow-origin": "https://example.com",
    "access-control-expose-headers": "Retry-After",
    vary: "Origin",
  });
  assert.equal(
    policy.headers("http://localhost:3000")["access-control-allow-origin"],
    "http://localhost:3000",
  );
  assert.deepEqual(policy.headers("http://localhost:3001"), { vary: "Origin" });
  assert.deepEqual(policy.headers("https://example.com.evil.test"), { vary: "Origin" });
  assert.deepEqual(policy.headers(undefined), { vary: "Origin" });
});

Deno.test("CorsPolicy with * allows any origin and does not vary", () => {
  const policy = CorsPolicy.parse(["*"]);
  assert.equal(policy.anyOrigin, true);
  assert.deepEqual(policy.headers("https://anywhere.test"), {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "Retry-After",
  });
  assert.deepEqual(policy.headers(undefined), {});
});

Deno.test("CorsPolicy.preflight() gives the methods, the asked headers and a max-age", () => {
  const policy = CorsPolicy.parse(["https://example.com"]);
  assert.deepEqual(
    policy.preflight({ origin: "https://example.com", requestHeaders: "content-type, x-a" }, "GET"),
    {
      "access-control-allow-origin": "https://example.com",
      "access-control-expose-headers": "Retry-After",
      vary: "Origin",
      "access-control-allow-methods": "GET",
      "access-control-allow-headers": "content-type, x-a",
      "access-control-max-age": String(CORS_MAX_AGE_SECONDS),
    },
  );
  const odd = policy.preflight({ origin: "https://example.com", requestHeaders: "a b" }, "GET");
  assert.equal(odd["access-control-allow-headers"], undefined, "not a list of names");
  assert.deepEqual(
    policy.preflight({ origin: "https://other.test", requestHeaders: undefined }, "GET"),
    { vary: "Origin" },
  );
});

Deno.test("CorsPolicy.parse() refuses what is not an origin", () => {
  for (
    const [origins, message] of [
      [[], /no origin/],
      [["*", "https://a.test"]],
      [["example.com"]],
      [["https://a.test/path"]],
      [["https://a.test?x=1"]],
      [["ftp://a.test"]],
      [["https://user@a.test"]],
    ] as [string[], RegExp?][]
  ) {
    assert.throws(() => CorsPolicy.parse(origins), message ?? TypeError, String(origins));
  }
});

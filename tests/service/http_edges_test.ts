/**
 * The HTTP routes where they meet browsers, proxies and TLS, over real sockets on loopback:
 * CORS preflights and headers, the client's address from a trusted proxy (a client bound
 * to 127.0.0.2) against an untrusted peer (127.0.0.1), the caller's own address,
 * Accept-Language, and HTTPS with a self-signed pair made here, replaced while serving.
 *
 * @module
 */

import assert from "node:assert/strict";
import { GeoipResponder, RateLimiter } from "../../lib/lookup/mod.ts";
import { ServiceMetrics } from "../../lib/metrics/mod.ts";
import { DEFAULT_LIMITS } from "../../lib/protocol/mod.ts";
import {
  CorsPolicy,
  type HttpRoutes,
  type HttpRoutesOptions,
  startHttpRoutes,
  TrustedProxies,
} from "../../lib/http/mod.ts";
import { openFixture } from "../support/fixtures.ts";
import { buildMmdb } from "../../tooling/mod.ts";
import { rawRequest } from "../support/raw_http.ts";
import { makeTlsPair } from "../support/tls_pair.ts";

const SERVER = { version: "9.9.9", libzmqVersion: "4.3.5", startedAt: Date.now() };
const ORIGIN = "https://app.example";

/** 81.2.69.160/27 is Munich, with names in four languages; 2001:db8::/32 is Sixville. */
function munichDatabase() {
  return openFixture(buildMmdb({
    ipVersion: 6,
    databaseType: "GeoIP2-City",
    languages: ["en", "de", "fr", "ja"],
    description: { en: "geoipmq names fixture" },
    buildEpoch: 1_700_000_000,
  }, [
    {
      network: "81.2.69.160/27",
      record: {
        city: { names: { en: "Munich", de: "München", fr: "Munich-FR", ja: "ミュンヘン" } },
        country: { iso_code: "DE", names: { en: "Germany", de: "Deutschland" } },
        subdivisions: [{ iso_code: "BY", names: { en: "Bavaria", de: "Bayern" } }],
        location: { latitude: 48.1, longitude: 11.5 },
      },
    },
    { network: "2001:db8::/32", record: { city: { names: { en: "Sixville" } } } },
  ]));
}

function startRoutes(options: Partial<HttpRoutesOptions> = {}): HttpRoutes {
  const metrics = ServiceMetrics.create({ version: SERVER.version });
  const responder = new GeoipResponder(munichDatabase(), {
    limits: DEFAULT_LIMITS,
    server: SERVER,
    cache: { maxBytes: 1024 * 1024 },
  });
  return startHttpRoutes({
    hostname: "127.0.0.1",
    port: 0,
    responder: () => responder,
    maxAddresses: 10,
    maxBodyBytes: 256,
    health: () => ({ ok: true, reason: "" }),
    metrics,
    renderMetrics: () => "",
    ...options,
  });
}

Deno.test("CORS: a preflight is answered 204, and every answer to an allowed origin says so", async (t) => {
  const routes = startRoutes({ cors: CorsPolicy.parse([ORIGIN, "http://localhost:3000"]) });
  const url = (path: string) => `http://127.0.0.1:${routes.addr.port}${path}`;
  try {
    await t.step("a real preflight from fetch for a POST of JSON", async () => {
      const response = await fetch(url("/json"), {
        method: "OPTIONS",
        headers: {
          origin: ORIGIN,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      assert.equal(await response.text(), "");
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
      assert.equal(response.headers.get("access-control-allow-methods"), "GET, HEAD, POST");
      assert.equal(response.headers.get("access-control-allow-headers"), "content-type");
      assert.equal(response.headers.get("access-control-max-age"), "86400");
      assert.equal(response.headers.get("vary"), "Origin");
      assert.equal(response.headers.get("content-length"), null, "a 204 has no length");
    });
    await t.step("the preflight of a lookup path offers GET and HEAD", async () => {
      const response = await fetch(url("/geoip/81.2.69.160"), {
        method: "OPTIONS",
        headers: { origin: ORIGIN, "access-control-request-method": "GET" },
      });
      await response.body?.cancel();
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("access-control-allow-methods"), "GET, HEAD");
      assert.equal(response.headers.get("allow"), "GET, HEAD, OPTIONS");
    });
    await t.step("a preflight from an origin not listed gets no CORS headers", async () => {
      const response = await fetch(url("/json"), {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      await response.body?.cancel();
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("access-control-allow-origin"), null);
      assert.equal(response.headers.get("access-control-allow-methods"), null);
      assert.equal(response.headers.get("vary"), "Origin");
    });
    await t.step(
      "answers, errors, 404s and the server's own refusals carry the origin",
      async () => {
        const cases: [string, RequestInit, number][] = [
          ["/json/81.2.69.160", {}, 200],
          ["/json/10.0.0.1", {}, 404],
          ["/json/bogus", {}, 400],
          ["/nope", {}, 404],
          ["/json", { method: "DELETE" }, 405],
          ["/json", { method: "POST", body: JSON.stringify(Array(40).fill("81.2.69.160")) }, 413],
        ];
        for (const [path, init, status] of cases) {
          const response = await fetch(url(path), {
            ...init,
            headers: { origin: "http://localhost:3000" },
          });
          await response.body?.cancel();
          assert.equal(response.status, status, path);
          assert.equal(
            response.headers.get("access-control-allow-origin"),
            "http://localhost:3000",
            `${path} ${status}`,
          );
          assert.equal(response.headers.get("access-control-expose-headers"), "Retry-After");
          assert.equal(response.headers.get("vary"), "Origin");
        }
      },
    );
    await t.step("a request without Origin or from another origin gets none", async () => {
      for (const headers of [{}, { origin: "https://evil.example" }]) {
        const response = await fetch(url("/json/81.2.69.160"), { headers });
        await response.body?.cancel();
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("access-control-allow-origin"), null);
        assert.equal(response.headers.get("vary"), "Origin");
      }
    });
    await t.step("an OPTIONS for a path that is not served is a 404", async () => {
      const response = await fetch(url("/nope"), {
        method: "OPTIONS",
        headers: { origin: ORIGIN },
      });
      await response.body?.cancel();
      assert.equal(response.status, 404);
      assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
    });
  } finally {
    await routes.shutdown();
  }
});

Deno.test("CORS with * allows every origin; without a policy no CORS header is sent", async () => {
  const any = startRoutes({ cors: CorsPolicy.parse(["*"]) });
  const none = startRoutes();
  try {
    const response = await fetch(`http://127.0.0.1:${any.addr.port}/json/bogus`, {
      headers: { origin: "https://whoever.example" },
    });
    await response.body?.cancel();
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.equal(response.headers.get("vary"), null);
    const preflight = await fetch(`http://127.0.0.1:${none.addr.port}/json`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST" },
    });
    assert.match(await preflight.text(), /method OPTIONS not allowed/);
    assert.equal(preflight.status, 405);
    const plain = await fetch(`http://127.0.0.1:${none.addr.port}/json/81.2.69.160`, {
      headers: { origin: ORIGIN },
    });
    await plain.body?.cancel();
    for (const name of plain.headers.keys()) assert.doesNotMatch(name, /^access-control-|^vary$/);
  } finally {
    await Promise.all([any.shutdown(), none.shutdown()]);
  }
});

Deno.test("the client's address: from a trusted proxy's headers, never from another peer's", async (t) => {
  const limiter = new RateLimiter({ perSecond: 1 });
  const routes = startRoutes({
    trustedProxies: TrustedProxies.parse(["127.0.0.2"]),
    rateLimiter: {
      allow: (address, now) => limiter.allow(address, now),
      retryAfterSeconds: (address, now) => limiter.retryAfterSeconds(address, now),
    },
  });
  const port = routes.addr.port;
  const trusted = "127.0.0.2";
  try {
    await t.step(
      "GET /json/ from the trusted proxy answers for X-Forwarded-For's client",
      async () => {
        const answer = await rawRequest(port, {
          path: "/json/?fields=city.name,country.iso_code",
          localAddress: trusted,
          headers: { "x-forwarded-for": "198.51.100.1, 81.2.69.161" },
        });
        assert.equal(answer.status, 200, answer.body);
        assert.deepEqual(JSON.parse(answer.body), {
          ip: "81.2.69.161",
          network: "81.2.69.160/27",
          fields: { "city.name": "Munich", "country.iso_code": "DE" },
        });
      },
    );
    await t.step("Forwarded wins over X-Forwarded-For; X-Real-IP is the last resort", async () => {
      const forwarded = await rawRequest(port, {
        path: "/geoip/",
        localAddress: trusted,
        headers: { forwarded: 'for="[2001:db8::7]:4711"', "x-forwarded-for": "81.2.69.162" },
      });
      assert.equal(
        forwarded.body,
        "(null)\t(null)\tSixville\t(null)\t(null)\t(null)\t(null)\t(null)",
      );
      const realIp = await rawRequest(port, {
        path: "/geoip/",
        localAddress: trusted,
        headers: { "x-real-ip": "81.2.69.163" },
      });
      assert.match(realIp.body, /^DE\tBY\tMunich\t/);
    });
    await t.step("from an untrusted peer the headers are ignored: its own address", async () => {
      const answer = await rawRequest(port, {
        path: "/json/",
        localAddress: "127.0.0.1",
        headers: { "x-forwarded-for": "81.2.69.164", forwarded: "for=81.2.69.164" },
      });
      assert.equal(answer.status, 404);
      assert.deepEqual(JSON.parse(answer.body), { ip: "127.0.0.1", network: null, record: null });
    });
    await t.step("a header that does not parse, from the trusted proxy, is a 400", async () => {
      const answer = await rawRequest(port, {
        path: "/json/",
        localAddress: trusted,
        headers: { "x-forwarded-for": "81.2.69.165, not-an-address" },
      });
      assert.equal(answer.status, 400);
      assert.deepEqual(JSON.parse(answer.body), {
        error: 'X-Forwarded-For: "not-an-address" is not an IP address',
      });
      const untrusted = await rawRequest(port, {
        path: "/json/81.2.69.160",
        localAddress: "127.0.0.3",
        headers: { "x-forwarded-for": "not-an-address" },
      });
      assert.equal(untrusted.status, 200, "ignored from a peer that is not trusted");
    });
    await t.step("the rate limit counts each client behind the proxy on its own", async () => {
      const ask = (client: string) =>
        rawRequest(port, {
          path: "/geoip/81.2.69.160",
          localAddress: trusted,
          headers: { "x-forwarded-for": client },
        });
      assert.equal((await ask("203.0.113.1")).status, 200);
      assert.equal((await ask("203.0.113.2")).status, 200, "another client, through one proxy");
      const limited = await ask("203.0.113.1");
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    });
  } finally {
    await routes.shutdown();
  }
});

Deno.test("Accept-Language chooses the names of a request; ?lang= wins over it", async () => {
  const routes = startRoutes();
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`http://127.0.0.1:${routes.addr.port}${path}`, { headers });
    return { status: response.status, text: await response.text() };
  };
  try {
    const city = async (path: string, headers: Record<string, string> = {}) =>
      (await get(path, headers)).text.split("\t")[2];
    assert.equal(await city("/geoip/81.2.69.160"), "Munich");
    assert.equal(
      await city("/geoip/81.2.69.160", { "accept-language": "de-DE,de;q=0.9" }),
      "München",
    );
    assert.equal(
      await city("/geoip/81.2.69.160", { "accept-language": "fr;q=0.4, ja;q=0.8, *;q=0.1" }),
      "ミュンヘン",
    );
    assert.equal(await city("/geoip/81.2.69.160", { "accept-language": "pt-BR" }), "Munich");
    assert.equal(
      await city("/geoip/81.2.69.160?lang=fr", { "accept-language": "de" }),
      "Munich-FR",
      "?lang= wins",
    );
    const fields = await get("/json/81.2.69.160?fields=city.name,subdivisions.0.name", {
      "accept-language": "de",
    });
    assert.deepEqual(JSON.parse(fields.text).fields, {
      "city.name": "München",
      "subdivisions.0.name": "Bayern",
    });
    const whole = await get("/json/81.2.69.160", { "accept-language": "de" });
    assert.equal(JSON.parse(whole.text).record.city.names.ja, "ミュンヘン", "the whole record");
    const bad = await get("/geoip/81.2.69.160", { "accept-language": "de;q=5" });
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.text), {
      error: 'Accept-Language: invalid weight "q=5" (expected q=0 to q=1)',
    });
  } finally {
    await routes.shutdown();
  }
});

Deno.test("HTTPS: a self-signed pair made here is served, plain text is closed, a new pair takes over", async (t) => {
  const first = await makeTlsPair("first.test");
  if (first === undefined) return;
  const second = (await makeTlsPair("second.test"))!;
  const routes = startRoutes({ tls: first.pem });
  const port = routes.addr.port;
  const trusting = (pem: string) => Deno.createHttpClient({ caCerts: [pem] });
  const firstClient = trusting(first.pem.cert);
  const secondClient = trusting(second.pem.cert);
  const get = async (client: Deno.HttpClient) => {
    const response = await fetch(`https://127.0.0.1:${port}/geoip/81.2.69.160`, { client });
    return `${response.status} ${await response.text()}`;
  };
  try {
    await t.step("a client that trusts the certificate is answered", async () => {
      assert.match(await get(firstClient), /^200 DE\tBY\tMunich\t/);
    });
    await t.step(
      "a client that speaks plain HTTP to the port is closed; others go on",
      async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        // A TLS alert at most, then the end: never an HTTP answer.
        const received = await new Response(conn.readable).text().catch(() => "");
        assert.doesNotMatch(received, /HTTP/);
        assert.match(await get(firstClient), /^200 /);
      },
    );
    await t.step("replaceTls() serves new connections with the new pair", async () => {
      await routes.replaceTls(second.pem);
      const client = trusting(second.pem.cert);
      try {
        assert.match(await get(client), /^200 /);
        const refused = trusting(first.pem.cert);
        await assert.rejects(() => get(refused), "the old certificate is no longer shown");
        refused.close();
      } finally {
        client.close();
      }
    });
    await t.step("a pair that is refused leaves the one in force", async () => {
      await assert.rejects(() => routes.replaceTls({ cert: first.pem.cert, key: "not a key" }));
      assert.match(await get(secondClient), /^200 /);
    });
  } finally {
    firstClient.close();
    secondClient.close();
    await routes.shutdown();
    await Promise.all([first.remove(), second.remove()]);
  }
});

import { ServiceMetrics } from "../../lib/metrics/mod.ts";
import assert from "node:assert/strict";
import { GeoDatabase } from "../../lib/database/mod.ts";
import { type HttpRoutes, startHttpRoutes } from "../../lib/http/mod.ts";
import { DEFAULT_LIMITS } from "../../lib/protocol/mod.ts";
import { GeoipResponder } from "../../lib/lookup/mod.ts";
import {
  brokenDoubleFixture,
  cityFixture,
  ipv4OnlyFixture,
  LONDON_TSV,
  openFixture,
} from "../support/fixtures.ts";

const SERVER = { version: "9.9.9", libzmqVersion: "4.3.5", startedAt: Date.now() - 5000 };
const JSON_TYPE = "application/json; charset=utf-8";
const METRICS_TEXT = "# HELP geoipmq_up 1 when up.\n# TYPE geoipmq_up gauge\ngeoipmq_up 1\n";

function responderFor(database: GeoDatabase): GeoipResponder {
  return new GeoipResponder(database, {
    limits: DEFAULT_LIMITS,
    server: SERVER,
    cache: { maxBytes: 1024 * 1024 },
  });
}

/** A front over the city fixture whose responder, health and metrics a test can change. */
class Harness {
  responder = responderFor(openFixture(cityFixture()));
  responderCalls = 0;
  health = { ok: true, reason: "" };
  metrics: () => string = () => METRICS_TEXT;
  readonly counters = ServiceMetrics.create({ version: "0.0.0" });
  listenedOn: { hostname: string; port: number } | undefined;
  readonly front: HttpRoutes;

  constructor() {
    this.front = startHttpRoutes({
      hostname: "127.0.0.1",
      port: 0,
      responder: () => {
        this.responderCalls++;
        return this.responder;
      },
      maxAddresses: 3,
      maxBodyBytes: 1024,
      health: () => this.health,
      metrics: this.counters,
      renderMetrics: () => this.metrics(),
      onListen: (addr) => this.listenedOn = addr,
    });
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.front.addr.port}${path}`;
  }

  /** Fetches and reads the whole body. */
  async fetch(path: string, init?: RequestInit) {
    const response = await fetch(this.url(path), init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  }

  async fetchJson(path: string, init?: RequestInit) {
    const answer = await this.fetch(path, init);
    assert.equal(answer.headers.get("content-type"), JSON_TYPE, `${path}: ${answer.text}`);
    return { ...answer, body: JSON.parse(answer.text) };
  }
}

Deno.test("the HTTP front answers every route over real HTTP", async (t) => {
  const h = new Harness();
  try {
    await t.step("it listens on loopback and says where", () => {
      assert.equal(h.front.addr.hostname, "127.0.0.1");
      assert.ok(h.front.addr.port > 0);
      assert.deepEqual(h.listenedOn, h.front.addr);
    });

    await t.step("GET /json/<ip> found", async () => {
      const { status, body } = await h.fetchJson("/json/81.2.69.170");
      assert.equal(status, 200);
      assert.equal(body.ip, "81.2.69.170");
      assert.equal(body.network, "81.2.69.160/27");
      assert.equal(body.record.city.names.en, "London");
    });

    await t.step("GET /json/<ip> not found is 404 with nulls", async () => {
      const { status, body } = await h.fetchJson("/json/8.8.8.8");
      assert.equal(status, 404);
      assert.deepEqual(body, { ip: "8.8.8.8", network: null, record: null });
    });

    await t.step("GET /json/<ip> with an empty record is found", async () => {
      const { status, body } = await h.fetchJson("/json/192.0.2.1");
      assert.equal(status, 200);
      assert.deepEqual(body, { ip: "192.0.2.1", network: "192.0.2.0/24", record: {} });
    });

    await t.step("GET /json/<ip> with IPv6, plain and percent-encoded", async () => {
      for (const path of ["/json/2001:db8::1", "/json/2001%3Adb8%3A%3A1", "/json/2001%3adb8::1"]) {
        const { status, body } = await h.fetchJson(path);
        assert.equal(status, 200, path);
        assert.equal(body.ip, "2001:db8::1");
        assert.equal(body.record.city.names.en, "Sixville");
      }
    });

    await t.step("GET /json/<ip> with a bad address is 400", async () => {
      const cases: [string, string][] = [
        ["/json/bogus", 'invalid IP address "bogus"'],
        ["/json/fe80::1%25eth0", 'invalid IP address "fe80::1%eth0"'],
        ["/json/fe80::1%eth0", 'invalid IP address "fe80::1%eth0"'],
        ["/json/1.2.3.0%2F24", 'invalid IP address "1.2.3.0/24"'],
        ["/json/1.2.3.0/24", 'invalid IP address "1.2.3.0/24"'],
        ["/json/[::1]", 'invalid IP address "[::1]"'],
        ["/json/%20", 'invalid IP address " "'],
      ];
      for (const [path, error] of cases) {
        const { status, body } = await h.fetchJson(path);
        assert.equal(status, 400, path);
        assert.deepEqual(body, { error }, path);
      }
    });

    await t.step("GET /json?ip=... answers an array in order", async () => {
      const { status, body } = await h.fetchJson("/json?ip=81.2.69.160&ip=bogus&ip=8.8.8.8");
      assert.equal(status, 200);
      assert.equal(body.length, 3);
      assert.equal(body[0].record.city.names.en, "London");
      assert.deepEqual(body[1], { ip: "bogus", error: 'invalid IP address "bogus"' });
      assert.deepEqual(body[2], { ip: "8.8.8.8", network: null, record: null });
      const one = await h.fetchJson("/json?ip=2001%3Adb8%3A%3A1");
      assert.equal(one.body.length, 1, "one address is still an array");
      assert.equal(one.body[0].ip, "2001:db8::1");
    });

    await t.step("GET /json without ip, or with too many, is 400", async () => {
      const missing = await h.fetchJson("/json");
      assert.equal(missing.status, 400);
      assert.match(missing.body.error, /^missing "ip" query parameter/);
      const misnamed = await h.fetchJson("/json?address=1.2.3.4");
      assert.equal(misnamed.status, 400);
      assert.deepEqual(misnamed.body, { error: 'unknown query parameter "address"; expected ip' });
      const many = await h.fetchJson("/json?ip=1.1.1.1&ip=1.1.1.2&ip=1.1.1.3&ip=1.1.1.4");
      assert.equal(many.status, 400);
      assert.deepEqual(many.body, { error: "more than 3 addresses in one request" });
    });

    await t.step("POST /json with a JSON array", async () => {
      const { status, body } = await h.fetchJson("/json", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(["2.125.160.217", "::ffff:81.2.69.160", "fe80::1%eth0"]),
      });
      assert.equal(status, 200);
      assert.deepEqual(body[0].record, { country: { iso_code: "GB" } });
      assert.equal(body[1].network, "::ffff:81.2.69.160/123");
      assert.deepEqual(body[2], { ip: "fe80::1%eth0", error: 'invalid IP address "fe80::1%eth0"' });
      const empty = await h.fetchJson("/json", { method: "POST", body: "[]" });
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body, []);
    });

    await t.step("POST /json with junk is 400", async () => {
      const cases: [BodyInit, RegExp][] = [
        ["not json", /^request body is not JSON/],
        ["", /^request body is not JSON/],
        ['{"ip":"1.2.3.4"}', /^request body must be a JSON array of IP address strings$/],
        ["[1, 2]", /^request body must be a JSON array/],
        ['["1.2.3.4", null]', /^request body must be a JSON array/],
        [new Uint8Array([0x5b, 0x22, 0xff, 0x22, 0x5d]), /^request body is not UTF-8$/],
        ['["1.1.1.1","1.1.1.2","1.1.1.3","1.1.1.4"]', /^more than 3 addresses in one request$/],
      ];
      for (const [body, error] of cases) {
        const answer = await h.fetchJson("/json", { method: "POST", body });
        assert.equal(answer.status, 400, String(body));
        assert.match(answer.body.error, error);
      }
    });

    await t.step("POST /json with a body over the limit is 413, declared or streamed", async () => {
      const big = JSON.stringify(new Array(200).fill("81.2.69.160"));
      assert.ok(big.length > 1024);
      const declared = await h.fetchJson("/json", { method: "POST", body: big });
      assert.equal(declared.status, 413);
      assert.deepEqual(declared.body, { error: "request body larger than 1024 bytes" });
      const streamed = await h.fetchJson("/json", {
        method: "POST",
        body: new Blob([big]).stream(),
      });
      assert.equal(streamed.status, 413);
    });

    await t.step("GET /geoip/<ip>: TSV, NOT_FOUND, bad address", async () => {
      const found = await h.fetch("/geoip/81.2.69.160");
      assert.equal(found.status, 200);
      assert.equal(found.headers.get("content-type"), "text/tab-separated-values; charset=utf-8");
      assert.equal(found.text, LONDON_TSV);
      const mapped = await h.fetch("/geoip/%3A%3Affff%3A81.2.69.161");
      assert.equal(mapped.text, LONDON_TSV);
      const missing = await h.fetch("/geoip/10.0.0.1");
      assert.equal(missing.status, 404);
      assert.equal(missing.text, "NOT_FOUND");
      const bad = await h.fetchJson("/geoip/01.2.3.4");
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body, { error: 'invalid IP address "01.2.3.4"' });
    });

    await t.step("HEAD answers like GET without a body", async () => {
      const head = await h.fetch("/geoip/81.2.69.160", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.text, "");
      const missing = await h.fetch("/json/8.8.8.8", { method: "HEAD" });
      assert.equal(missing.status, 404);
    });

    await t.step("a wrong method is 405 with Allow", async () => {
      const cases: [string, string, string][] = [
        ["DELETE", "/json/81.2.69.160", "GET, HEAD"],
        ["POST", "/geoip/81.2.69.160", "GET, HEAD"],
        ["PUT", "/json", "GET, HEAD, POST"],
        ["POST", "/healthz", "GET, HEAD"],
        ["OPTIONS", "/metrics", "GET, HEAD"],
      ];
      for (const [method, path, allow] of cases) {
        const answer = await h.fetchJson(path, { method });
        assert.equal(answer.status, 405, `${method} ${path}`);
        assert.equal(answer.headers.get("allow"), allow);
        assert.deepEqual(answer.body, { error: `method ${method} not allowed; use ${allow}` });
      }
    });

    await t.step("an unknown path is 404", async () => {
      for (const path of ["/x", "/", "/json2", "/healthz/", "/geoip"]) {
        const answer = await h.fetchJson(path);
        assert.equal(answer.status, 404, path);
        assert.deepEqual(answer.body, { error: `not found: ${path}` });
      }
    });

    await t.step("/healthz says ok, then unavailable with the reason", async () => {
      const ok = await h.fetchJson("/healthz");
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { status: "ok" });
      h.health = { ok: false, reason: "no lookup worker alive" };
      const down = await h.fetchJson("/healthz");
      assert.equal(down.status, 503);
      assert.deepEqual(down.body, { status: "unavailable", reason: "no lookup worker alive" });
      h.health = { ok: true, reason: "" };
    });

    await t.step("/metrics serves the Prometheus text", async () => {
      const answer = await h.fetch("/metrics");
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      assert.equal(answer.text, METRICS_TEXT);
    });

    await t.step("an error inside a handler is a 500 with a JSON body", async () => {
      h.metrics = () => {
        throw new Error("renderer broke\nbadly");
      };
      const answer = await h.fetchJson("/metrics");
      assert.equal(answer.status, 500);
      assert.deepEqual(answer.body, { error: "internal error: renderer broke badly" });
      h.metrics = () => METRICS_TEXT;
      assert.equal((await h.fetch("/metrics")).status, 200, "and it keeps serving");
    });

    await t.step("a corrupt record is a 500 for that address only", async () => {
      h.responder = responderFor(GeoDatabase.fromBytes(brokenDoubleFixture(), "broken.mmdb"));
      const one = await h.fetchJson("/json/100.64.0.1");
      assert.equal(one.status, 500);
      assert.match(one.body.error, /^database error for "100\.64\.0\.1": invalid size 7/);
      const tsv = await h.fetchJson("/geoip/100.64.0.1");
      assert.equal(tsv.status, 500);
      const batch = await h.fetchJson("/json?ip=100.64.0.1&ip=81.2.69.160");
      assert.equal(batch.status, 200);
      assert.match(batch.body[0].error, /^database error/);
      assert.equal(batch.body[1].record.city.names.en, "London");
    });

    await t.step("the responder is asked once per request and can be swapped", async () => {
      h.responder = responderFor(openFixture(cityFixture()));
      h.responderCalls = 0;
      const before = await h.fetchJson("/json?ip=1.2.3.4&ip=81.2.69.160&ip=1.2.3.5");
      assert.equal(h.responderCalls, 1);
      assert.equal(before.body[0].record, null);
      assert.equal(before.body[1].record.city.names.en, "London");

      h.responder = responderFor(openFixture(ipv4OnlyFixture()));
      const after = await h.fetchJson("/json?ip=1.2.3.4&ip=81.2.69.160&ip=1.2.3.5");
      assert.equal(h.responderCalls, 2);
      assert.deepEqual(after.body[0].record, { country: { iso_code: "AU" } });
      assert.equal(after.body[1].record, null);
      assert.equal(after.body[2].network, "1.2.3.0/24");
      assert.equal((await h.fetch("/geoip/1.2.3.4")).text.split("\t")[0], "AU");
      assert.equal(h.responderCalls, 3);
      await h.fetch("/healthz");
      await h.fetch("/metrics");
      assert.equal(h.responderCalls, 3, "only lookups ask for a responder");
      const v6 = await h.fetchJson("/json/2001:db8::1");
      assert.equal(v6.status, 400);
      assert.deepEqual(v6.body, {
        error: 'IPv6 address in an IPv4-only database: "2001:db8::1"',
      });
    });
  } finally {
    await h.front.shutdown();
  }

  await assert.rejects(fetch(h.url("/healthz")), TypeError, "nothing listens after shutdown");
  await h.front.shutdown();
});

Deno.test("startHttpRoutes fails with one line when the port is taken", () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  assert.throws(
    () =>
      startHttpRoutes({
        hostname: "127.0.0.1",
        port,
        responder: () => responderFor(openFixture(cityFixture())),
        maxAddresses: 10,
        health: () => ({ ok: true, reason: "" }),
        metrics: ServiceMetrics.create({ version: "0.0.0" }),
        renderMetrics: () => "",
      }),
    (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`^Cannot listen for HTTP on 127\\.0\\.0\\.1:${port}: `),
      );
      assert.ok(!error.message.includes("\n"), error.message);
      return true;
    },
  );
});

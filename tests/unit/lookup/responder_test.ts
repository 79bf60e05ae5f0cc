import assert from "node:assert/strict";
import { GeoDatabase } from "../../../lib/database/mod.ts";
import { DEFAULT_LIMITS } from "../../../lib/protocol/mod.ts";
import { GeoipResponder } from "../../../lib/lookup/responder.ts";
import { brokenDoubleFixture, cityFixture, LONDON_TSV } from "../../support/fixtures.ts";

const SERVER = { version: "9.9.9", libzmqVersion: "4.3.5", startedAt: Date.now() - 5000 };
const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("GeoipResponder answers a corrupt record with ERROR and keeps serving", () => {
  const responder = new GeoipResponder(
    GeoDatabase.fromBytes(brokenDoubleFixture(), "broken.mmdb"),
    { limits: DEFAULT_LIMITS, server: SERVER },
  );
  assert.match(
    responder.respond(encode("geoip 100.64.0.1")),
    /^ERROR\tdatabase error for "100\.64\.0\.1": invalid size 7 for a double at offset \d+$/,
  );
  assert.match(responder.respond(encode("json 100.64.0.1")), /^ERROR\tdatabase error/);
  assert.equal(responder.respond(encode("geoip 81.2.69.160")), LONDON_TSV);
  assert.equal(
    responder.respond(encode("geoip 100.64.0.1 81.2.69.160")).split("\n")[1],
    LONDON_TSV,
    "one bad record does not spoil a batch",
  );
});

Deno.test("GeoipResponder.info() describes the database and the server", () => {
  const responder = new GeoipResponder(GeoDatabase.fromBytes(cityFixture(), "city.mmdb"), {
    limits: { maxRequestBytes: 100, maxAddresses: 7 },
    server: SERVER,
    worker: 3,
  });
  const info = JSON.parse(responder.respond(encode("info")));
  assert.equal(info.database_type, "GeoIP2-City");
  assert.equal(info.database_path, "city.mmdb");
  assert.equal(info.build_epoch, "2023-11-14T22:13:20.000Z");
  assert.equal(info.version, "9.9.9");
  assert.equal(info.libzmq_version, "4.3.5");
  assert.ok(info.uptime_seconds >= 4 && info.uptime_seconds <= 60, String(info.uptime_seconds));
  assert.equal(info.max_request_bytes, 100);
  assert.equal(info.max_addresses, 7);
  assert.equal(info.worker, 3);
});

Deno.test("GeoipResponder gives the same answers with and without its cache", () => {
  const database = GeoDatabase.fromBytes(cityFixture(), "city.mmdb");
  const cached = new GeoipResponder(database, {
    limits: DEFAULT_LIMITS,
    server: SERVER,
    cache: { maxBytes: 1024 * 1024 },
  });
  const uncached = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server: SERVER });
  const addresses = [
    "81.2.69.160",
    "81.2.69.161",
    "::ffff:81.2.69.170",
    "2.125.160.216",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.9",
    "2001:db8::1",
    "8.8.8.8",
    "bogus",
  ];
  for (let round = 0; round < 3; round++) {
    for (const verb of ["geoip", "json"]) {
      for (const address of addresses) {
        const request = encode(`${verb} ${address}`);
        assert.equal(cached.respond(request), uncached.respond(request), `${verb} ${address}`);
      }
      const batch = encode(`${verb} ${addresses.join(" ")}`);
      assert.equal(cached.respond(batch), uncached.respond(batch), `${verb} batch`);
    }
  }
  const stats = JSON.parse(cached.respond(encode("info"))).cache;
  assert.ok(stats.geoip.hits > stats.geoip.misses, JSON.stringify(stats));
  assert.ok(stats.json.hits > stats.json.misses, JSON.stringify(stats));
  assert.equal(stats.geoip.entries, 6, "one entry per distinct record met");
  const none = JSON.parse(uncached.respond(encode("info"))).cache;
  assert.equal(none.geoip.entries, 0);
});

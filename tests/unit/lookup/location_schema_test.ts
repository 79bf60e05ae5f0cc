import assert from "node:assert/strict";
import { locationSchema } from "../../../lib/lookup/location_schema.ts";
import { GeoipResponder } from "../../../lib/lookup/responder.ts";
import { DEFAULT_LIMITS } from "../../../lib/protocol/mod.ts";
import { cityFixture, openFixture } from "../../support/fixtures.ts";
import { buildMmdb, uint32 } from "../../../tooling/mod.ts";
import { ipinfoLiteFixture, unknownSchemaFixture } from "../../support/vendor_databases.ts";

const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: 0 };

Deno.test("locationSchema() warns when geoip finds no field in the sample", () => {
  const found = locationSchema(openFixture(unknownSchemaFixture()));
  assert.deepEqual(found, {
    schema: "geoip2",
    sampled: 1,
    warning: '"fixture.mmdb" (database_type "Acme-Places"): no field geoip answers in 1 ' +
      "sampled records, every geoip field will be (null); the records hold where, score",
  });
});

Deno.test("locationSchema() does not warn for files geoip answers from", () => {
  assert.deepEqual(locationSchema(openFixture(cityFixture())).warning, undefined);
  const ipinfo = locationSchema(openFixture(ipinfoLiteFixture()));
  assert.deepEqual(ipinfo, { schema: "ipinfo-lite", sampled: 3 });
  const empty = buildMmdb({ ipVersion: 4, databaseType: "Empty" }, []);
  assert.deepEqual(locationSchema(openFixture(empty)), { schema: "geoip2", sampled: 0 });
});

Deno.test("locationSchema() lists at most 12 names, and says when records are not maps", () => {
  const wide = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`k${i}`, uint32(i)]));
  const many = locationSchema(openFixture(
    buildMmdb({ ipVersion: 4, databaseType: "Wide" }, [{ network: "1.0.0.0/8", record: wide }]),
  ));
  assert.match(many.warning!, /the records hold k0, k1, k2, .*, k11, \.\.\.$/);
  const scalar = locationSchema(openFixture(
    buildMmdb({ ipVersion: 4, databaseType: "Scalar" }, [{ network: "1.0.0.0/8", record: "x" }]),
  ));
  assert.match(scalar.warning!, /the records are not maps$/);
});

Deno.test("a responder over a vendor database answers geoip and get mapped, json as stored", () => {
  const responder = new GeoipResponder(openFixture(ipinfoLiteFixture()), {
    limits: DEFAULT_LIMITS,
    server,
    cache: { maxBytes: 1 << 20 },
  });
  const ask = (request: string) => responder.respond(new TextEncoder().encode(request));
  for (let round = 0; round < 2; round++) {
    assert.equal(
      ask("geoip 8.8.8.8"),
      "US\t(null)\t(null)\t(null)\t(null)\t(null)\t(null)\t(null)",
    );
    assert.equal(
      ask("get traits.autonomous_system_number,country.name 8.8.8.8"),
      "15169\tUnited States",
    );
    assert.equal(JSON.parse(ask("json 8.8.8.8")).record.asn, "AS15169");
  }
  const looked = responder.lookupRecord("8.8.8.8");
  assert.deepEqual((looked.record as { continent: unknown }).continent, {
    code: "NA",
    names: { en: "North America" },
  });
  const info = JSON.parse(ask("info"));
  assert.equal(info.record_schema, "ipinfo-lite");
  assert.equal(info.warnings, undefined);
});

Deno.test("a vendor location record merged with an ASN database: get mapped, json as stored", () => {
  const asn = buildMmdb({ ipVersion: 4, databaseType: "GeoLite2-ASN" }, [
    { network: "81.2.69.0/24", record: { autonomous_system_number: uint32(20712) } },
  ]);
  const responder = new GeoipResponder([openFixture(ipinfoLiteFixture()), openFixture(asn)], {
    limits: DEFAULT_LIMITS,
    server,
  });
  const ask = (request: string) => responder.respond(new TextEncoder().encode(request));
  assert.equal(
    ask("get country.iso_code,traits.autonomous_system_number 81.2.69.160"),
    "GB\t20712",
  );
  const stored = JSON.parse(ask("json 81.2.69.160")).record;
  assert.equal(stored.country_code, "GB");
  assert.deepEqual(stored.traits, { autonomous_system_number: 20712 });
});

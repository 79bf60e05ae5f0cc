import assert from "node:assert/strict";
import { recordSchema } from "../../../lib/database/vendor_schema.ts";
import { sampleRecords } from "../../../lib/database/record_sample.ts";
import { cityFixture, openFixture } from "../../support/fixtures.ts";
import { buildMmdb } from "../../../tooling/mod.ts";
import { ipinfoLiteFixture, unknownSchemaFixture } from "../../support/vendor_databases.ts";

const DBIP = {
  city: "Mountain View",
  country_code: "US",
  latitude: 37.4,
  longitude: -122.1,
  postcode: "",
  state1: "California",
  state2: "",
  timezone: "",
};

Deno.test("recordSchema() tells the schema from the records when the type is not MaxMind's", async (t) => {
  await t.step("ip-location-db's flat records, also a country-only file", () => {
    assert.equal(recordSchema("city ipv4", [DBIP, DBIP]), "ip-location-db");
    assert.equal(recordSchema("country ipv4", [{ country_code: "FR" }]), "ip-location-db");
  });
  await t.step("IPinfo Lite, whose country is a name", () => {
    const ipinfo = { country_code: "US", country: "United States", asn: "AS15169" };
    assert.equal(recordSchema("ipinfo lite.mmdb", [ipinfo]), "ipinfo-lite");
    assert.equal(
      recordSchema("x", [{ country: "Australia", continent_code: "OC" }]),
      "ipinfo-lite",
    );
  });
  await t.step("GeoIP2-shaped records of another vendor (DB-IP's own, IP2Location)", () => {
    const record = { city: { names: { en: "Mountain View" } }, country: { iso_code: "US" } };
    assert.equal(recordSchema("DBIP-City-Lite", [record]), "geoip2");
    assert.equal(recordSchema("IP2LOCATION-LITE-DB11", [{ subdivisions: [] }]), "geoip2");
    assert.equal(
      recordSchema("asn ipv4", [{
        autonomous_system_number: 1,
        autonomous_system_organization: "x",
      }]),
      "geoip2",
    );
  });
  await t.step("MaxMind's own types are GeoIP2 whatever the sample says", () => {
    assert.equal(recordSchema("GeoLite2-City", [DBIP]), "geoip2");
    assert.equal(recordSchema("GeoIP2-ISP-Shield", [DBIP]), "geoip2");
  });
  await t.step("the most records win; a sample that says nothing is GeoIP2", () => {
    assert.equal(recordSchema("x", [DBIP, DBIP, { asn: "AS1" }]), "ip-location-db");
    assert.equal(recordSchema("x", []), "geoip2");
    assert.equal(recordSchema("x", [null, 7, "text", [1], { where: "there" }]), "geoip2");
  });
});

Deno.test("sampleRecords() takes distinct records from the tree, the same ones every time", async (t) => {
  await t.step("a sparse file gives what it has, never more", () => {
    const database = openFixture(ipinfoLiteFixture());
    const sample = sampleRecords(database, { count: 10 });
    assert.equal(sample.length, 3, "three networks, three records");
    assert.deepEqual(sampleRecords(database, { count: 10 }), sample, "deterministic");
    assert.equal(sampleRecords(database, { count: 2 }).length, 2);
  });
  await t.step("an IPv6 tree with IPv4 aliased into it", () => {
    const sample = sampleRecords(openFixture(cityFixture()));
    assert.ok(sample.length >= 3 && sample.length <= 6, `${sample.length} records`);
    assert.ok(sample.every((record) => typeof record === "object"));
  });
  await t.step("a file with one record, and one with none", () => {
    assert.deepEqual(sampleRecords(openFixture(unknownSchemaFixture())), [
      { where: "somewhere", score: 7 },
    ]);
    const empty = buildMmdb({ ipVersion: 4, databaseType: "Empty" }, []);
    assert.deepEqual(sampleRecords(openFixture(empty)), []);
  });
});

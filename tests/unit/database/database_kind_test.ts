import assert from "node:assert/strict";
import {
  DATABASE_KINDS,
  databaseKind,
  isLocationKind,
  sameKind,
} from "../../../lib/database/database_kind.ts";

Deno.test("databaseKind() names the kind of each of MaxMind's database types", () => {
  const typesOfKind: Record<string, string[]> = {
    city: [
      "GeoLite2-City",
      "GeoIP2-City",
      "GeoIP2-City-Europe",
      "GeoIP2-City-Asia-Pacific",
      "GeoIP2-Enterprise",
      "GeoIP2-Precision-Enterprise",
    ],
    country: ["GeoLite2-Country", "GeoIP2-Country"],
    asn: ["GeoLite2-ASN"],
    isp: ["GeoIP2-ISP"],
    "anonymous-ip": ["GeoIP2-Anonymous-IP"],
    "connection-type": ["GeoIP2-Connection-Type"],
    domain: ["GeoIP2-Domain"],
  };
  for (const [kind, types] of Object.entries(typesOfKind)) {
    for (const type of types) assert.equal(databaseKind(type), kind, type);
  }
});

Deno.test("databaseKind() gives a -Shield variant the kind of its plain edition", () => {
  assert.equal(databaseKind("GeoIP2-City-Shield"), "city");
  assert.equal(databaseKind("GeoIP2-Enterprise-Shield"), "city");
  assert.equal(databaseKind("GeoIP2-Precision-Enterprise-Shield"), "city");
  assert.equal(databaseKind("GeoIP2-Country-Shield"), "country");
});

Deno.test("databaseKind() calls everything else other", () => {
  for (
    const type of [
      "",
      "-Shield",
      "Shield",
      "GeoIP2-Anonymous-Plus",
      "GeoIP2-DensityIncome",
      "GeoIP2-User-Count",
      "GeoIP2-IP-Risk",
      "DBIP-City-Lite",
      "geoip2-city", // names are matched as MaxMind writes them
      "GeoIP2-City ",
      "GeoIP2-City-Shield-Shield",
      "Test",
    ]
  ) {
    assert.equal(databaseKind(type), "other", JSON.stringify(type));
  }
});

Deno.test("isLocationKind() holds for city and country only", () => {
  const location = DATABASE_KINDS.filter(isLocationKind);
  assert.deepEqual(location, ["city", "country"]);
  assert.equal(DATABASE_KINDS.length, 8);
});

Deno.test("sameKind() pairs the databases a reload replaces", async (t) => {
  await t.step("all City editions are one kind", () => {
    assert.equal(sameKind("GeoLite2-City", "GeoIP2-City"), true);
    assert.equal(sameKind("GeoIP2-City", "GeoIP2-Enterprise"), true);
    assert.equal(sameKind("GeoIP2-Precision-Enterprise-Shield", "GeoLite2-City"), true);
    assert.equal(sameKind("GeoLite2-Country", "GeoIP2-Country-Shield"), true);
  });
  await t.step("a City and a Country or ASN database are not", () => {
    assert.equal(sameKind("GeoLite2-City", "GeoLite2-Country"), false);
    assert.equal(sameKind("GeoLite2-City", "GeoLite2-ASN"), false);
    assert.equal(sameKind("GeoLite2-ASN", "GeoIP2-ISP"), false);
    assert.equal(sameKind("GeoIP2-Domain", "GeoIP2-Connection-Type"), false);
  });
  await t.step("other types match only themselves", () => {
    assert.equal(sameKind("DBIP-City-Lite", "DBIP-City-Lite"), true);
    assert.equal(sameKind("DBIP-City-Lite", "DBIP-ASN-Lite"), false);
    assert.equal(sameKind("GeoIP2-User-Count", "GeoLite2-City"), false);
  });
  await t.step("it is symmetric", () => {
    const types = ["GeoLite2-City", "GeoIP2-Enterprise", "GeoLite2-ASN", "X", "Y", ""];
    for (const a of types) {
      for (const b of types) assert.equal(sameKind(a, b), sameKind(b, a), `${a} ${b}`);
    }
  });
});

import assert from "node:assert/strict";
import { toGeoip2, VENDOR_FIELDS } from "../../../lib/lookup/geoip2_record.ts";
import { formatFields, formatTsv, parseFieldList } from "../../../lib/protocol/mod.ts";

function get(record: unknown, fields: string): string {
  const parsed = parseFieldList(fields);
  assert.ok(parsed.ok);
  return formatFields(record, { fields: parsed.value, languages: ["en"] });
}

const DBIP = {
  city: "Mountain View",
  country_code: "US",
  latitude: 37.422000885009766,
  longitude: -122.08499908447266,
  postcode: "94043",
  state1: "California",
  state2: "Santa Clara County",
  timezone: "America/Los_Angeles",
};

Deno.test("toGeoip2() maps DB-IP Lite's flat record field by field", () => {
  assert.deepEqual(toGeoip2("ip-location-db", DBIP), {
    country: { iso_code: "US" },
    subdivisions: [{ names: { en: "California" } }, { names: { en: "Santa Clara County" } }],
    city: { names: { en: "Mountain View" } },
    postal: { code: "94043" },
    location: {
      latitude: 37.422000885009766,
      longitude: -122.08499908447266,
      time_zone: "America/Los_Angeles",
    },
  });
  const mapped = toGeoip2("ip-location-db", DBIP);
  assert.equal(
    formatTsv(mapped),
    "US\t(null)\tMountain View\t94043\t37.422001\t-122.084999\t(null)\t(null)",
  );
  assert.equal(
    get(mapped, "subdivisions.0.name,subdivisions.1.name,location.time_zone"),
    "California\tSanta Clara County\tAmerica/Los_Angeles",
  );
});

Deno.test("toGeoip2() takes an empty string as no value", () => {
  const sparse = { ...DBIP, postcode: "", state1: "", timezone: "", city: "" };
  assert.deepEqual(toGeoip2("ip-location-db", sparse), {
    country: { iso_code: "US" },
    subdivisions: [{ names: { en: "Santa Clara County" } }],
    location: { latitude: DBIP.latitude, longitude: DBIP.longitude },
  });
  assert.deepEqual(toGeoip2("ip-location-db", { country_code: "", latitude: "" }), {});
});

Deno.test("toGeoip2() maps IPinfo Lite, AS numbers from AS15169 to 15169", () => {
  const record = {
    asn: "AS15169",
    as_name: "Google LLC",
    as_domain: "google.com",
    country_code: "US",
    country: "United States",
    continent_code: "NA",
    continent: "North America",
  };
  assert.deepEqual(toGeoip2("ipinfo-lite", record), {
    country: { iso_code: "US", names: { en: "United States" } },
    continent: { code: "NA", names: { en: "North America" } },
    traits: {
      autonomous_system_number: 15169,
      autonomous_system_organization: "Google LLC",
      domain: "google.com",
    },
  });
  const asn = (value: unknown) =>
    (toGeoip2("ipinfo-lite", { asn: value }) as { traits?: Record<string, unknown> }).traits
      ?.autonomous_system_number;
  assert.equal(asn("13335"), 13335);
  assert.equal(asn("as64512"), 64512);
  assert.equal(asn(7), 7);
  assert.equal(asn(""), undefined);
  assert.equal(asn("AS"), undefined);
  assert.equal(asn("AS99999999999"), undefined, "over 32 bits");
  assert.equal(asn("Google"), undefined);
});

Deno.test("toGeoip2() keeps GeoIP2 records as they are, and nulls what is not a map", () => {
  const record = { country: { iso_code: "GB" } };
  assert.equal(toGeoip2("geoip2", record), record);
  assert.equal(toGeoip2("ip-location-db", null), null);
  assert.equal(toGeoip2("ip-location-db", "text"), null);
  assert.equal(toGeoip2("ipinfo-lite", [1, 2]), null);
  assert.deepEqual(toGeoip2("ip-location-db", { other: "x", nested: { a: 1 } }), {});
  assert.deepEqual(
    toGeoip2("ip-location-db", { country_code: { iso: "US" }, latitude: "12.5" }),
    { location: { latitude: 12.5 } },
    "a map where text is due is no value; a numeric string is a number",
  );
});

Deno.test("VENDOR_FIELDS names only paths that get can read", () => {
  for (const [schema, rules] of Object.entries(VENDOR_FIELDS)) {
    for (const rule of rules) {
      const path = rule.to.replace(/\.names\.en$/, ".name");
      assert.ok(parseFieldList(path).ok, `${schema}: ${rule.to}`);
    }
  }
});

Deno.test("docs/OPERATIONS.md tables the mapping exactly as VENDOR_FIELDS has it", () => {
  const page = Deno.readTextFileSync(new URL("../../../docs/OPERATIONS.md", import.meta.url));
  const section = page.slice(page.indexOf("## Other vendors' databases"));
  const tables = section.split(/\n\n/).filter((block) => block.startsWith("| the vendor's field"));
  const rows = (table: string) =>
    table.split("\n").slice(2).map((line) => {
      const [from, to] = line.split("|").slice(1, 3).map((cell) => cell.trim());
      return { from: from!.replace(/`/g, ""), to: to!.match(/^`([^`]+)`/)![1] };
    });
  assert.equal(tables.length, 2);
  const strip = (rules: readonly { from: string; to: string }[]) =>
    rules.map(({ from, to }) => ({ from, to }));
  assert.deepEqual(rows(tables[0]!), strip(VENDOR_FIELDS["ip-location-db"]));
  assert.deepEqual(rows(tables[1]!), strip(VENDOR_FIELDS["ipinfo-lite"]));
});

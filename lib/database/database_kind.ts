/**
 * What kind of data a MaxMind database holds, from the `database_type` its metadata
 * declares: where an address is (City, Country), or facts about its network (ASN, ISP,
 * Anonymous-IP, Connection-Type, Domain). The kind decides which database answers the
 * location and which fields the others add, and which database a reload replaces.
 *
 * @module
 */

/** The kinds of database geoipmq tells apart. */
export type DatabaseKind =
  | "city"
  | "country"
  | "asn"
  | "isp"
  | "anonymous-ip"
  | "connection-type"
  | "domain"
  | "other";

/** Every {@linkcode DatabaseKind}, in the order above. */
export const DATABASE_KINDS: readonly DatabaseKind[] = [
  "city",
  "country",
  "asn",
  "isp",
  "anonymous-ip",
  "connection-type",
  "domain",
  "other",
];

/**
 * MaxMind's database types, without the `-Shield` suffix that marks the same data for
 * customers of its Shield programme. The regional City editions
 * (`GeoIP2-City-Europe`, ...) hold the same records as GeoIP2-City for part of the world.
 */
const KINDS_BY_TYPE: ReadonlyMap<string, DatabaseKind> = new Map([
  ["GeoLite2-City", "city"],
  ["GeoIP2-City", "city"],
  ["GeoIP2-City-Africa", "city"],
  ["GeoIP2-City-Asia-Pacific", "city"],
  ["GeoIP2-City-Europe", "city"],
  ["GeoIP2-City-North-America", "city"],
  ["GeoIP2-City-South-America", "city"],
  ["GeoIP2-Enterprise", "city"],
  ["GeoIP2-Precision-Enterprise", "city"],
  ["GeoLite2-Country", "country"],
  ["GeoIP2-Country", "country"],
  ["GeoLite2-ASN", "asn"],
  ["GeoIP2-ISP", "isp"],
  ["GeoIP2-Anonymous-IP", "anonymous-ip"],
  ["GeoIP2-Connection-Type", "connection-type"],
  ["GeoIP2-Domain", "domain"],
]);

const SHIELD_SUFFIX = "-Shield";

/**
 * The kind of a database, from its metadata's `database_type`. Names are matched exactly,
 * as MaxMind writes them; a `-Shield` variant is the kind of its plain edition. Anything
 * else (other vendors, MaxMind's newer products) is `other`.
 *
 * @example
 * ```ts
 * import { databaseKind } from "./database_kind.ts";
 * console.log(databaseKind("GeoIP2-Enterprise")); // "city"
 * console.log(databaseKind("GeoIP2-Country-Shield")); // "country"
 * console.log(databaseKind("GeoLite2-ASN")); // "asn"
 * console.log(databaseKind("DBIP-City-Lite")); // "other"
 * ```
 *
 * @param databaseType the `database_type` of the metadata
 * @returns the kind
 */
export function databaseKind(databaseType: string): DatabaseKind {
  const plain = databaseType.endsWith(SHIELD_SUFFIX)
    ? databaseType.slice(0, -SHIELD_SUFFIX.length)
    : databaseType;
  return KINDS_BY_TYPE.get(plain) ?? "other";
}

/**
 * Whether a kind says where an address is: City (which includes Enterprise) and Country
 * databases. The first such database is the one whose record and network a lookup
 * answers with.
 *
 * @example
 * ```ts
 * import { isLocationKind } from "./database_kind.ts";
 * console.log(isLocationKind("country"), isLocationKind("asn")); // true false
 * ```
 *
 * @param kind a kind
 * @returns true for `city` and `country`
 */
export function isLocationKind(kind: DatabaseKind): boolean {
  return kind === "city" || kind === "country";
}

/**
 * Whether a database of one type replaces one of another type on reload: they are of the
 * same kind (GeoLite2-City, GeoIP2-City and GeoIP2-Enterprise are all City). Two
 * databases of kind `other` are the same only when their types are equal, since nothing
 * is known of what they hold.
 *
 * @example
 * ```ts
 * import { sameKind } from "./database_kind.ts";
 * console.log(sameKind("GeoLite2-City", "GeoIP2-Enterprise")); // true
 * console.log(sameKind("GeoLite2-City", "GeoLite2-ASN")); // false
 * console.log(sameKind("DBIP-City-Lite", "DBIP-ASN-Lite")); // false
 * ```
 *
 * @param a a `database_type`
 * @param b another `database_type`
 * @returns true when one replaces the other
 */
export function sameKind(a: string, b: string): boolean {
  const kind = databaseKind(a);
  if (kind !== databaseKind(b)) return false;
  return kind !== "other" || a === b;
}

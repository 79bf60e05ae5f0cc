/**
 * One answer from several databases: the location database's record, with the fields of
 * the other databases (ASN, ISP, Anonymous-IP, Connection-Type, Domain) added under
 * `traits`, named as in a GeoIP2 Insights record.
 *
 * @module
 */

import type { DatabaseKind } from "../database/mod.ts";

/** The record one non-location database has for an address (or null: it has none). */
export interface KindRecord {
  /** The kind of the database the record comes from. */
  kind: DatabaseKind;
  /** The decoded record, or null when the database has none for the address. */
  record: unknown;
}

/**
 * The fields each kind of database adds to `traits`, in the order they are added. Its
 * records keep them at the top level under these same names. Location and `other`
 * databases add nothing.
 */
export const TRAIT_FIELDS: Readonly<Record<DatabaseKind, readonly string[]>> = {
  city: [],
  country: [],
  asn: ["autonomous_system_number", "autonomous_system_organization"],
  isp: [
    "autonomous_system_number",
    "autonomous_system_organization",
    "isp",
    "organization",
    "mobile_country_code",
    "mobile_network_code",
  ],
  "anonymous-ip": [
    "is_anonymous",
    "is_anonymous_vpn",
    "is_hosting_provider",
    "is_public_proxy",
    "is_residential_proxy",
    "is_tor_exit_node",
  ],
  "connection-type": ["connection_type"],
  domain: ["domain"],
  other: [],
};

type Fields = Record<string, unknown>;

function isMap(value: unknown): value is Fields {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

/**
 * Merges the fields of other databases into the location record's `traits`.
 *
 * - Each kind adds the fields of {@linkcode TRAIT_FIELDS}; a record that is missing,
 *   empty or not a map adds nothing, and neither does a field it lacks (or holds as
 *   null).
 * - The first value of a field wins: the location record's own `traits` first, then the
 *   other records in the order given (the order of `--db`).
 * - Traits come out in that order too: the location's own, then each added field.
 * - With no location record, the answer is a record of only `traits` when the others add
 *   something, and null when they add nothing: the address is then "not found", as for
 *   one database. (The answer's network stays the location database's, so it is null.)
 * - When nothing is added, the location record itself is returned. A location record
 *   that is not a map, or whose `traits` is not a map, cannot take fields and is returned
 *   as it is.
 *
 * Nothing is mutated: records may be cached and shared, so a merged record is a new
 * object whose untouched members are shared with the location record.
 *
 * @example
 * ```ts
 * import { mergeTraits } from "./record_merge.ts";
 * const city = { country: { iso_code: "AU" }, traits: { is_anonymous: false } };
 * const merged = mergeTraits(city, [
 *   { kind: "asn", record: { autonomous_system_number: 1221 } },
 *   { kind: "anonymous-ip", record: { is_anonymous: true, is_anonymous_vpn: true } },
 * ]);
 * console.log(merged);
 * // { country: { iso_code: "AU" },
 * //   traits: { is_anonymous: false, autonomous_system_number: 1221, is_anonymous_vpn: true } }
 * ```
 *
 * @param location the location database's record, or null when it has none
 * @param others the other databases' records, in `--db` order
 * @returns the merged record, or null when nobody has anything
 */
export function mergeTraits(location: unknown, others: readonly KindRecord[]): unknown {
  if (location !== null && location !== undefined) {
    if (!isMap(location)) return location;
    const own = location["traits"];
    if (own !== undefined && own !== null && !isMap(own)) return location;
    const traits = collectTraits(own ?? undefined, others);
    return traits === undefined ? location : { ...location, traits };
  }
  const traits = collectTraits(undefined, others);
  return traits === undefined ? null : { traits };
}

/** The merged traits, or undefined when the others add nothing to `own`. */
function collectTraits(own: Fields | undefined, others: readonly KindRecord[]): Fields | undefined {
  let merged: Fields | undefined;
  for (const { kind, record } of others) {
    if (!isMap(record)) continue;
    for (const field of TRAIT_FIELDS[kind] ?? []) {
      const value = record[field];
      if (value === undefined || value === null) continue;
      if (own !== undefined && hasValue(own, field)) continue;
      if (merged !== undefined && hasValue(merged, field)) continue;
      merged ??= { ...own };
      merged[field] = value;
    }
  }
  return merged;
}

function hasValue(fields: Fields, name: string): boolean {
  return Object.hasOwn(fields, name) && fields[name] !== undefined && fields[name] !== null;
}

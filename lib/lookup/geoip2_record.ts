/**
 * Other vendors' records in GeoIP2's names, so that `geoip`, `get`, `?fields=` and
 * `?shape=geoip2` read a DB-IP Lite or IPinfo Lite record as they read a GeoLite2 one.
 * `json` keeps the record as the vendor wrote it. The tables are in docs/OPERATIONS.md,
 * "Other vendors' databases".
 *
 * @module
 */

import type { RecordSchema } from "../database/mod.ts";

/** Where one vendor field goes in the GeoIP2 record. */
export interface FieldRule {
  /** The vendor's field, at the top of its record. */
  readonly from: string;
  /**
   * The GeoIP2 path it fills, dotted; `subdivisions.N` is the Nth subdivision that has a
   * value (an empty `state1` leaves `state2` first).
   */
  readonly to: string;
  /** How the value is read: text (the default), a number, or an AS number ("AS15169"). */
  readonly as?: "text" | "number" | "asn";
}

/** The rules of each schema that is mapped; `geoip2` records are answered as they are. */
export const VENDOR_FIELDS: Readonly<
  Record<Exclude<RecordSchema, "geoip2">, readonly FieldRule[]>
> = {
  "ip-location-db": [
    { from: "country_code", to: "country.iso_code" },
    { from: "state1", to: "subdivisions.0.names.en" },
    { from: "state2", to: "subdivisions.1.names.en" },
    { from: "city", to: "city.names.en" },
    { from: "postcode", to: "postal.code" },
    { from: "latitude", to: "location.latitude", as: "number" },
    { from: "longitude", to: "location.longitude", as: "number" },
    { from: "timezone", to: "location.time_zone" },
  ],
  "ipinfo-lite": [
    { from: "country_code", to: "country.iso_code" },
    { from: "country", to: "country.names.en" },
    { from: "continent_code", to: "continent.code" },
    { from: "continent", to: "continent.names.en" },
    { from: "asn", to: "traits.autonomous_system_number", as: "asn" },
    { from: "as_name", to: "traits.autonomous_system_organization" },
    { from: "as_domain", to: "traits.domain" },
  ],
};

type Fields = Record<string, unknown>;

const AS_NUMBER = /^(?:AS)?([0-9]{1,10})$/i;

/** A vendor value as GeoIP2 holds it, or undefined: an empty string is no value. */
function readValue(value: unknown, as: FieldRule["as"]): unknown {
  if (as === "number") {
    if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
    if (typeof value !== "string" || value.trim() === "") return undefined;
    const number = Number(value);
    return Number.isFinite(number) ? number : undefined;
  }
  if (as === "asn") {
    if (typeof value === "number" || typeof value === "bigint") return value;
    const match = typeof value === "string" ? AS_NUMBER.exec(value.trim()) : null;
    const number = match === null ? NaN : Number(match[1]);
    return Number.isSafeInteger(number) && number <= 0xffff_ffff ? number : undefined;
  }
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return value;
  }
  return undefined;
}

/** Sets `path` in `record`, making the maps on the way; `subdivisions` is a list. */
function place(record: Fields, path: readonly string[], value: unknown): void {
  let at: Fields = record;
  for (let i = 0; i < path.length - 1; i++) {
    const name = path[i]!;
    if (name === "subdivisions") {
      const list = (at[name] ??= []) as Fields[];
      const item: Fields = {};
      list.push(item);
      at = item;
      i++; // the index: subdivisions come in the rules' order, empty ones left out
      continue;
    }
    at = (at[name] ??= {}) as Fields;
  }
  at[path[path.length - 1]!] = value;
}

/** Each schema's rules with their paths split once. */
const SPLIT_RULES = new Map(
  Object.entries(VENDOR_FIELDS).map(([schema, rules]) => [
    schema,
    rules.map((rule) => ({ ...rule, path: rule.to.split(".") })),
  ]),
);

/**
 * A record in GeoIP2's names. A `geoip2` record is returned as it is; a vendor's record
 * becomes a new record holding the fields of {@linkcode VENDOR_FIELDS} that have a value
 * (an empty string is none), in the table's order. Fields the table does not name are
 * left out; a record that is not a map maps to null.
 *
 * @example
 * ```ts
 * import { toGeoip2 } from "./geoip2_record.ts";
 * const dbip = {
 *   city: "Mountain View", country_code: "US", latitude: 37.4, longitude: -122.1,
 *   postcode: "", state1: "California", state2: "", timezone: "",
 * };
 * console.log(toGeoip2("ip-location-db", dbip));
 * // { country: { iso_code: "US" }, subdivisions: [ { names: { en: "California" } } ],
 * //   city: { names: { en: "Mountain View" } }, location: { latitude: 37.4, longitude: -122.1 } }
 * console.log(toGeoip2("ipinfo-lite", { asn: "AS15169", as_name: "Google LLC" }));
 * // { traits: { autonomous_system_number: 15169, autonomous_system_organization: "Google LLC" } }
 * ```
 *
 * @param schema the schema the record follows
 * @param record the record as stored
 * @returns the record in GeoIP2's names
 */
export function toGeoip2(schema: RecordSchema, record: unknown): unknown {
  const rules = SPLIT_RULES.get(schema);
  if (rules === undefined || record === null || record === undefined) return record;
  if (typeof record !== "object" || Array.isArray(record) || record instanceof Uint8Array) {
    return null;
  }
  const fields = record as Fields;
  const mapped: Fields = {};
  for (const rule of rules) {
    const value = readValue(fields[rule.from], rule.as);
    if (value !== undefined) place(mapped, rule.path, value);
  }
  return mapped;
}

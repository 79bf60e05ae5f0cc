/**
 * How a database record is written on the wire: the original geoipmq's eight
 * tab-separated fields, and the JSON form.
 *
 * @module
 */

import { localizedName } from "./names.ts";

/** What the original printed for a field the record does not have. */
export const MISSING_FIELD = "(null)";

/** The reply to `geoip` for an address the database has no record for. */
export const NOT_FOUND = "NOT_FOUND";

/** The names of the eight TSV fields, in order. */
export const TSV_FIELDS = [
  "country.iso_code",
  "subdivisions[0].iso_code",
  "city.names.en",
  "postal.code",
  "location.latitude",
  "location.longitude",
  "location.metro_code",
  "area_code",
] as const;

type Fields = Record<string, unknown>;

function child(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object" ? (value as Fields)[key] : undefined;
}

function text(value: unknown): string {
  if (typeof value === "string") return value.replace(/[\t\n\r]/g, " ");
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return MISSING_FIELD;
}

function integer(value: unknown): string {
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (typeof value === "bigint") return String(value);
  return MISSING_FIELD;
}

/**
 * Formats a number like C's `printf("%f")`: six decimals, ties to even.
 *
 * @example
 * ```ts
 * import { formatFixed6 } from "./reply_format.ts";
 * console.log(formatFixed6(51.5142)); // "51.514200"
 * console.log(formatFixed6(0.0078125)); // "0.007812"
 * ```
 *
 * @param value a finite number
 * @returns the number with six decimals
 */
export function formatFixed6(value: number): string {
  if (Object.is(value, -0)) return "-0.000000";
  // A tie at the 7th decimal needs value * 2 * 10^6 to be an odd integer, which for a
  // binary double means value * 128 is an odd integer. JavaScript rounds ties away from
  // zero; C rounds them to even.
  const scaled = value * 128;
  if (Number.isInteger(scaled) && scaled % 2 !== 0) {
    const seven = value.toFixed(7);
    const truncated = seven.slice(0, -1);
    const lastDigit = truncated.charCodeAt(truncated.length - 1) - 48;
    if (lastDigit % 2 === 0) return truncated;
  }
  return value.toFixed(6);
}

function coordinate(value: unknown): string {
  return typeof value === "number" && Number.isFinite(value) ? formatFixed6(value) : MISSING_FIELD;
}

/**
 * The original geoipmq's reply for a record: eight tab-separated fields (see
 * {@linkcode TSV_FIELDS}); a field the record lacks is `(null)`; tabs and line breaks in
 * strings become spaces. GeoIP2 has no area code, so the last field is always `(null)`.
 *
 * @example
 * ```ts
 * import { formatTsv } from "./reply_format.ts";
 * const record = { country: { iso_code: "GB" }, location: { latitude: 51.5, longitude: -0.1 } };
 * console.log(formatTsv(record).split("\t"));
 * // ["GB", "(null)", "(null)", "(null)", "51.500000", "-0.100000", "(null)", "(null)"]
 * ```
 *
 * @param record a decoded City (or Country) record
 * @param languages the city name's languages, most preferred first (default English;
 *   English when none of them has one)
 * @returns the TSV line, without a line break
 */
export function formatTsv(record: unknown, languages: readonly string[] = ENGLISH): string {
  const location = child(record, "location");
  const subdivisions = child(record, "subdivisions");
  const firstSubdivision = Array.isArray(subdivisions) ? subdivisions[0] : undefined;
  return [
    text(child(child(record, "country"), "iso_code")),
    text(child(firstSubdivision, "iso_code")),
    text(localizedName(child(child(record, "city"), "names"), languages)),
    text(child(child(record, "postal"), "code")),
    coordinate(child(location, "latitude")),
    coordinate(child(location, "longitude")),
    integer(child(location, "metro_code")),
    MISSING_FIELD,
  ].join("\t");
}

const ENGLISH: readonly string[] = ["en"];

/** `JSON.rawJSON`, which V8 has and TypeScript's library does not declare yet. */
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Fields)[key];
  if (original instanceof Uint8Array) return Array.from(original);
  if (typeof value === "bigint") return rawJson(value.toString());
  return value;
}

/**
 * Serialises a value as JSON, writing 64- and 128-bit integers as exact numbers and
 * byte strings as arrays of byte values.
 *
 * @param value a decoded record, or an object holding records
 * @returns the JSON text
 */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}

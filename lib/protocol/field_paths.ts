/**
 * Fields picked out of a record by name, for `get <fields> <ip>...`: the parser of the
 * comma-separated list of dotted paths (`country.iso_code,city.name,subdivisions.0.name`),
 * the walk of a path through a record, names in the preferred language, and the text of
 * a value in a tab-separated line. Also the parser of the `--lang` list.
 *
 * @module
 */

import { quoteValue } from "./request.ts";
import { localizedName } from "./names.ts";
import { MISSING_FIELD, stringifyJson } from "./reply_format.ts";

/** The top-level names of a GeoIP2 City or Insights record: where every path starts. */
export const RECORD_NAMES: readonly string[] = [
  "city",
  "continent",
  "country",
  "location",
  "postal",
  "registered_country",
  "represented_country",
  "subdivisions",
  "traits",
  "maxmind",
];

/** The most fields one list may name. */
export const MAX_FIELDS = 64;
/**
 * The longest field path taken, in characters. The paths of MaxMind's and other vendors'
 * records are a few dozen characters; a longer one names nothing, and refusing it before
 * the list is split keeps a request of long made-up paths from costing more than its bytes.
 */
export const MAX_FIELD_PATH_CHARS = 128;

/** The most languages one `--lang` list may name. */
export const MAX_LANGUAGES = 16;

/** A parsed path into a record. */
export interface FieldPath {
  /** The path as written. */
  readonly text: string;
  /** Its dot-separated parts: names of members, or indices into lists. */
  readonly segments: readonly string[];
}

/** What a parser makes of its input: the value, or why it refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The ways to read a record: which fields, and names in which languages. */
export interface FieldOptions {
  /** Languages for paths ending in `.name`, most preferred first. */
  languages: readonly string[];
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const INDEX = /^(?:0|[1-9][0-9]*)$/;
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;
const NAME = "name";

type Fields = Record<string, unknown>;

function refuse<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}

/**
 * Parses a comma-separated list of dotted paths. Each path starts with one of
 * {@linkcode RECORD_NAMES}; its parts are letters, digits, `_` and `-` (the names MaxMind
 * uses, and list indices); none may be empty. A path may be named twice.
 *
 * @example
 * ```ts
 * import { parseFieldList } from "./field_paths.ts";
 * const parsed = parseFieldList("country.iso_code,subdivisions.0.name");
 * console.log(parsed.ok && parsed.value.map((p) => p.segments));
 * // [["country", "iso_code"], ["subdivisions", "0", "name"]]
 * console.log(parseFieldList("city..name"));
 * // { ok: false, reason: 'empty part in field "city..name"' }
 * ```
 *
 * @param text the list as sent
 * @returns the paths in order, or why the list is refused
 */
export function parseFieldList(text: string): Parsed<FieldPath[]> {
  if (text.length > MAX_FIELDS * (MAX_FIELD_PATH_CHARS + 1)) {
    return refuse(
      `field list longer than ${MAX_FIELDS * (MAX_FIELD_PATH_CHARS + 1)} characters ` +
        `(at most ${MAX_FIELDS} fields of ${MAX_FIELD_PATH_CHARS})`,
    );
  }
  return parseList(text, { noun: "field", max: MAX_FIELDS }, (item) => {
    if (item.length > MAX_FIELD_PATH_CHARS) {
      return refuse(
        `field ${quoteValue(item)} longer than ${MAX_FIELD_PATH_CHARS} characters`,
      );
    }
    const segments = item.split(".");
    if (segments.some((segment) => segment === "")) {
      return refuse(`empty part in field ${quoteValue(item)}`);
    }
    if (!segments.every((segment) => SEGMENT.test(segment))) {
      return refuse(`field ${quoteValue(item)} has characters other than A-Z a-z 0-9 _ - .`);
    }
    if (!RECORD_NAMES.includes(segments[0]!)) {
      return refuse(
        `unknown field ${quoteValue(item)}: fields start with ${RECORD_NAMES.join(", ")}`,
      );
    }
    return { ok: true, value: { text: item, segments } };
  });
}

/**
 * Parses a comma-separated list of language tags, most preferred first, and writes each
 * in the case MaxMind uses for its names (`pt-BR`, `zh-CN`): language in lower case, a
 * two-letter region in upper case, a four-letter script capitalised.
 *
 * @example
 * ```ts
 * import { parseLanguageList } from "./field_paths.ts";
 * console.log(parseLanguageList("de,zh-cn,en")); // { ok: true, value: ["de", "zh-CN", "en"] }
 * ```
 *
 * @param text the list, as given to `--lang`
 * @returns the tags, or why the list is refused
 */
export function parseLanguageList(text: string): Parsed<string[]> {
  return parseList(text, { noun: "language", max: MAX_LANGUAGES }, (item) => {
    if (!LANGUAGE_TAG.test(item)) return refuse(`invalid language tag ${quoteValue(item)}`);
    return { ok: true, value: canonicalTag(item) };
  });
}

/**
 * Parses a comma-separated list item by item: the list must not be empty nor name more
 * than `list.max` items, and no item may be empty; the first refusal wins.
 */
function parseList<T>(
  text: string,
  list: { noun: string; max: number },
  parseItem: (item: string) => Parsed<T>,
): Parsed<T[]> {
  if (text === "") return refuse(`empty ${list.noun} list`);
  const items = text.split(",");
  if (items.length > list.max) return refuse(`more than ${list.max} ${list.noun}s`);
  const values: T[] = [];
  for (const item of items) {
    if (item === "") return refuse(`empty ${list.noun} in ${quoteValue(text)}`);
    const parsed = parseItem(item);
    if (!parsed.ok) return parsed;
    values.push(parsed.value);
  }
  return { ok: true, value: values };
}

function canonicalTag(tag: string): string {
  return tag.split("-").map((part, i) => {
    if (i === 0) return part.toLowerCase();
    if (part.length === 2) return part.toUpperCase();
    if (part.length === 4) return part[0]!.toUpperCase() + part.slice(1).toLowerCase();
    return part.toLowerCase();
  }).join("-");
}

function member(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) return INDEX.test(segment) ? value[Number(segment)] : undefined;
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) {
    return undefined;
  }
  return Object.hasOwn(value, segment) ? (value as Fields)[segment] : undefined;
}

/**
 * Follows a path through a record: a part names a member of a map, or (digits) an
 * element of a list. A path ending in `.name` is the name of what comes before it, in the
 * preferred language (see {@linkcode localizedName}).
 *
 * @example
 * ```ts
 * import { parseFieldList, resolveField } from "./field_paths.ts";
 * const parsed = parseFieldList("subdivisions.0.name");
 * const record = { subdivisions: [{ names: { en: "Bavaria", de: "Bayern" } }] };
 * if (parsed.ok) console.log(resolveField(record, { path: parsed.value[0]!, languages: ["de"] })); // "Bayern"
 * ```
 *
 * @param record a decoded (or merged) record
 * @param options the path, and the languages for `.name`
 * @returns the value, or undefined when the record has none there
 */
export function resolveField(
  record: unknown,
  options: FieldOptions & { path: FieldPath },
): unknown {
  const segments = options.path.segments;
  const localized = segments.length >= 2 && segments[segments.length - 1] === NAME;
  const end = localized ? segments.length - 1 : segments.length;
  let value = record;
  for (let i = 0; i < end && value !== undefined; i++) value = member(value, segments[i]!);
  return localized ? localizedName(member(value, "names"), options.languages) : value;
}

/**
 * A value as one field of a tab-separated line: numbers as in JSON, booleans as `true`
 * or `false`, strings as they are with tabs and line breaks made spaces, maps and lists
 * as JSON, and `(null)` for no value (or a number JSON cannot hold).
 *
 * @example
 * ```ts
 * import { renderField } from "./field_paths.ts";
 * console.log([51.5, true, "a\tb", { en: "X" }, undefined].map(renderField));
 * // ["51.5", "true", "a b", '{"en":"X"}', "(null)"]
 * ```
 *
 * @param value a value from {@linkcode resolveField}
 * @returns its text, without tabs or line breaks
 */
export function renderField(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value.replace(/[\t\n\r]/g, " ");
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : MISSING_FIELD;
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
    case "object":
      return value === null ? MISSING_FIELD : stringifyJson(value);
    default:
      return MISSING_FIELD;
  }
}

/**
 * The `get` line for one record: each field's value, tab-separated. A record that is
 * null (the address was not found) gives `(null)` for every field.
 *
 * @example
 * ```ts
 * import { formatFields, parseFieldList } from "./field_paths.ts";
 * const parsed = parseFieldList("country.iso_code,city.name,location.latitude");
 * const record = { country: { iso_code: "DE" }, location: { latitude: 48.1 } };
 * if (parsed.ok) console.log(formatFields(record, { fields: parsed.value, languages: ["en"] }));
 * // "DE\t(null)\t48.1"
 * ```
 *
 * @param record a decoded (or merged) record, or null
 * @param options the fields, and the languages for `.name`
 * @returns the line, without a line break
 */
export function formatFields(
  record: unknown,
  options: FieldOptions & { fields: readonly FieldPath[] },
): string {
  const { fields, languages } = options;
  return fields.map((path) => renderField(resolveField(record, { path, languages }))).join("\t");
}

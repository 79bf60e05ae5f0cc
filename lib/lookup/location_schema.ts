/**
 * What the location database's records are: their schema (GeoIP2, or another vendor's
 * that is mapped to it), and a warning when `geoip` would find none of its fields in a
 * sample of them, so that a file of an unknown schema is said at start and in `info`
 * instead of answering `(null)` in silence.
 *
 * @module
 */

import {
  type GeoDatabase,
  type RecordSchema,
  recordSchema,
  sampleRecords,
} from "../database/mod.ts";
import { formatTsv, MISSING_FIELD } from "../protocol/mod.ts";
import { toGeoip2 } from "./geoip2_record.ts";

/** The schema of a location database, and what is wrong with it for `geoip`. */
export interface LocationSchema {
  /** The schema its records follow. */
  schema: RecordSchema;
  /** Records sampled to tell it. */
  sampled: number;
  /** One line when no sampled record has a field `geoip` answers; else absent. */
  warning?: string;
}

/** Top-level names of the sampled records a warning lists at most. */
const NAMES_SHOWN = 12;

/**
 * Samples a database's records, tells their schema, and checks that `geoip` finds at least
 * one of its fields (the area code, never in a GeoIP2 record, aside) in one of them. A
 * database none of whose records could be sampled gets no warning: nothing is known.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { locationSchema } from "./location_schema.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * console.log(locationSchema(database)); // { schema: "geoip2", sampled: 43 }
 * ```
 *
 * @param database the location database
 * @returns the schema, and a warning when `geoip` would answer only `(null)`
 */
export function locationSchema(database: GeoDatabase): LocationSchema {
  const sample = sampleRecords(database);
  const schema = recordSchema(database.metadata.databaseType, sample);
  const found: LocationSchema = { schema, sampled: sample.length };
  if (sample.length === 0) return found;
  const answers = (record: unknown) =>
    formatTsv(toGeoip2(schema, record)).split("\t").slice(0, -1)
      .some((field) => field !== MISSING_FIELD);
  if (sample.some(answers)) return found;
  const names = new Set<string>();
  for (const record of sample) {
    if (record === null || typeof record !== "object" || Array.isArray(record)) continue;
    for (const name of Object.keys(record)) names.add(name);
  }
  const shown = [...names].slice(0, NAMES_SHOWN);
  const held = shown.length === 0
    ? "the records are not maps"
    : `the records hold ${shown.join(", ")}${names.size > shown.length ? ", ..." : ""}`;
  found.warning = `"${database.source}" (database_type "${database.metadata.databaseType}"): ` +
    `no field geoip answers in ${sample.length} sampled records, every geoip field will be ` +
    `(null); ${held}`;
  return found;
}

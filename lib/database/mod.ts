/**
 * MaxMind databases in memory: reading a `.mmdb` (or `.mmdb.gz`) file straight into
 * shared memory, checking it before use, walking its search tree and decoding records;
 * the database bundled with the project; watching a file for replacement.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "./mod.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * console.log(database.metadata.databaseType); // "GeoLite2-City"
 * ```
 *
 * @module
 */

export { GeoDatabase, type LookupResult } from "./geo_database.ts";
export { AddressFamilyError, DatabaseError } from "./database_errors.ts";
export { type DatabaseMetadata, hasMetadataMarker } from "./database_metadata.ts";
export { MAX_RECORD_VALUES } from "./maxmind_reader.ts";
export { readDatabaseFile } from "./database_file.ts";
export type { ByteSink } from "./byte_sink.ts";
export { DataSection, DataSectionError, DataType } from "./data_section.ts";
export { ValueWriter } from "./value_writer.ts";
export { TsvWriter } from "./tsv_writer.ts";
export { FieldWriter } from "./field_writer.ts";
export { BUNDLED_DATABASE_PACKAGE, bundledDatabasePath } from "./bundled.ts";
export { watchDatabase, type WatchOptions } from "./watcher.ts";
export { collectGarbage, releaseReplacedDatabase } from "./release.ts";
export {
  DATABASE_KINDS,
  type DatabaseKind,
  databaseKind,
  isLocationKind,
  sameKind,
} from "./database_kind.ts";
export { DEFAULT_SAMPLE_SIZE, type SampleOptions, sampleRecords } from "./record_sample.ts";
export { type RecordSchema, recordSchema } from "./vendor_schema.ts";

/**
 * The databases a responder answers from, in `--db` order: the location database (the
 * first City, Country or Enterprise one, else the first one) and the others, which add
 * their fields to the record's `traits`. It walks every tree for an address and merges
 * the records found.
 *
 * @module
 */

import {
  type DatabaseKind,
  databaseKind,
  type GeoDatabase,
  isLocationKind,
  ValueWriter,
} from "../database/mod.ts";
import { mergeTraits, TRAIT_FIELDS } from "./record_merge.ts";
import { toGeoip2 } from "./geoip2_record.ts";
import { type LocationSchema, locationSchema } from "./location_schema.ts";

const encoder = new TextEncoder();

/** A database other than the location one, and what it adds to `traits`. */
export interface TraitSource {
  kind: DatabaseKind;
  database: GeoDatabase;
  /** Writes its values as JSON. */
  writer: ValueWriter;
  /** The fields it adds, as UTF-8 keys, and their JSON names with the colon. */
  keys: Uint8Array[];
  names: Uint8Array[];
  /** The search of its fields, made once: where `DataSection.members` leaves their offsets. */
  search: { keys: readonly Uint8Array[]; found: Int32Array };
}

/**
 * The location database and the ones adding traits, and the records an address has in
 * each.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { ResponderDatabases } from "./responder_databases.ts";
 * const databases = new ResponderDatabases([await GeoDatabase.open(bundledDatabasePath())]);
 * console.log(databases.locate(new Uint8Array([81, 2, 69, 160]), 4), databases.offsets[0]! >= 0); // true true
 * ```
 */
export class ResponderDatabases {
  /** Every database, in `--db` order. */
  readonly list: readonly GeoDatabase[];
  /** The database records are read from. */
  readonly location: GeoDatabase;
  /** Its record schema (a vendor's records are read in GeoIP2's names). */
  readonly schema: LocationSchema;
  /** The others that add fields to `traits` (those with none to add are left out). */
  readonly others: readonly TraitSource[];
  /** Whether no two others can add the same field (then their fragments just join). */
  readonly disjoint: boolean;
  /** The records `locate` found: the location database's first, -1 where none. */
  readonly offsets: Int32Array;

  /** @param list the databases, in `--db` order (at least one) */
  constructor(list: readonly GeoDatabase[]) {
    if (list.length === 0) throw new TypeError("a responder needs a database");
    const kindOf = (database: GeoDatabase) => databaseKind(database.metadata.databaseType);
    const location = list.find((database) => isLocationKind(kindOf(database))) ?? list[0]!;
    this.list = list;
    this.location = location;
    this.schema = locationSchema(location);
    this.others = list
      .filter((database) => database !== location)
      .map((database) => {
        const kind = kindOf(database);
        const fields = TRAIT_FIELDS[kind];
        const keys = fields.map((field) => encoder.encode(field));
        return {
          kind,
          database,
          writer: new ValueWriter(database.section),
          keys,
          names: fields.map((field) => encoder.encode(`${JSON.stringify(field)}:`)),
          search: { keys, found: new Int32Array(fields.length) },
        };
      })
      .filter((source) => source.keys.length > 0);
    this.offsets = new Int32Array(this.others.length + 1);
    const fields = this.others.flatMap((source) => TRAIT_FIELDS[source.kind]);
    this.disjoint = new Set(fields).size === fields.length;
  }

  /**
   * Walks every database's tree for an address: the offsets go to
   * {@linkcode ResponderDatabases.offsets}.
   *
   * @param bytes the address bytes
   * @param version 4 or 6
   * @returns whether any database has a record (then {@linkcode ResponderDatabases.key}
   *   names the combination)
   * @throws {import("../database/mod.ts").AddressFamilyError} for an IPv6 address in an
   *   IPv4-only location database
   */
  locate(bytes: Uint8Array, version: 4 | 6): boolean {
    const offsets = this.offsets;
    offsets[0] = this.location.findOffset(bytes, version);
    let any = offsets[0]! >= 0;
    for (let i = 0; i < this.others.length; i++) {
      const database = this.others[i]!.database;
      let offset = -1;
      if (version === 4 || database.metadata.ipVersion === 6) {
        offset = database.findOffset(bytes, version);
      }
      offsets[i + 1] = offset;
      if (offset >= 0) any = true;
    }
    return any;
  }

  /** @returns the cache key of the combination of records `locate` found */
  key(): string {
    return this.offsets.join("/");
  }

  /**
   * A location record in GeoIP2's names (another vendor's record mapped), as `geoip`,
   * `get` and `?fields=` read it; `json` answers the record as stored.
   *
   * @param offset the record's data-section offset
   * @returns the decoded record
   */
  locationRecord(offset: number): unknown {
    return toGeoip2(this.schema.schema, this.location.decodeRecord(offset));
  }

  /**
   * The record of the combination `locate` found: the location one (in GeoIP2's names,
   * or as stored for `json`), merged.
   *
   * @param form GeoIP2's names, or the location record as stored
   * @returns the merged record, or null when nobody has one
   */
  mergedRecord(form: "geoip2" | "stored" = "geoip2"): unknown {
    const offsets = this.offsets;
    const at = offsets[0]!;
    const location = at < 0
      ? null
      : form === "stored"
      ? this.location.decodeRecord(at)
      : this.locationRecord(at);
    if (this.others.length === 0) return location;
    return mergeTraits(
      location,
      this.others.map((source, i) => ({
        kind: source.kind,
        record: offsets[i + 1]! >= 0 ? source.database.decodeRecord(offsets[i + 1]!) : null,
      })),
    );
  }
}

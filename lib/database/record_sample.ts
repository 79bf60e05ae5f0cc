/**
 * A sample of a database's records, taken by walking its search tree from the root along
 * pseudo-random bits (the same bits every time, so a file always gives the same sample):
 * what the file's records look like, without knowing any address it holds.
 *
 * @module
 */

import type { GeoDatabase } from "./geo_database.ts";

/** Records a sample holds by default. */
export const DEFAULT_SAMPLE_SIZE = 64;

/** The data section starts this many bytes after the search tree. */
const DATA_SECTION_SEPARATOR = 16;

/** Options for {@linkcode sampleRecords}. */
export interface SampleOptions {
  /** The most distinct records to return; default {@linkcode DEFAULT_SAMPLE_SIZE}. */
  count?: number;
}

/**
 * Takes up to `count` distinct records of a database. Each walk goes down from the root,
 * taking a pseudo-random branch at each node, or the other one where that branch holds no
 * data, until it reaches a record. At most four walks per record asked for are made, so a
 * sparse file gives fewer records; a record that does not decode is left out. Never throws.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "./mod.ts";
 * import { sampleRecords } from "./record_sample.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const sample = sampleRecords(database, { count: 8 });
 * console.log(sample.length); // 8
 * ```
 *
 * @param database the database
 * @param options how many records
 * @returns the decoded records, in the order the walks met them
 */
export function sampleRecords(database: GeoDatabase, options: SampleOptions = {}): unknown[] {
  const count = options.count ?? DEFAULT_SAMPLE_SIZE;
  const nodeCount = database.metadata.nodeCount;
  const depth = database.metadata.ipVersion === 6 ? 128 : 32;
  const seen = new Set<number>();
  const records: unknown[] = [];
  let state = 0x9e3779b9;
  const nextBit = (): 0 | 1 => {
    // xorshift32: cheap, and the same sequence on every start.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state & 1) as 0 | 1;
  };
  for (let walk = 0; walk < count * 4 && records.length < count; walk++) {
    const value = descend(database, { nodeCount, depth, nextBit });
    if (value <= nodeCount) continue;
    const offset = value - nodeCount - DATA_SECTION_SEPARATOR;
    if (seen.has(offset)) continue;
    seen.add(offset);
    try {
      records.push(database.decodeRecord(offset));
    } catch {
      // A record that does not decode tells nothing of the schema.
    }
  }
  return records;
}

/** One walk down the tree: the value it ends on (a data pointer, or no data). */
function descend(
  database: GeoDatabase,
  walk: { nodeCount: number; depth: number; nextBit: () => 0 | 1 },
): number {
  const { nodeCount, depth, nextBit } = walk;
  let node = 0;
  try {
    for (let level = 0; level < depth && node < nodeCount; level++) {
      const bit = nextBit();
      const chosen = database.nodeRecord(node, bit);
      node = chosen === nodeCount ? database.nodeRecord(node, bit === 0 ? 1 : 0) : chosen;
    }
  } catch {
    return nodeCount;
  }
  return node;
}

/**
 * A MaxMind DB (`.mmdb`) held in memory: opened from bytes or a file, checked before use,
 * and asked addresses. The search tree walk is done here, so a lookup yields the record's
 * data-section offset, which identifies the record (many networks share one) and keys
 * caches of answers; records are decoded by `npm:maxmind`'s reader, or read in place
 * ({@linkcode DataSection}).
 *
 * The bytes may live in a `SharedArrayBuffer`, so Workers share one copy.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Reader } from "maxmind";
import { DataSection } from "./data_section.ts";
import type { IpAddress } from "../protocol/mod.ts";
import { AddressFamilyError, DatabaseError } from "./database_errors.ts";
import { readDatabaseFile } from "./database_file.ts";
import {
  checkMetadata,
  DATA_SECTION_SEPARATOR,
  type DatabaseMetadata,
  hasMetadataMarker,
} from "./database_metadata.ts";
import {
  type DecodeBudget,
  guardValueSizes,
  MAX_RECORD_VALUES,
  type ReaderInternals,
} from "./maxmind_reader.ts";

/** The result of a lookup that found a record. */
export interface LookupResult {
  /** The decoded record, as stored. */
  record: unknown;
  /** Prefix length of the matched network, in the address's own bits (IPv4: 0-32). */
  prefixLength: number;
  /** Offset of the record in the data section: equal offsets mean the same record. */
  recordOffset: number;
}

const PROBE_ADDRESSES: readonly number[][] = [
  [0, 0, 0, 0],
  [1, 1, 1, 1],
  [8, 8, 8, 8],
  [81, 2, 69, 160],
  [128, 101, 101, 101],
  [202, 196, 224, 0],
  [255, 255, 255, 255],
];

/** IPv4 lookups start from a table of the tree's first this many levels (64 Ki entries). */
const IPV4_TABLE_BITS = 16;

/**
 * An open MaxMind database.
 *
 * @example
 * ```ts
 * import { GeoDatabase } from "./geo_database.ts";
 * import { readDatabaseFile } from "./database_file.ts";
 * import { bundledDatabasePath } from "./bundled.ts";
 * const path = bundledDatabasePath();
 * const db = GeoDatabase.fromBytes(await readDatabaseFile(path), path);
 * const found = db.lookup({ version: 4, bytes: new Uint8Array([81, 2, 69, 160]) });
 * console.log((found?.record as { postal: { code: string } }).postal.code); // "N2"
 * ```
 */
export class GeoDatabase {
  /** Where the database came from, for logs and `info`. */
  readonly source: string;
  /** What the database says of itself. */
  readonly metadata: DatabaseMetadata;
  /** The database bytes (possibly shared with other threads). */
  readonly bytes: Uint8Array<ArrayBufferLike>;
  readonly #reader: ReaderInternals;
  readonly #nodes: Uint8Array<ArrayBufferLike>;
  readonly #nodeCount: number;
  readonly #recordSize: number;
  readonly #nodeBytes: number;
  readonly #dataSectionSize: number;
  readonly #ipv4Start: number;
  readonly #ipv4StartDepth: number;
  /**
   * Where an IPv4 walk is after the address's first {@linkcode IPV4_TABLE_BITS} bits, by
   * those bits: the node (or record) reached, and at what depth the walk stopped there
   * (earlier for a network shorter than /16). Made at the first IPv4 lookup; it skips the
   * top of the tree, 16 dependent reads per lookup.
   */
  #ipv4Nodes: Uint32Array | null = null;
  #ipv4Depths: Uint8Array | null = null;

  readonly #budget: DecodeBudget;
  #section: DataSection | null = null;

  private constructor(
    bytes: Uint8Array<ArrayBufferLike>,
    source: string,
    reader: ReaderInternals,
    budget: DecodeBudget,
  ) {
    this.#budget = budget;
    this.bytes = bytes;
    this.source = source;
    this.#reader = reader;
    const m = reader.metadata;
    this.#nodes = bytes;
    this.#nodeCount = m.nodeCount;
    this.#recordSize = m.recordSize;
    this.#nodeBytes = m.recordSize / 4;
    this.#dataSectionSize = bytes.length - m.searchTreeSize - DATA_SECTION_SEPARATOR;
    this.metadata = {
      databaseType: m.databaseType,
      buildEpoch: Math.floor(m.buildEpoch.getTime() / 1000),
      ipVersion: m.ipVersion === 4 ? 4 : 6,
      nodeCount: m.nodeCount,
      recordSize: m.recordSize,
      languages: m.languages ?? [],
      description: m.description ?? {},
      binaryFormatVersion: `${m.binaryFormatMajorVersion}.${m.binaryFormatMinorVersion}`,
    };
    let node = 0;
    let depth = 0;
    if (this.metadata.ipVersion === 6) {
      for (; depth < 96 && node < this.#nodeCount; depth++) node = this.#readRecord(node, 0);
    }
    this.#ipv4Start = node;
    this.#ipv4StartDepth = depth;
  }

  /**
   * Opens a database held in memory and checks it: metadata, tree bounds, and lookups of a
   * few well-known addresses must all succeed.
   *
   * @param bytes the whole `.mmdb` file
   * @param source where it came from (a path), used in messages
   * @param options `checked: true` skips the checks for bytes already checked once (a
   *   worker opening the main thread's copy)
   * @returns the open database
   * @throws {DatabaseError} naming the source when the bytes are not a usable database
   */
  static fromBytes(
    bytes: Uint8Array<ArrayBufferLike>,
    source: string,
    options: { checked?: boolean } = {},
  ): GeoDatabase {
    if (!hasMetadataMarker(bytes)) {
      throw new DatabaseError(
        `Cannot open database "${source}": not a MaxMind DB file (no metadata section)`,
      );
    }
    let reader: ReaderInternals;
    try {
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      reader = new Reader(buffer) as unknown as ReaderInternals;
    } catch (error) {
      const reason = error instanceof RangeError
        ? "metadata section is truncated"
        : `invalid metadata (${error instanceof Error ? error.message : String(error)})`;
      throw new DatabaseError(`Cannot open database "${source}": ${reason}`, { cause: error });
    }
    const m = reader.metadata;
    const problem = checkMetadata(m, bytes.length);
    if (problem !== undefined) {
      throw new DatabaseError(`Cannot open database "${source}": ${problem}`);
    }
    const budget: DecodeBudget = { values: MAX_RECORD_VALUES };
    guardValueSizes(reader, budget);
    const database = new GeoDatabase(bytes, source, reader, budget);
    if (options.checked !== true) database.#selfCheck();
    return database;
  }

  /**
   * Reads and opens a database file.
   *
   * @param path a `.mmdb` or `.mmdb.gz` file
   * @returns the open database, its bytes in a `SharedArrayBuffer`
   * @throws {DatabaseError} when the file is missing, unreadable or not a valid database
   */
  static async open(path: string): Promise<GeoDatabase> {
    return GeoDatabase.fromBytes(await readDatabaseFile(path), path);
  }

  #selfCheck(): void {
    const badRecord = this.#findBadRecord();
    if (badRecord !== undefined) {
      throw new DatabaseError(`Cannot open database "${this.source}": corrupt (${badRecord})`);
    }
    const probes: IpAddress[] = PROBE_ADDRESSES.map((b) => ({
      version: 4,
      bytes: new Uint8Array(b),
    }));
    if (this.metadata.ipVersion === 6) {
      probes.push({ version: 6, bytes: new Uint8Array(16) });
      probes.push({
        version: 6,
        bytes: new Uint8Array([0x20, 1, 0x48, 0x60, ...new Array(12).fill(0)]),
      });
    }
    try {
      for (const probe of probes) this.lookup(probe);
    } catch (error) {
      throw new DatabaseError(
        `Cannot open database "${this.source}": corrupt (${(error as Error).message})`,
        { cause: error },
      );
    }
  }

  /**
   * Checks every record of the search tree: each must name a node, "not found", or an
   * offset inside the data section. About 50 ms for a 6-million-node GeoLite2-City.
   */
  #findBadRecord(): string | undefined {
    const nodeCount = this.#nodeCount;
    const limit = nodeCount + DATA_SECTION_SEPARATOR + this.#dataSectionSize;
    for (let node = 0; node < nodeCount; node++) {
      for (let bit = 0; bit < 2; bit++) {
        const record = this.#readRecord(node, bit);
        if (
          record > nodeCount && (record < nodeCount + DATA_SECTION_SEPARATOR || record >= limit)
        ) {
          return `search tree node ${node} points outside the data section`;
        }
      }
    }
    return undefined;
  }

  #readRecord(node: number, bit: number): number {
    const b = this.#nodes;
    const offset = node * this.#nodeBytes;
    switch (this.#recordSize) {
      case 24: {
        const o = offset + bit * 3;
        return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
      }
      case 28: {
        if (bit === 0) {
          return ((b[offset + 3]! & 0xf0) << 20) |
            (b[offset]! << 16) | (b[offset + 1]! << 8) | b[offset + 2]!;
        }
        return ((b[offset + 3]! & 0x0f) << 24) |
          (b[offset + 4]! << 16) | (b[offset + 5]! << 8) | b[offset + 6]!;
      }
      default: {
        const o = offset + bit * 4;
        return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
      }
    }
  }

  /**
   * Walks the search tree for an address.
   *
   * @param address the address; IPv4 addresses in IPv6 databases use the IPv4 subtree
   * @returns the data-section offset (or -1 when not found) and the prefix length
   * @throws {AddressFamilyError} for an IPv6 address in an IPv4-only database
   * @throws {Error} when the tree is corrupt
   */
  findRecord(address: IpAddress): { recordOffset: number; prefixLength: number } {
    const recordOffset = this.findOffset(address.bytes, address.version);
    return { recordOffset, prefixLength: this.lastPrefixLength };
  }

  /**
   * Walks the search tree without allocating: the request loop's form of
   * {@linkcode GeoDatabase.findRecord}. The prefix length of the match is left in
   * {@linkcode GeoDatabase.lastPrefixLength}.
   *
   * @param bytes the address bytes: the first 4 for IPv4, 16 for IPv6
   * @param version 4 or 6
   * @returns the record's data-section offset, or -1 when not found
   * @throws {AddressFamilyError} for an IPv6 address in an IPv4-only database
   * @throws {Error} when the tree is corrupt
   */
  findOffset(bytes: Uint8Array, version: 4 | 6): number {
    const bitCount = version === 4 ? 32 : 128;
    const nodeCount = this.#nodeCount;
    let node: number;
    let depth = 0;
    if (version === 4) {
      const index = (bytes[0]! << 8) | bytes[1]!;
      if (this.#ipv4Nodes === null) this.#makeIpv4Table();
      node = this.#ipv4Nodes![index]!;
      depth = this.#ipv4Depths![index]!;
    } else if (this.metadata.ipVersion === 4) {
      throw new AddressFamilyError("IPv6 address in an IPv4-only database");
    } else {
      node = 0;
    }
    for (; depth < bitCount && node < nodeCount; depth++) {
      node = this.#readRecord(node, (bytes[depth >> 3]! >> (7 - (depth & 7))) & 1);
    }
    this.lastPrefixLength = depth;
    if (node === nodeCount) return -1;
    if (node < nodeCount) throw new Error("invalid node in search tree");
    const recordOffset = node - nodeCount - DATA_SECTION_SEPARATOR;
    if (recordOffset < 0 || recordOffset >= this.#dataSectionSize) {
      throw new Error("search tree points outside the data section");
    }
    return recordOffset;
  }

  /** Walks the top {@linkcode IPV4_TABLE_BITS} levels of the IPv4 tree once, for every prefix. */
  #makeIpv4Table(): void {
    const size = 1 << IPV4_TABLE_BITS;
    const nodes = new Uint32Array(size);
    const depths = new Uint8Array(size);
    const nodeCount = this.#nodeCount;
    // Depth first, at most 2^17 nodes read: a node that ends the walk early fills the
    // whole range of prefixes under it.
    const fill = (node: number, depth: number, prefix: number): void => {
      if (depth === IPV4_TABLE_BITS || node >= nodeCount) {
        const first = prefix << (IPV4_TABLE_BITS - depth);
        const end = (prefix + 1) << (IPV4_TABLE_BITS - depth);
        nodes.fill(node, first, end);
        depths.fill(depth, first, end);
        return;
      }
      fill(this.#readRecord(node, 0), depth + 1, prefix << 1);
      fill(this.#readRecord(node, 1), depth + 1, (prefix << 1) | 1);
    };
    fill(this.#ipv4Start, 0, 0);
    this.#ipv4Nodes = nodes;
    this.#ipv4Depths = depths;
  }

  /** The prefix length of the last {@linkcode GeoDatabase.findOffset}. */
  lastPrefixLength = 0;

  /**
   * Decodes the record at a data-section offset.
   *
   * @param recordOffset an offset returned by {@linkcode GeoDatabase.findRecord}
   * @returns the record as stored
   */
  decodeRecord(recordOffset: number): unknown {
    this.#budget.values = MAX_RECORD_VALUES;
    try {
      return this.#reader.resolveDataPointer(
        recordOffset + this.#nodeCount + DATA_SECTION_SEPARATOR,
      );
    } catch (error) {
      // A pointer cycle overflows the stack: that is the file's fault, say so plainly.
      if (error instanceof RangeError && /call stack/i.test(error.message)) {
        throw new Error("record nests too deeply (a pointer cycle?)", { cause: error });
      }
      throw error;
    }
  }

  /**
   * Looks an address up.
   *
   * @param address the address
   * @returns the record and its network, or null when the database has none
   */
  lookup(address: IpAddress): LookupResult | null {
    const { recordOffset, prefixLength } = this.findRecord(address);
    if (recordOffset < 0) return null;
    return { record: this.decodeRecord(recordOffset), prefixLength, recordOffset };
  }

  /**
   * Every distinct record the search tree points to, by data-section offset, in the order
   * they are met walking the nodes (for sweeps over a whole database).
   *
   * @returns the offsets, each once
   */
  recordOffsets(): number[] {
    const nodeCount = this.#nodeCount;
    const seen = new Set<number>();
    for (let node = 0; node < nodeCount; node++) {
      for (let bit = 0; bit < 2; bit++) {
        const record = this.#readRecord(node, bit);
        if (record > nodeCount) seen.add(record - nodeCount - DATA_SECTION_SEPARATOR);
      }
    }
    return [...seen];
  }

  /**
   * The data section, read in place: answers are written from it without decoding
   * records (see {@linkcode DataSection}).
   */
  get section(): DataSection {
    this.#section ??= new DataSection(
      this.bytes,
      this.#nodeCount * this.#nodeBytes + DATA_SECTION_SEPARATOR,
    );
    return this.#section;
  }

  /** Depth at which IPv4 addresses start in an IPv6 tree (96, or less when shallower). */
  get ipv4StartDepth(): number {
    return this.#ipv4StartDepth;
  }

  /**
   * One record of a search tree node, for walks of the tree other than a lookup (a sample
   * of the data, see `record_sample.ts`): below `nodeCount` a node, `nodeCount` itself
   * "no data", above it a data-section offset plus `nodeCount + 16`.
   *
   * @param node a node number below `metadata.nodeCount`
   * @param bit 0 for the left record, 1 for the right
   * @returns the record's value
   */
  nodeRecord(node: number, bit: 0 | 1): number {
    if (!(node >= 0 && node < this.#nodeCount)) throw new RangeError(`no node ${node} in the tree`);
    return this.#readRecord(node, bit);
  }
}

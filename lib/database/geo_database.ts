/**
 * A MaxMind DB (`.mmdb`) held in memory: opening from a file (plain or gzip), checking it
 * before use, and looking addresses up. Records are decoded by `npm:maxmind`'s reader;
 * the search tree walk is done here, so a lookup yields the record's data-section offset,
 * which identifies the record (many networks share one) and keys caches of answers.
 *
 * The bytes may live in a `SharedArrayBuffer`, so Workers share one copy.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Reader } from "maxmind";
import { oneLine } from "../log/mod.ts";
import { DataSection } from "./data_section.ts";
import type { IpAddress } from "../protocol/mod.ts";

/**
 * A database could not be opened, or failed its checks. Its message is one printable
 * line of at most 300 characters ({@linkcode oneLine}), whatever the file's name or
 * metadata hold.
 */
export class DatabaseError extends Error {
  /**
   * @param message what went wrong, naming the file
   * @param options the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(oneLine(message), options);
    this.name = "DatabaseError";
  }
}

/** An IPv6 address was asked of an IPv4-only database: the client's mistake, not the file's. */
export class AddressFamilyError extends Error {
  /** @param message one line */
  constructor(message: string) {
    super(message);
    this.name = "AddressFamilyError";
  }
}

/** The metadata a database declares about itself. */
export interface DatabaseMetadata {
  databaseType: string;
  /** Build time, seconds since the epoch. */
  buildEpoch: number;
  ipVersion: 4 | 6;
  nodeCount: number;
  recordSize: number;
  languages: string[];
  description: Record<string, string>;
  binaryFormatVersion: string;
}

/** The result of a lookup that found a record. */
export interface LookupResult {
  /** The decoded record, as stored. */
  record: unknown;
  /** Prefix length of the matched network, in the address's own bits (IPv4: 0-32). */
  prefixLength: number;
  /** Offset of the record in the data section: equal offsets mean the same record. */
  recordOffset: number;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
const DATA_SECTION_SEPARATOR = 16;
const METADATA_MARKER = new Uint8Array([
  0xab,
  0xcd,
  0xef,
  ...new TextEncoder().encode("MaxMind.com"),
]);
const METADATA_MAX_SIZE = 128 * 1024;
const PROBE_ADDRESSES: readonly number[][] = [
  [0, 0, 0, 0],
  [1, 1, 1, 1],
  [8, 8, 8, 8],
  [81, 2, 69, 160],
  [128, 101, 101, 101],
  [202, 196, 224, 0],
  [255, 255, 255, 255],
];

/**
 * The largest size each fixed-size type may declare (double and float exactly), as
 * libmaxminddb enforces; `npm:maxmind`'s decoder reads such values whatever their size.
 * Keys are the format's type numbers.
 */
const SIZE_RULES: ReadonlyMap<number, { name: string; size: number; exact: boolean }> = new Map([
  [3, { name: "double", size: 8, exact: true }],
  [5, { name: "uint16", size: 2, exact: false }],
  [6, { name: "uint32", size: 4, exact: false }],
  [8, { name: "int32", size: 4, exact: false }],
  [9, { name: "uint64", size: 8, exact: false }],
  [10, { name: "uint128", size: 16, exact: false }],
  [15, { name: "float", size: 4, exact: true }],
]);

/**
 * The most values one record may hold: real City records have a few hundred. A corrupt
 * file whose pointers fan out could otherwise keep one lookup decoding for seconds.
 */
export const MAX_RECORD_VALUES = 20_000;

/** What is left of the current record's value budget. */
interface DecodeBudget {
  values: number;
}

interface DecoderInternals {
  decodeByType(type: number, offset: number, size: number): unknown;
}

/**
 * Makes the reader's decoder refuse values whose declared size does not fit their type,
 * so a corrupt record is an error, as in libmaxminddb, rather than a wrong answer.
 */
function guardValueSizes(reader: ReaderInternals, budget: DecodeBudget): void {
  const decoder = reader.decoder;
  const decode = decoder.decodeByType.bind(decoder);
  decoder.decodeByType = (type, offset, size) => {
    if (--budget.values < 0) {
      throw new Error(`record has more than ${MAX_RECORD_VALUES} values (corrupt pointers?)`);
    }
    const rule = SIZE_RULES.get(type);
    if (rule !== undefined && (rule.exact ? size !== rule.size : size > rule.size)) {
      throw new Error(`invalid size ${size} for a ${rule.name} at offset ${offset}`);
    }
    return decode(type, offset, size);
  };
}

interface ReaderInternals {
  decoder: DecoderInternals;
  metadata: {
    nodeCount: number;
    recordSize: number;
    ipVersion: number;
    searchTreeSize: number;
    databaseType: string;
    buildEpoch: Date;
    languages: string[];
    description: Record<string, string>;
    binaryFormatMajorVersion: number;
    binaryFormatMinorVersion: number;
  };
  resolveDataPointer(pointer: number): unknown;
}

/** Options for {@linkcode readDatabaseFile}. */
export interface ReadDatabaseOptions {
  /**
   * How long opening, reading and gunzipping may take in all (default
   * {@linkcode DEFAULT_READ_TIMEOUT_MS}); past it the read fails instead of hanging.
   */
  timeoutMs?: number;
}

/** The default bound on reading a database file: 60 s, ample for a 66 MB file. */
export const DEFAULT_READ_TIMEOUT_MS = 60_000;

/**
 * Reads a file into memory, gunzipping it when it starts with the gzip magic bytes.
 *
 * Only a regular file (or a symbolic link to one) is read: the path is checked with
 * `stat` before it is opened, so a FIFO, a device, a socket or a directory is refused at
 * once instead of blocking in `open()` or reading for ever. The opened file is checked
 * again (it must still be the same regular file), and the whole read is bounded by a
 * deadline, so a file swapped between the check and the open cannot hang the caller.
 *
 * @example
 * ```ts
 * import { readDatabaseFile } from "./geo_database.ts";
 * import { bundledDatabasePath } from "./bundled.ts";
 * const bytes = await readDatabaseFile(bundledDatabasePath()); // gunzipped on the way
 * console.log(bytes.buffer instanceof SharedArrayBuffer); // true
 * ```
 *
 * @param path the `.mmdb` or `.mmdb.gz` file
 * @param options the time limit
 * @returns the database bytes in a `SharedArrayBuffer`
 * @throws {DatabaseError} when the file is not a regular file, cannot be read or
 *   decompressed, or takes longer than the time limit
 */
export async function readDatabaseFile(
  path: string,
  options: ReadDatabaseOptions = {},
): Promise<Uint8Array<SharedArrayBuffer>> {
  const refuse = (reason: string, cause?: unknown) =>
    new DatabaseError(
      `Cannot open database "${path}": ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const deadline = new Deadline(timeoutMs, () => refuse(`not read within ${timeoutMs} ms`));
  let checked: Deno.FileInfo;
  try {
    checked = await deadline.race(Deno.stat(path));
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw refuse(describeFsError(error), error);
  }
  const kind = fileKind(checked);
  if (kind !== undefined) throw refuse(`not a regular file (${kind})`);
  let file: Deno.FsFile | undefined;
  const opening = Deno.open(path);
  try {
    try {
      file = await deadline.race(opening);
    } catch (error) {
      if (error instanceof DatabaseError) {
        // Still opening (the path became a FIFO after the check): close it if it ever opens.
        opening.then((late) => late.close(), () => {});
        throw error;
      }
      throw refuse(describeFsError(error), error);
    }
    const opened = await deadline.race(file.stat());
    if (!opened.isFile || opened.ino !== checked.ino || opened.dev !== checked.dev) {
      throw refuse("replaced while being opened");
    }
    // Read straight into shared memory: one copy of the database, never two.
    const shared = new Uint8Array(new SharedArrayBuffer(opened.size));
    await readFully(file, shared, deadline);
    if (shared[0] !== GZIP_MAGIC_0 || shared[1] !== GZIP_MAGIC_1) return shared;
    try {
      return await gunzipShared(shared, deadline);
    } catch (error) {
      if (error instanceof DatabaseError) throw error;
      throw refuse("gzip data is corrupt or truncated", error);
    }
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw refuse(describeFsError(error), error);
  } finally {
    file?.close();
  }
}

/** What a file that is not a regular file is, in words; undefined for a regular file. */
function fileKind(info: Deno.FileInfo): string | undefined {
  if (info.isFile) return undefined;
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a file";
}

/** A point in time after which every awaited step fails with the same error. */
class Deadline {
  readonly #at: number;
  readonly #error: () => Error;

  constructor(timeoutMs: number, error: () => Error) {
    this.#at = Date.now() + timeoutMs;
    this.#error = error;
  }

  /** Throws when the deadline has passed. */
  check(): void {
    if (Date.now() >= this.#at) throw this.#error();
  }

  /** Waits for `promise`, or fails when the deadline comes first. */
  async race<T>(promise: Promise<T>): Promise<T> {
    this.check();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#error()), Math.max(0, this.#at - Date.now()));
    });
    try {
      return await Promise.race([promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readFully(
  file: Deno.FsFile,
  into: Uint8Array<SharedArrayBuffer>,
  deadline: Deadline,
): Promise<void> {
  const chunk = new Uint8Array(Math.min(into.length, 4 * 1024 * 1024) || 1);
  let at = 0;
  while (at < into.length) {
    const read = await deadline.race(
      file.read(chunk.subarray(0, Math.min(chunk.length, into.length - at))),
    );
    if (read === null) throw new Error("file shrank while being read");
    into.set(chunk.subarray(0, read), at);
    at += read;
  }
}

/**
 * Gunzips into a `SharedArrayBuffer` sized from the gzip trailer (the uncompressed size
 * modulo 2^32), so the database is not held twice while it is built.
 */
async function gunzipShared(
  gz: Uint8Array<SharedArrayBuffer>,
  deadline: Deadline,
): Promise<Uint8Array<SharedArrayBuffer>> {
  const trailer = new DataView(gz.buffer, gz.byteOffset + gz.length - 4, 4);
  let out = new Uint8Array(new SharedArrayBuffer(gz.length >= 18 ? trailer.getUint32(0, true) : 0));
  let at = 0;
  const input = new Uint8Array(gz); // DecompressionStream takes no shared memory
  const stream = new Blob([input]).stream().pipeThrough(new DecompressionStream("gzip"));
  for await (const chunk of stream) {
    deadline.check();
    if (at + chunk.length > out.length) {
      // A trailer that lied (over 4 GiB, or several members): grow.
      const grown = new Uint8Array(new SharedArrayBuffer((at + chunk.length) * 2));
      grown.set(out.subarray(0, at));
      out = grown;
    }
    out.set(chunk, at);
    at += chunk.length;
  }
  return at === out.length ? out : new Uint8Array(out.buffer, 0, at);
}

function describeFsError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  if (error instanceof Error) return error.message.split(":")[0] ?? error.message;
  return String(error);
}

/** IPv4 lookups start from a table of the tree's first this many levels (64 Ki entries). */
const IPV4_TABLE_BITS = 16;

/**
 * An open MaxMind database.
 *
 * @example
 * ```ts
 * import { GeoDatabase, readDatabaseFile } from "./geo_database.ts";
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

/**
 * Whether the metadata marker `\xAB\xCD\xEFMaxMind.com` occurs in the last 128 KiB, where
 * the format puts it.
 *
 * @param bytes the whole file
 * @returns true when the marker is there
 */
export function hasMetadataMarker(bytes: Uint8Array<ArrayBufferLike>): boolean {
  const marker = METADATA_MARKER;
  const start = Math.max(0, bytes.length - METADATA_MAX_SIZE);
  outer: for (let i = bytes.length - marker.length; i >= start; i--) {
    for (let j = 0; j < marker.length; j++) if (bytes[i + j] !== marker[j]) continue outer;
    return true;
  }
  return false;
}

function checkMetadata(m: ReaderInternals["metadata"], fileSize: number): string | undefined {
  if (m.binaryFormatMajorVersion !== 2) {
    return `unsupported binary format version ${quoteMetadata(m.binaryFormatMajorVersion)}`;
  }
  if (![24, 28, 32].includes(m.recordSize)) {
    return `invalid record size ${quoteMetadata(m.recordSize)}`;
  }
  if (m.ipVersion !== 4 && m.ipVersion !== 6) {
    return `invalid IP version ${quoteMetadata(m.ipVersion)}`;
  }
  if (!Number.isInteger(m.nodeCount) || m.nodeCount <= 0) {
    return `invalid node count ${quoteMetadata(m.nodeCount)}`;
  }
  if (m.searchTreeSize + DATA_SECTION_SEPARATOR > fileSize) {
    return `node count ${m.nodeCount} makes the search tree larger than the file (truncated?)`;
  }
  if (typeof m.databaseType !== "string") return "metadata has no database_type";
  if (!(m.buildEpoch instanceof Date) || Number.isNaN(m.buildEpoch.getTime())) {
    return "metadata has an invalid build_epoch";
  }
  return undefined;
}

/** The most characters of a metadata value an error quotes. */
const QUOTED_METADATA_CHARS = 40;

/**
 * A metadata value as an error message quotes it: a number as it is, a string in double
 * quotes with everything outside printable ASCII escaped and cut to a few dozen
 * characters, anything else by its kind. The file is untrusted: its values may hold
 * escape sequences or kilobytes of text.
 *
 * @param value a value decoded from the metadata section
 * @returns a short, printable ASCII rendering
 */
function quoteMetadata(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (typeof value === "string") {
    let quoted = '"';
    for (const c of value) {
      const code = c.codePointAt(0)!;
      const shown = c === '"' || c === "\\"
        ? `\\${c}`
        : code >= 0x20 && code <= 0x7e
        ? c
        : code <= 0xffff
        ? `\\u${code.toString(16).padStart(4, "0")}`
        : `\\u{${code.toString(16)}}`;
      if (quoted.length + shown.length > QUOTED_METADATA_CHARS) return `${quoted}..."`;
      quoted += shown;
    }
    return `${quoted}"`;
  }
  if (value === undefined || value === null) return "(none)";
  if (Array.isArray(value)) return "(an array)";
  if (value instanceof Uint8Array) return "(bytes)";
  return `(${typeof value === "object" ? "a map" : typeof value})`;
}

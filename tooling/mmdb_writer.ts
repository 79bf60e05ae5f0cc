/**
 * A small, test-only writer for MaxMind DB (`.mmdb`) files, following the
 * MaxMind DB File Format Specification v2.0. It builds exact fixture databases
 * in memory; it favours clarity over size (no pointers, no node merging).
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";

/** Names of the MMDB types that need an explicit tag (see {@linkcode MmdbTyped}). */
export type MmdbTypeName =
  | "uint16"
  | "uint32"
  | "uint64"
  | "uint128"
  | "int32"
  | "float32"
  | "bytes";

/** Inclusive value ranges of the MMDB integer types. */
const INT_RANGES: Readonly<Partial<Record<MmdbTypeName, readonly [bigint, bigint]>>> = {
  uint16: [0n, 0xffffn],
  uint32: [0n, 0xffff_ffffn],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  uint128: [0n, 2n ** 128n - 1n],
};

/** MMDB data type numbers (types above 7 are written as "extended" types). */
const TYPE = {
  utf8: 2,
  double: 3,
  bytes: 4,
  uint16: 5,
  uint32: 6,
  map: 7,
  int32: 8,
  uint64: 9,
  uint128: 10,
  array: 11,
  boolean: 14,
  float32: 15,
} as const;

/**
 * A value tagged with an explicit MMDB type. Prefer the constructor functions
 * {@linkcode uint16}, {@linkcode uint32}, {@linkcode uint64}, {@linkcode uint128},
 * {@linkcode int32}, {@linkcode float32} and {@linkcode bytes}.
 */
export class MmdbTyped {
  /**
   * @throws {TypeError} if `value` has the wrong JavaScript type for `type`.
   * @throws {RangeError} if an integer is not integral or out of range.
   */
  constructor(readonly type: MmdbTypeName, readonly value: number | bigint | Uint8Array) {
    if ((type === "bytes") !== (value instanceof Uint8Array)) {
      throw new TypeError(`MMDB ${type} value has the wrong type: ${String(value)}`);
    }
    if (type === "float32" && typeof value !== "number") {
      throw new TypeError(`MMDB float32 value must be a number: ${String(value)}`);
    }
    const range = INT_RANGES[type];
    if (range && !(value instanceof Uint8Array)) {
      if (typeof value === "number" && !Number.isInteger(value)) {
        throw new RangeError(`MMDB ${type} value must be an integer: ${value}`);
      }
      if (BigInt(value) < range[0] || BigInt(value) > range[1]) {
        throw new RangeError(`MMDB ${type} value out of range: ${value}`);
      }
    }
  }
}

/**
 * Any value that can be stored in the data section. A JavaScript `number` is
 * written as an MMDB double; use the typed constructors for the other types.
 */
export type MmdbValue =
  | string
  | number
  | boolean
  | MmdbTyped
  | MmdbValue[]
  | { [key: string]: MmdbValue };

/** An unsigned 16-bit integer (MMDB type 5). */
export function uint16(n: number): MmdbTyped {
  return new MmdbTyped("uint16", n);
}

/** An unsigned 32-bit integer (MMDB type 6). */
export function uint32(n: number): MmdbTyped {
  return new MmdbTyped("uint32", n);
}

/** An unsigned 64-bit integer (MMDB type 9); readers return it as a bigint. */
export function uint64(n: bigint | number): MmdbTyped {
  return new MmdbTyped("uint64", BigInt(n));
}

/** An unsigned 128-bit integer (MMDB type 10); readers return it as a bigint. */
export function uint128(n: bigint | number): MmdbTyped {
  return new MmdbTyped("uint128", BigInt(n));
}

/** A signed 32-bit integer (MMDB type 8), stored in two's complement. */
export function int32(n: number): MmdbTyped {
  return new MmdbTyped("int32", n);
}

/** An IEEE-754 binary32 float (MMDB type 15); it is rounded like `Math.fround()`. */
export function float32(n: number): MmdbTyped {
  return new MmdbTyped("float32", n);
}

/** An opaque byte string (MMDB type 4). */
export function bytes(data: Uint8Array): MmdbTyped {
  return new MmdbTyped("bytes", data);
}

/** Options for {@linkcode buildMmdb}. */
export interface MmdbWriterOptions {
  /** 4: a 32-bit tree. 6: a 128-bit tree, IPv4 networks live in `::/96`. */
  ipVersion: 4 | 6;
  /** Bits per search tree record (default 28). */
  recordSize?: 24 | 28 | 32;
  /** The `database_type` metadata, e.g. "GeoIP2-City". */
  databaseType: string;
  /** The `languages` metadata (default `[]`). */
  languages?: string[];
  /** The `description` metadata, language code to text (default `{}`). */
  description?: Record<string, string>;
  /** The `build_epoch` metadata in seconds since the Unix epoch (default 1700000000). */
  buildEpoch?: number;
  /**
   * IPv6 databases only (default true): like MaxMind's writer, make `::ffff:0:0/96`
   * (IPv4-mapped) and `2002::/16` (6to4) lead to the IPv4 subtree at `::/96`.
   * Networks inside those two ranges are then rejected. Ignored for IPv4 databases.
   */
  aliasIpv4InIpv6?: boolean;
  /**
   * Metadata fields to add or to put in place of those written from the options above,
   * e.g. a malformed `ip_version`, for tests of what a reader refuses.
   */
  metadata?: Record<string, MmdbValue>;
}

/** One network of the database and the record that its addresses map to. */
export interface MmdbNetwork {
  /** CIDR notation with no host bits set, e.g. "1.2.3.0/24" or "2001:db8::/32". */
  network: string;
  /** The data returned for every address in the network. */
  record: MmdbValue;
}

/** A slot of the search tree: a child node, a data section offset, or null (no data). */
type Slot = TreeNode | number | null;
/** A search tree node: its left (bit 0) and right (bit 1) slots. */
type TreeNode = [Slot, Slot];

/** `::ffff:0:0/96` and `2002::/16`, aliased to the IPv4 subtree in IPv6 databases. */
const IPV4_ALIASES = [[0xffffn << 32n, 96], [0x2002n << 112n, 16]] as const;
const METADATA_MARKER = [0xab, 0xcd, 0xef, ...new TextEncoder().encode("MaxMind.com")] as const;
const DATA_SECTION_SEPARATOR_SIZE = 16;

/**
 * Builds a complete MaxMind DB file.
 *
 * More specific networks take precedence over the networks that contain them,
 * whatever their order in `networks`; the containing network's record still
 * applies to the rest of its range. For identical networks the last one wins.
 * Addresses outside every network are "not found". Identical records are
 * written to the data section once.
 *
 * @throws {TypeError} on a malformed CIDR string or an unsupported value.
 * @throws {RangeError} on bad options, host bits set, an IPv6 network in an IPv4
 *   database, a network inside an aliased range, or a database too big for the
 *   record size.
 */
export function buildMmdb(options: MmdbWriterOptions, networks: MmdbNetwork[]): Uint8Array {
  const { ipVersion, recordSize = 28, buildEpoch = 1_700_000_000 } = options;
  if (ipVersion !== 4 && ipVersion !== 6) throw new RangeError(`bad ipVersion: ${ipVersion}`);
  if (![24, 28, 32].includes(recordSize)) throw new RangeError(`bad recordSize: ${recordSize}`);
  if (!Number.isSafeInteger(buildEpoch) || buildEpoch < 0) {
    throw new RangeError(`bad buildEpoch: ${buildEpoch}`);
  }
  const width = ipVersion === 6 ? 128 : 32;
  const alias = ipVersion === 6 && (options.aliasIpv4InIpv6 ?? true);

  // The data section, one copy per distinct encoded record.
  const dataChunks: Uint8Array[] = [];
  const dataOffsets = new Map<string, number>();
  let dataSize = 0;
  // Decoding as latin1 maps each byte to its own character, so equal keys mean equal bytes.
  const latin1 = new TextDecoder("latin1");
  const entries = networks.map(({ network, record }) => {
    const { address, prefix } = parseNetwork(network, ipVersion);
    if (alias && IPV4_ALIASES.some(([a, len]) => prefix >= len && sameBits(address, a, len))) {
      throw new RangeError(`network ${network} is inside a range aliased to IPv4`);
    }
    const encoded = encodeValue(record);
    const key = latin1.decode(encoded);
    let offset = dataOffsets.get(key);
    if (offset === undefined) {
      offset = dataSize;
      dataOffsets.set(key, offset);
      dataChunks.push(encoded);
      dataSize += encoded.length;
    }
    return { address, prefix, offset };
  });

  const root: TreeNode = [null, null];
  for (const { address, prefix, offset } of entries.sort((a, b) => a.prefix - b.prefix)) {
    insert(root, address, prefix, width, offset);
  }
  if (alias) {
    // The IPv4 subtree is whatever ::/96 leads to: a node, a record or nothing.
    let ipv4: Slot = root;
    for (let depth = 0; depth < 96 && Array.isArray(ipv4); depth++) ipv4 = ipv4[0];
    for (const [address, prefix] of IPV4_ALIASES) insert(root, address, prefix, width, ipv4);
  }

  // Number the nodes breadth-first; aliased subtrees are shared, so number each node once.
  const ids = new Map<TreeNode, number>([[root, 0]]);
  const nodes: TreeNode[] = [root];
  for (const node of nodes) {
    for (const slot of node) {
      if (Array.isArray(slot) && !ids.has(slot)) {
        ids.set(slot, nodes.length);
        nodes.push(slot);
      }
    }
  }
  const nodeCount = nodes.length;
  const recordValue = (slot: Slot): number => {
    const value = slot === null
      ? nodeCount
      : typeof slot === "number"
      ? nodeCount + DATA_SECTION_SEPARATOR_SIZE + slot
      : ids.get(slot);
    if (value === undefined || value >= 2 ** recordSize) {
      throw new RangeError(`record value ${value} does not fit in ${recordSize} bits`);
    }
    return value;
  };
  const nodeSize = recordSize / 4;
  const tree = new DataView(new ArrayBuffer(nodeCount * nodeSize));
  nodes.forEach(([left, right], i) => {
    writeNode(tree, i * nodeSize, recordSize, recordValue(left), recordValue(right));
  });

  const metadata = encodeValue({
    node_count: uint32(nodeCount),
    record_size: uint16(recordSize),
    ip_version: uint16(ipVersion),
    database_type: options.databaseType,
    languages: [...(options.languages ?? [])],
    binary_format_major_version: uint16(2),
    binary_format_minor_version: uint16(0),
    build_epoch: uint64(buildEpoch),
    description: { ...options.description },
    ...options.metadata,
  });
  return concatBytes([
    new Uint8Array(tree.buffer),
    new Uint8Array(DATA_SECTION_SEPARATOR_SIZE),
    ...dataChunks,
    Uint8Array.from(METADATA_MARKER),
    metadata,
  ]);
}

/** Stores `value` in the slot for `address/prefix`, splitting leaves on the way down. */
function insert(root: TreeNode, address: bigint, prefix: number, width: number, value: Slot) {
  if (prefix === 0) {
    root[0] = root[1] = value;
    return;
  }
  let node = root;
  for (let depth = 0;; depth++) {
    const bit = (address >> BigInt(width - 1 - depth)) & 1n ? 1 : 0;
    if (depth === prefix - 1) {
      node[bit] = value;
      return;
    }
    const child = node[bit];
    // A leaf covering a more specific network: copy it into both halves of a new node.
    node = Array.isArray(child) ? child : (node[bit] = [child, child]);
  }
}

/** Writes one node: two records of `recordSize` bits, laid out as in the spec. */
function writeNode(tree: DataView, at: number, recordSize: number, left: number, right: number) {
  if (recordSize === 32) {
    tree.setUint32(at, left);
    tree.setUint32(at + 4, right);
    return;
  }
  // 24 bits: left, right. 28 bits: low 24 bits of left, a byte holding bits 27..24
  // of left (high nibble) and of right (low nibble), low 24 bits of right.
  const rightAt = recordSize === 24 ? at + 3 : at + 4;
  tree.setUint16(at, left >>> 8 & 0xffff);
  tree.setUint8(at + 2, left & 0xff);
  tree.setUint16(rightAt, right >>> 8 & 0xffff);
  tree.setUint8(rightAt + 2, right & 0xff);
  if (recordSize === 28) tree.setUint8(at + 3, (left >>> 24) << 4 | right >>> 24);
}

/** Whether the first `len` bits of two 128-bit addresses are equal. */
function sameBits(a: bigint, b: bigint, len: number): boolean {
  return a >> BigInt(128 - len) === b >> BigInt(128 - len);
}

/** Parses CIDR notation into an address and prefix length in the database's tree. */
function parseNetwork(cidr: string, ipVersion: 4 | 6): { address: bigint; prefix: number } {
  const [, text = "", prefixText = ""] = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(cidr) ?? [];
  const isV6 = text.includes(":");
  const address = isV6 ? parseIPv6(text) : parseIPv4(text);
  if (address === undefined) throw new TypeError(`invalid CIDR network: ${JSON.stringify(cidr)}`);
  const width = isV6 ? 128 : 32;
  const prefix = Number(prefixText);
  if (prefix > width) throw new RangeError(`prefix length too long: ${cidr}`);
  if ((address & ((1n << BigInt(width - prefix)) - 1n)) !== 0n) {
    throw new RangeError(`host bits set in network: ${cidr}`);
  }
  if (isV6 && ipVersion === 4) throw new RangeError(`IPv6 network in an IPv4 database: ${cidr}`);
  return { address, prefix: ipVersion === 6 && !isV6 ? prefix + 96 : prefix };
}

/** Parses dotted-quad IPv4 text, or returns undefined. */
function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && +p < 256)) {
    return undefined;
  }
  return parts.reduce((acc, p) => acc << 8n | BigInt(p), 0n);
}

/** Parses IPv6 text (with "::" and an optional dotted-quad tail), or returns undefined. */
function parseIPv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const [head = [], tail = []] = halves.map((half) => half === "" ? [] : half.split(":"));
  const last = halves.length === 2 ? tail : head;
  let v4 = 0n;
  if (last.at(-1)?.includes(".")) {
    const parsed = parseIPv4(last.pop() ?? "");
    if (parsed === undefined) return undefined;
    v4 = parsed;
    last.push("0", "0"); // placeholders for the low 32 bits
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return groups.reduce((acc, g) => acc << 16n | BigInt(`0x${g}`), 0n) | v4;
}

/** Encodes one data section value (control byte, size, payload). */
function encodeValue(value: MmdbValue): Uint8Array {
  if (typeof value === "string") return field(TYPE.utf8, new TextEncoder().encode(value));
  if (typeof value === "number") {
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setFloat64(0, value);
    return field(TYPE.double, payload);
  }
  if (typeof value === "boolean") return header(TYPE.boolean, value ? 1 : 0);
  if (value instanceof MmdbTyped) return encodeTyped(value);
  if (Array.isArray(value)) {
    return concatBytes([header(TYPE.array, value.length), ...value.map(encodeValue)]);
  }
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) {
    throw new TypeError(`unsupported MMDB value: ${String(value)}`);
  }
  const pairs = Object.entries(value).flatMap(([k, v]) => [encodeValue(k), encodeValue(v)]);
  return concatBytes([header(TYPE.map, pairs.length / 2), ...pairs]);
}

/** Encodes a typed value; integers use the fewest big-endian bytes (negative int32: 4). */
function encodeTyped({ type, value }: MmdbTyped): Uint8Array {
  if (value instanceof Uint8Array) return field(TYPE.bytes, value);
  if (type === "float32") {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setFloat32(0, Number(value));
    return field(TYPE.float32, payload);
  }
  const digits: number[] = [];
  // Only int32 can be negative: store it as 32-bit two's complement.
  for (let n = value < 0 ? BigInt(value) + 2n ** 32n : BigInt(value); n > 0n; n >>= 8n) {
    digits.unshift(Number(n & 0xffn));
  }
  return field(TYPE[type], Uint8Array.from(digits));
}

/** A field whose size is its payload's length in bytes (strings, bytes and numbers). */
function field(type: number, payload: Uint8Array): Uint8Array {
  return concatBytes([header(type, payload.length), payload]);
}

/** The control byte(s) for a type and size, extended type byte and extra size bytes. */
function header(type: number, size: number): Uint8Array {
  const [code, extra, extraBytes] = size < 29
    ? [size, 0, 0]
    : size < 285
    ? [29, size - 29, 1]
    : size < 65_821
    ? [30, size - 285, 2]
    : [31, size - 65_821, 3];
  if (extra >= 2 ** 24) throw new RangeError(`MMDB field too large: ${size}`);
  const out = type < 8 ? [type << 5 | code] : [code, type - 7];
  for (let i = extraBytes - 1; i >= 0; i--) out.push(extra >>> (8 * i) & 0xff);
  return Uint8Array.from(out);
}

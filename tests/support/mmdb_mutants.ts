/**
 * Mutated MaxMind databases for the database fuzz test: base databases built with the
 * test-only writer, their layout (search tree, data section, metadata), and seeded
 * mutants of them (bytes set to random values in one section, truncations, zeroed or
 * filled ranges, copied ranges).
 *
 * A mutant is a pure function of its base and its seed, so one failing mutant can be
 * made again from the seed printed with the failure.
 *
 * @module
 */

import { GeoDatabase } from "../../lib/database/mod.ts";
import { cityFixture, LONDON } from "./fixtures.ts";
import { Random } from "./fuzz_random.ts";
import {
  buildMmdb,
  bytes,
  float32,
  int32,
  uint128,
  uint16,
  uint32,
  uint64,
} from "../../tooling/mod.ts";

/** Where the sections of a `.mmdb` file are. */
export interface MmdbLayout {
  /** Bytes of the search tree, from offset 0. */
  treeSize: number;
  /** Where the data section starts (after the 16-byte separator). */
  dataStart: number;
  /** Where the metadata marker starts. */
  metadataStart: number;
  /** The file's size. */
  length: number;
}

/** A database to mutate. */
export interface MutantBase {
  /** A short name for messages. */
  name: string;
  /** The intact bytes. */
  bytes: Uint8Array;
  /** Its sections. */
  layout: MmdbLayout;
  /** Whether it has an IPv6 tree. */
  ipv6: boolean;
}

const MARKER = [0xab, 0xcd, 0xef, ...new TextEncoder().encode("MaxMind.com")];

/**
 * Finds the sections of an intact database.
 *
 * @param data the database bytes
 * @returns the layout
 */
export function mmdbLayout(data: Uint8Array): MmdbLayout {
  const shared = new Uint8Array(new SharedArrayBuffer(data.length));
  shared.set(data);
  const { nodeCount, recordSize } = GeoDatabase.fromBytes(shared, "base").metadata;
  const treeSize = nodeCount * recordSize / 4;
  let metadataStart = -1;
  for (let i = data.length - MARKER.length; i >= 0 && metadataStart < 0; i--) {
    if (MARKER.every((byte, j) => data[i + j] === byte)) metadataStart = i;
  }
  if (metadataStart < 0) throw new Error("no metadata marker");
  return { treeSize, dataStart: treeSize + 16, metadataStart, length: data.length };
}

/** Records with every kind of value, so mutations meet every decoder path. */
const VARIED = {
  city: { geoname_id: uint32(1), names: { en: "Varied", ja: "\u5909" } },
  country: { iso_code: "VA" },
  location: { latitude: -12.5, longitude: 130.25, metro_code: uint16(7), accuracy_radius: 5 },
  subdivisions: [{ iso_code: "V1" }, { iso_code: "V2" }, { iso_code: "V3" }],
  flags: [true, false],
  big: uint64(2n ** 63n),
  huge: uint128(2n ** 100n),
  negative: int32(-5),
  raw: bytes(new Uint8Array([0, 255, 7])),
  ratio: float32(0.25),
};

/** The bases: the city fixture (IPv6, 28-bit records) and two more. */
export function mutantBases(): MutantBase[] {
  const networks4 = [
    { network: "81.2.69.160/27", record: LONDON },
    { network: "1.2.3.0/24", record: { country: { iso_code: "AU" } } },
    { network: "192.0.2.0/24", record: {} },
    { network: "203.0.113.0/24", record: VARIED },
    { network: "100.64.0.0/10", record: { postal: { code: "X1" } } },
  ];
  const city = cityFixture();
  const ipv4 = buildMmdb(
    { ipVersion: 4, recordSize: 24, databaseType: "GeoLite2-City", languages: ["en"] },
    networks4,
  );
  const ipv6wide = buildMmdb(
    { ipVersion: 6, recordSize: 32, databaseType: "GeoIP2-City", description: { en: "32" } },
    [...networks4, { network: "2001:db8::/32", record: VARIED }],
  );
  return [
    { name: "city-ipv6-28", bytes: city, layout: mmdbLayout(city), ipv6: true },
    { name: "ipv4-24", bytes: ipv4, layout: mmdbLayout(ipv4), ipv6: false },
    { name: "ipv6-32", bytes: ipv6wide, layout: mmdbLayout(ipv6wide), ipv6: true },
  ];
}

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, 0x3f, 0xe0, 0xff, 0x5d, 0x5e, 0x5f, 0x0f];

/** A mutant database and what was done to make it. */
export interface Mutant {
  /** The mutated bytes. */
  bytes: Uint8Array<ArrayBuffer>;
  /** What was changed, for messages. */
  description: string;
}

/**
 * Makes one mutant of a base.
 *
 * @param base the database to mutate
 * @param seed the mutant's seed
 * @returns the mutant
 */
export function makeMutant(base: MutantBase, seed: number): Mutant {
  const random = new Random(seed);
  const out = new Uint8Array(base.bytes);
  const { treeSize, dataStart, metadataStart, length } = base.layout;
  const sections: [string, number, number][] = [
    ["search tree", 0, treeSize],
    ["data section", dataStart, metadataStart],
    ["metadata", metadataStart + MARKER.length, length],
    ["anywhere", 0, length],
  ];
  const kind = random.int(10);
  if (kind < 6) {
    const [name, start, end] = sections[kind % 4]!;
    const count = random.range(1, 8);
    const changes: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = random.range(start, Math.max(start, end - 1));
      const value = random.chance(0.5) ? random.pick(INTERESTING) : random.int(256);
      changes.push(`[${at}]=${value}`);
      out[at] = value;
    }
    return { bytes: out, description: `${name}: set ${changes.join(" ")}` };
  }
  if (kind < 8) {
    const cut = random.chance(0.5) ? random.int(length) : random.range(metadataStart, length - 1);
    return { bytes: out.slice(0, cut), description: `truncated to ${cut} of ${length} bytes` };
  }
  const start = random.int(length);
  const size = Math.min(length - start, random.chance(0.7) ? random.range(1, 16) : random.int(256));
  if (kind === 8) {
    const value = random.pick([0x00, 0x00, 0xff]);
    out.fill(value, start, start + size);
    return { bytes: out, description: `[${start}, ${start + size}) filled with ${value}` };
  }
  const from = random.int(length - size + 1);
  out.copyWithin(start, from, from + size);
  return { bytes: out, description: `[${from}, ${from + size}) copied to ${start}` };
}

/**
 * Small fixture databases, built exactly with the test-only writer, so every edge case
 * of the replies is known in advance.
 *
 * @module
 */

import { GeoDatabase } from "../../lib/database/mod.ts";
import { buildMmdb, bytes, float32, uint16, uint32, uint64 } from "../../tooling/mod.ts";

/** The London record, with every field of the TSV reply. */
export const LONDON = {
  city: { geoname_id: uint32(2643743), names: { en: "London", de: "London" } },
  country: { iso_code: "GB", names: { en: "United Kingdom" } },
  location: { latitude: 51.5142, longitude: -0.0931, metro_code: uint16(501) },
  postal: { code: "EC1A" },
  subdivisions: [{ iso_code: "ENG" }, { iso_code: "XX" }],
};

/** The expected TSV reply for {@linkcode LONDON}. */
export const LONDON_TSV = "GB\tENG\tLondon\tEC1A\t51.514200\t-0.093100\t501\t(null)";

/**
 * A City-like IPv6 database (IPv4 aliased into it, as MaxMind's are):
 * - 81.2.69.160/27: {@linkcode LONDON}
 * - 2.125.160.216/29: a country only
 * - 192.0.2.0/24: an empty record
 * - 198.51.100.0/24: a city name with a tab and a line break
 * - 203.0.113.0/24: 64-bit integers, bytes and a 32-bit float (JSON only)
 * - 2001:db8::/32: an IPv6 network with a city
 * Everything else is not found.
 *
 * @returns the database bytes
 */
export function cityFixture(): Uint8Array {
  return buildMmdb({
    ipVersion: 6,
    recordSize: 28,
    databaseType: "GeoIP2-City",
    languages: ["en", "de"],
    description: { en: "geoipmq test fixture" },
    buildEpoch: 1_700_000_000,
  }, [
    { network: "81.2.69.160/27", record: LONDON },
    { network: "2.125.160.216/29", record: { country: { iso_code: "GB" } } },
    { network: "192.0.2.0/24", record: {} },
    {
      network: "198.51.100.0/24",
      record: { city: { names: { en: "Tab\tand\nbreak" } }, country: { iso_code: "ZZ" } },
    },
    {
      network: "203.0.113.0/24",
      record: {
        big: uint64(18446744073709551615n),
        raw: bytes(new Uint8Array([1, 2, 3])),
        ratio: float32(0.5),
      },
    },
    {
      network: "2001:db8::/32",
      record: {
        city: { names: { en: "Sixville" } },
        country: { iso_code: "SX" },
        location: { latitude: -33.25, longitude: 151.125 },
      },
    },
  ]);
}

/**
 * An IPv4-only database with one network, 1.2.3.0/24, in country "AU".
 *
 * @returns the database bytes
 */
export function ipv4OnlyFixture(): Uint8Array {
  return buildMmdb({ ipVersion: 4, recordSize: 24, databaseType: "GeoLite2-Country" }, [
    { network: "1.2.3.0/24", record: { country: { iso_code: "AU" } } },
  ]);
}

/**
 * Writes bytes to a new temporary file.
 *
 * @param data the file's content
 * @param suffix e.g. ".mmdb"
 * @returns the path; remove it when done
 */
export async function writeTempFile(data: Uint8Array, suffix = ".mmdb"): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "geoipmq-test-", suffix });
  await Deno.writeFile(path, data);
  return path;
}

/**
 * Gzips bytes in memory.
 *
 * @param data the bytes
 * @returns their gzip form
 */
export async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Opens fixture bytes as a database whose bytes are in a `SharedArrayBuffer`, as the
 * server needs.
 *
 * @param data the database bytes
 * @returns the open database
 */
export function openFixture(data: Uint8Array): GeoDatabase {
  const shared = new Uint8Array(new SharedArrayBuffer(data.length));
  shared.set(data);
  return GeoDatabase.fromBytes(shared, "fixture.mmdb");
}

/**
 * A database whose record for 100.64.0.0/10 holds a double declared 7 bytes long (the
 * format requires 8), as in MaxMind's broken test databases; 81.2.69.160/27 is intact.
 * The well-known addresses a database is checked with at open time do not reach it.
 *
 * @returns the database bytes
 */
export function brokenDoubleFixture(): Uint8Array {
  const data = buildMmdb({ ipVersion: 6, databaseType: "GeoIP2-City" }, [
    { network: "81.2.69.160/27", record: LONDON },
    { network: "100.64.0.0/10", record: { location: { latitude: 12.5 } } },
  ]);
  // 0x68: type 3 (double), size 8; then 12.5 as a big-endian IEEE 754 double.
  const double = [0x68, 0x40, 0x29, 0, 0, 0, 0, 0, 0];
  const at = data.findIndex((_, i) => double.every((byte, j) => data[i + j] === byte));
  if (at < 0) throw new Error("fixture: the double was not found");
  const broken = data.slice();
  broken[at] = 0x67; // size 7
  return broken;
}

/**
 * Runs `body` with a temporary file holding `data`, and removes the file afterwards.
 *
 * @example
 * ```ts ignore
 * await withTempFile(cityFixture(), async (path) => {
 *   await using service = await startOnDatabase(path);
 * });
 * ```
 *
 * @param data the file's content
 * @param body what to do with the file's path
 * @returns what `body` returns
 */
export async function withTempFile<T>(
  data: Uint8Array,
  body: (path: string) => Promise<T>,
): Promise<T> {
  const path = await writeTempFile(data);
  try {
    return await body(path);
  } finally {
    await Deno.remove(path);
  }
}

/**
 * Runs `body` with temporary files holding `data`, one each, and removes them afterwards.
 *
 * @param data the files' contents
 * @param body what to do with their paths, in the order of `data`
 * @returns what `body` returns
 */
export function withTempFiles<const D extends readonly Uint8Array[], T>(
  data: D,
  body: (paths: { -readonly [K in keyof D]: string }) => Promise<T>,
): Promise<T> {
  const [first, ...rest] = data;
  if (first === undefined) return body([] as { -readonly [K in keyof D]: string });
  return withTempFile(
    first,
    (path) =>
      withTempFiles(
        rest,
        (paths) => body([path, ...paths] as { -readonly [K in keyof D]: string }),
      ),
  );
}

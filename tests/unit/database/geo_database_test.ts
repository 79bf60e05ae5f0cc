import assert from "node:assert/strict";
import { AddressFamilyError, DatabaseError, GeoDatabase } from "../../../lib/database/mod.ts";
import { parseIpAddress } from "../../../lib/protocol/mod.ts";
import { cityFixture, gzip, ipv4OnlyFixture, writeTempFile } from "../../support/fixtures.ts";

const ip = (text: string) => parseIpAddress(text)!;

async function refusal(data: Uint8Array | null, suffix = ".mmdb"): Promise<string> {
  const path = data === null ? "/nonexistent/geoipmq/x.mmdb" : await writeTempFile(data, suffix);
  try {
    await GeoDatabase.open(path);
  } catch (error) {
    assert.ok(error instanceof DatabaseError, `expected a DatabaseError, got ${error}`);
    assert.equal(error.message.includes("\n"), false);
    assert.ok(error.message.includes(`"${path}"`), "the message names the file");
    return error.message;
  } finally {
    if (data !== null) await Deno.remove(path);
  }
  assert.fail("expected the database to be refused");
}

Deno.test("GeoDatabase.open() reads a database and its metadata", async () => {
  const path = await writeTempFile(cityFixture());
  try {
    const db = await GeoDatabase.open(path);
    assert.equal(db.metadata.databaseType, "GeoIP2-City");
    assert.equal(db.metadata.ipVersion, 6);
    assert.equal(db.metadata.recordSize, 28);
    assert.equal(db.metadata.buildEpoch, 1_700_000_000);
    assert.deepEqual(db.metadata.languages, ["en", "de"]);
    assert.equal(db.source, path);
    assert.ok(db.bytes.buffer instanceof SharedArrayBuffer, "bytes are shareable");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("GeoDatabase.open() decompresses a .mmdb.gz in memory", async () => {
  const plain = cityFixture();
  const path = await writeTempFile(await gzip(plain), ".mmdb.gz");
  try {
    const db = await GeoDatabase.open(path);
    assert.deepEqual([...db.bytes], [...plain]);
    assert.equal(db.lookup(ip("81.2.69.170"))?.prefixLength, 27);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("GeoDatabase.lookup() finds IPv4, IPv6 and IPv4-mapped addresses", () => {
  const db = GeoDatabase.fromBytes(cityFixture(), "fixture");
  const london = db.lookup(ip("81.2.69.160"));
  assert.equal(london?.prefixLength, 27);
  assert.equal((london?.record as { postal: { code: string } }).postal.code, "EC1A");
  const mapped = db.lookup(ip("::ffff:81.2.69.191"));
  assert.equal(mapped?.prefixLength, 123);
  assert.equal(mapped?.recordOffset, london?.recordOffset, "mapped and plain share the record");
  assert.equal(db.lookup(ip("2001:db8:1::1"))?.prefixLength, 32);
  assert.equal(db.lookup(ip("81.2.69.192")), null);
  assert.equal(db.lookup(ip("2001:db9::1")), null);
  assert.equal(db.lookup(ip("::")), null);
});

Deno.test("GeoDatabase.lookup() refuses IPv6 addresses in an IPv4-only database", () => {
  const db = GeoDatabase.fromBytes(ipv4OnlyFixture(), "fixture");
  assert.equal(db.metadata.ipVersion, 4);
  assert.equal(db.lookup(ip("1.2.3.4"))?.prefixLength, 24);
  assert.throws(() => db.lookup(ip("::1")), AddressFamilyError);
});

Deno.test("GeoDatabase.open() refuses bad files with a one-line reason", async (t) => {
  const valid = cityFixture();
  await t.step("a missing file", async () => {
    assert.match(await refusal(null), /: no such file$/);
  });
  await t.step("an empty file", async () => {
    assert.match(await refusal(new Uint8Array(0)), /not a MaxMind DB file/);
  });
  await t.step("a text file", async () => {
    const text = new TextEncoder().encode("GeoIP Country Edition\n".repeat(100));
    assert.match(await refusal(text), /not a MaxMind DB file/);
  });
  await t.step("a file truncated inside its metadata", async () => {
    assert.match(await refusal(valid.slice(0, valid.length - 40)), /metadata section is truncated/);
  });
  await t.step("a file truncated to half", async () => {
    assert.match(await refusal(valid.slice(0, valid.length >> 1)), /not a MaxMind DB file/);
  });
  await t.step("a search tree pointing outside the data", async () => {
    const corrupt = valid.slice();
    corrupt.fill(0xff, 0, 7 * 4); // the first four nodes of the tree
    assert.match(await refusal(corrupt), /corrupt \(search tree node \d+ points outside/);
  });
  await t.step("a truncated gzip file", async () => {
    const gz = await gzip(valid);
    assert.match(await refusal(gz.slice(0, gz.length >> 1), ".mmdb.gz"), /gzip data is corrupt/);
  });
  await t.step("a directory", async () => {
    const directory = await Deno.makeTempDir();
    try {
      await GeoDatabase.open(directory);
      assert.fail("a directory was opened");
    } catch (error) {
      assert.ok(error instanceof DatabaseError);
      assert.match(error.message, /Cannot open database/);
    } finally {
      await Deno.remove(directory);
    }
  });
});

/** A walk of the search tree from its root, bit by bit: the reference for findOffset. */
function walkFromRoot(db: GeoDatabase, address: Uint8Array): string {
  const { nodeCount, recordSize, ipVersion } = db.metadata;
  const bytes = db.bytes;
  const read = (node: number, bit: number) => {
    const o = node * recordSize / 4;
    if (recordSize === 24) {
      return (bytes[o + bit * 3]! << 16) | (bytes[o + bit * 3 + 1]! << 8) | bytes[o + bit * 3 + 2]!;
    }
    if (recordSize === 28) {
      return bit === 0
        ? ((bytes[o + 3]! & 0xf0) << 20) | (bytes[o]! << 16) | (bytes[o + 1]! << 8) | bytes[o + 2]!
        : ((bytes[o + 3]! & 0x0f) << 24) | (bytes[o + 4]! << 16) | (bytes[o + 5]! << 8) |
          bytes[o + 6]!;
    }
    const p = o + bit * 4;
    return bytes[p]! * 2 ** 24 + ((bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!);
  };
  let node = 0;
  for (let i = 0; ipVersion === 6 && i < 96 && node < nodeCount; i++) node = read(node, 0);
  let depth = 0;
  for (; depth < 32 && node < nodeCount; depth++) {
    node = read(node, (address[depth >> 3]! >> (7 - (depth & 7))) & 1);
  }
  if (node === nodeCount) return `-1/${depth}`;
  return `${node - nodeCount - 16}/${depth}`;
}

Deno.test("IPv4 lookups through the table of the tree's top levels equal a walk from the root", async () => {
  const directory = new URL("../../fixtures/maxmind/", import.meta.url);
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (
    const name of ["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb", "GeoIP2-Domain-Test.mmdb"]
  ) {
    const db = await GeoDatabase.open(new URL(name, directory).pathname);
    const addresses: Uint8Array[] = [];
    for (let i = 0; i < 65536; i += 7) {
      addresses.push(
        new Uint8Array([i >> 8, i & 255, 0, 0]),
        new Uint8Array([i >> 8, i & 255, 255, 255]),
      );
    }
    for (let i = 0; i < 20_000; i++) {
      const v = next();
      addresses.push(new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]));
    }
    // Networks the MaxMind test databases hold, and their neighbours.
    for (const text of ["81.2.69.160", "216.160.83.56", "2.125.160.216", "89.160.20.112"]) {
      addresses.push(ip(text).bytes.slice(0, 4));
    }
    for (const text of ["1.128.0.0", "12.81.92.1", "67.43.156.1", "149.101.100.1", "1.0.0.1"]) {
      addresses.push(ip(text).bytes.slice(0, 4));
    }
    let found = 0;
    for (const address of addresses) {
      const offset = db.findOffset(address, 4);
      if (offset >= 0) found++;
      assert.equal(
        `${offset}/${db.lastPrefixLength}`,
        walkFromRoot(db, address),
        `${name} ${address.join(".")}`,
      );
    }
    assert.ok(found > 0, `${name}: some addresses found`);
  }
  // And an IPv4-only database.
  const path = await writeTempFile(ipv4OnlyFixture());
  try {
    const db = await GeoDatabase.open(path);
    for (const text of ["1.1.1.1", "81.2.69.160", "10.0.0.1", "255.255.255.255", "0.0.0.0"]) {
      const address = ip(text).bytes;
      assert.equal(
        `${db.findOffset(address, 4)}/${db.lastPrefixLength}`,
        walkFromRoot(db, address),
      );
    }
  } finally {
    await Deno.remove(path);
  }
});

import assert from "node:assert/strict";
import {
  AddressFamilyError,
  DatabaseError,
  GeoDatabase,
} from "../../../lib/database/geo_database.ts";
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

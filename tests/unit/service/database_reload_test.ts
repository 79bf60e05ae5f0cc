import assert from "node:assert/strict";
import { join } from "node:path";
import { GeoDatabase } from "../../../lib/database/mod.ts";
import { Logger } from "../../../lib/log/mod.ts";
import { logReloaded, reopenDatabases } from "../../../lib/service/database_reload.ts";

const FIXTURES = new URL("../../fixtures/maxmind/", import.meta.url);

/** A logger whose JSON lines are kept. */
function recordingLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = new Logger({ format: "json", write: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** Copies fixtures into a temporary directory, to replace them as a reload would. */
async function tempCopies(names: string[]): Promise<{ dir: string; paths: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "geoipmq-reload-" });
  const paths: string[] = [];
  for (const [i, name] of names.entries()) {
    const path = join(dir, `${i}-${name}`);
    await Deno.copyFile(new URL(name, FIXTURES), path);
    paths.push(path);
  }
  return { dir, paths };
}

Deno.test("reopenDatabases() takes every file that opens and is of the same kind", async () => {
  const { dir, paths } = await tempCopies(["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"]);
  try {
    const current = await Promise.all(paths.map((path) => GeoDatabase.open(path)));
    const { log, lines } = recordingLog();
    const { next, refused } = await reopenDatabases(paths, { current, log });
    assert.equal(refused, 0);
    assert.equal(next.length, 2);
    next.forEach((database, i) => {
      assert.notEqual(database, current[i], "a new database object");
      assert.equal(database.source, paths[i]);
    });
    assert.deepEqual(lines, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reopenDatabases() keeps the old database when its file cannot be used", async () => {
  const { dir, paths } = await tempCopies(["GeoIP2-City-Test.mmdb"]);
  try {
    const current = [await GeoDatabase.open(paths[0]!)];
    await Deno.writeTextFile(paths[0]!, "not a database");
    const { log, lines } = recordingLog();
    const { next, refused } = await reopenDatabases(paths, { current, log });
    assert.equal(refused, 1);
    assert.equal(next[0], current[0], "the old one stays");
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.event, "reload-failed");
    assert.equal(lines[0]!.level, "error");
    assert.match(String(lines[0]!.message), /^reload failed, still serving the old database: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reopenDatabases() refuses a file of another kind and names it among several", async () => {
  const { dir, paths } = await tempCopies(["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"]);
  try {
    const current = await Promise.all(paths.map((path) => GeoDatabase.open(path)));
    await Deno.copyFile(new URL("GeoLite2-ASN-Test.mmdb", FIXTURES), paths[0]!);
    const { log, lines } = recordingLog();
    const { next, refused } = await reopenDatabases(paths, { current, log });
    assert.equal(refused, 1);
    assert.equal(next[0], current[0], "the City database keeps serving");
    assert.notEqual(next[1], current[1], "the ASN database switches");
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.event, "reload-refused");
    assert.equal(
      lines[0]!.message,
      `reload refused, still serving its old version: "${paths[0]}" is now a GeoLite2-ASN ` +
        "database where a GeoIP2-City one was; restart to change the kind of a database",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logReloaded() says which databases switched and which kept their old version", async () => {
  const city = await GeoDatabase.open(new URL("GeoIP2-City-Test.mmdb", FIXTURES).pathname);
  const asn = await GeoDatabase.open(new URL("GeoLite2-ASN-Test.mmdb", FIXTURES).pathname);
  const newCity = await GeoDatabase.open(new URL("GeoIP2-City-Test.mmdb", FIXTURES).pathname);
  const newAsn = await GeoDatabase.open(new URL("GeoLite2-ASN-Test.mmdb", FIXTURES).pathname);
  const all = recordingLog();
  logReloaded(all.log, { current: [city, asn], next: [newCity, newAsn] });
  assert.equal(all.lines.length, 1);
  assert.equal(all.lines[0]!.event, "reloaded");
  assert.match(
    String(all.lines[0]!.message),
    /^reloaded: serving GeoIP2-City built \d{4}-\d\d-\d\d from .*; GeoLite2-ASN built/,
  );
  const partly = recordingLog();
  logReloaded(partly.log, { current: [city, asn], next: [newCity, asn] });
  assert.equal(partly.lines[0]!.event, "reloaded-partly");
  assert.equal(partly.lines[0]!.level, "warn");
  assert.match(
    String(partly.lines[0]!.message),
    new RegExp(
      `^reloaded 1 of 2 databases: serving GeoIP2-City .*; still serving the old version of "${asn.source}"$`,
    ),
  );
});

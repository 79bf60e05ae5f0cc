/**
 * Answers written from the database bytes are the answers made the old way, from
 * `npm:maxmind`'s decoded record: for every record of every MaxMind test database in
 * tests/fixtures/maxmind, the JSON byte for byte, the `geoip` line in two language
 * orders, and every path the record has (and a few it has not) as `get` fields. Then
 * hand-made records that the reader does not take as they are (a key twice, numeric and
 * `__proto__` keys, invalid UTF-8, deep nesting, a pointer loop) are answered as before.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  DataSection,
  FieldWriter,
  GeoDatabase,
  TsvWriter,
  ValueWriter,
} from "../../../lib/database/mod.ts";
import { GeoipResponder, ReplyBuffer } from "../../../lib/lookup/mod.ts";
import {
  DEFAULT_LIMITS,
  type FieldPath,
  formatFields,
  formatTsv,
  stringifyJson,
} from "../../../lib/protocol/mod.ts";
import { LONDON, openFixture } from "../../support/fixtures.ts";
import { buildMmdb, bytes, float32, int32, uint128, uint64 } from "../../../tooling/mod.ts";

const FIXTURES = new URL("../../fixtures/maxmind/", import.meta.url).pathname;
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const SERVER = { version: "0", libzmqVersion: "0", startedAt: 0 };
const LANGUAGE_ORDERS: readonly (readonly string[])[] = [["en"], ["de", "ru", "zh-CN", "pt-BR"]];

/** Every path into a decoded value, to `depth` parts, with `.name` forms of `names` maps. */
function pathsOf(value: unknown, prefix: string[] = [], depth = 5): string[][] {
  const paths: string[][] = prefix.length > 0 ? [prefix] : [];
  if (depth === 0 || value === null || typeof value !== "object" || value instanceof Uint8Array) {
    return paths;
  }
  const entries = Array.isArray(value)
    ? value.map((item, i) => [String(i), item] as const)
    : Object.entries(value as Record<string, unknown>);
  for (const [key, item] of entries) {
    if (key === "names" && prefix.length > 0) paths.push([...prefix, "name"]);
    paths.push(...pathsOf(item, [...prefix, key], depth - 1));
  }
  return paths;
}

function fieldPath(segments: string[]): FieldPath {
  return { text: segments.join("."), segments };
}

/** Checks every record of a database; returns how many. */
function checkEveryRecord(database: GeoDatabase, name: string): number {
  const section = database.section;
  const out = new ReplyBuffer(64);
  const json = new ValueWriter(section);
  // The same with a memo of values reached through pointers, small enough to be dropped
  // and filled again: every record twice, so the second pass copies what the first kept.
  const memoized = new ValueWriter(section);
  memoized.memoize(16 * 1024);
  const tsv = LANGUAGE_ORDERS.map((languages) => new TsvWriter(section, languages));
  const fields = LANGUAGE_ORDERS.map((languages) => new FieldWriter(section, languages));
  const offsets = database.recordOffsets();
  for (const offset of offsets) {
    const record = database.decodeRecord(offset);
    out.reset();
    section.start();
    json.begin(out);
    json.json(section.at(offset));
    json.end();
    assert.equal(decoder.decode(out.view()), stringifyJson(record), `${name} @${offset}: json`);
    for (let pass = 0; pass < 2; pass++) {
      out.reset();
      section.start();
      memoized.begin(out);
      memoized.json(section.at(offset));
      memoized.end();
      assert.equal(decoder.decode(out.view()), stringifyJson(record), `${name} @${offset}: memo`);
    }
    const paths = [...pathsOf(record), ["city", "name"], ["nothing"], ["location", "9"]]
      .map(fieldPath);
    LANGUAGE_ORDERS.forEach((languages, i) => {
      out.reset();
      tsv[i]!.write(offset, out);
      assert.equal(
        decoder.decode(out.view()),
        formatTsv(record, languages),
        `${name} @${offset}: geoip, ${languages}`,
      );
      out.reset();
      fields[i]!.write(offset, { fields: paths, sink: out });
      assert.equal(
        decoder.decode(out.view()),
        formatFields(record, { fields: paths, languages }),
        `${name} @${offset}: get ${paths.map((p) => p.text)}, ${languages}`,
      );
    });
  }
  return offsets.length;
}

Deno.test("answers written from the bytes equal the decoded records' for every test database", async (t) => {
  const names = [...Deno.readDirSync(FIXTURES)].map((entry) => entry.name)
    .filter((name) => name.endsWith(".mmdb")).sort();
  assert.ok(names.length >= 14, `only ${names.length} test databases`);
  for (const name of names) {
    await t.step(name, async () => {
      const database = await GeoDatabase.open(FIXTURES + name);
      assert.ok(checkEveryRecord(database, name) > 0);
    });
  }
});

Deno.test("every data type is written as the decoder's value would be", () => {
  const database = openFixture(buildMmdb({ ipVersion: 6, databaseType: "GeoIP2-City" }, [
    { network: "81.2.69.160/27", record: LONDON },
    {
      network: "203.0.113.0/24",
      record: {
        country: { iso_code: "ZZ", names: { en: "Zed", de: "Zett" } },
        location: { latitude: -0.0000005, longitude: 1e21, metro_code: int32(-7) },
        max64: uint64(2n ** 64n - 1n),
        max128: uint128(2n ** 128n - 1n),
        small128: uint128(5),
        negative: int32(-2147483648),
        float: float32(1.1),
        tiny: 5e-324,
        raw: bytes(new Uint8Array([0, 1, 255])),
        empty: bytes(new Uint8Array(0)),
        flags: [true, false],
        nested: [[[], {}], { a: [{ b: "c" }] }],
        text: '"\\\b\f\n\r\t\u0001\u001f\u007f\u00e9\u2028\u2029\ud83c\udf0d',
        [""]: "empty key",
      },
    },
  ]));
  assert.ok(checkEveryRecord(database, "all types") >= 2);
});

/**
 * A database whose record for 203.0.113.0/24 is the given bytes, laid in place of a
 * placeholder; 81.2.69.160/27 is London, so the open-time checks pass.
 */
function rawRecordDatabase(record: number[]): { database: GeoDatabase; offset: number } {
  const data = buildMmdb({ ipVersion: 6, databaseType: "GeoIP2-City" }, [
    { network: "81.2.69.160/27", record: LONDON },
    { network: "203.0.113.0/24", record: bytes(new Uint8Array(200)) },
  ]);
  const intact = openFixture(data);
  const offset = intact.findOffset(new Uint8Array([203, 0, 113, 9]), 4);
  const out = new Uint8Array(data);
  out.set(record, intact.section.at(offset));
  return { database: openFixture(out), offset };
}

const text = (s: string) => [...encoder.encode(s)];
/** A string's control byte(s) and bytes (under 29 bytes). */
const str = (s: string) => [0x40 | encoder.encode(s).length, ...text(s)];

const RAW_RECORDS: { name: string; bytes: number[] }[] = [
  { name: "a key twice", bytes: [0xe2, ...str("a"), 0xa1, 1, ...str("a"), 0xa1, 2] },
  {
    name: "numeric keys",
    bytes: [0xe3, ...str("b"), 0xa1, 1, ...str("10"), 0xa1, 2, ...str("2"), 0xa1, 3],
  },
  {
    name: "a __proto__ key",
    bytes: [0xe2, ...str("__proto__"), 0xe1, ...str("x"), 0xa1, 1, ...str("y"), 0xa1, 2],
  },
  {
    name: "invalid UTF-8",
    bytes: [0xe2, ...str("s"), 0x45, 0xff, 0x41, 0xed, 0xa0, 0x80, ...str("t"), 0x43, 0xc3],
  },
  {
    name: "a BOM and a lone continuation byte",
    bytes: [0xe1, ...str("s"), 0x45, 0xef, 0xbb, 0xbf, 0x80, 0x41],
  },
  // 40 arrays of one element, nested, around a uint16.
  { name: "nesting 40 deep", bytes: [...Array(40).fill([0x01, 0x04]).flat(), 0xa1, 7] },
  {
    name: "a NaN, an infinity and a negative zero",
    bytes: [
      0xe3,
      ...str("n"),
      0x68,
      0x7f,
      0xf8,
      0,
      0,
      0,
      0,
      0,
      0,
      ...str("i"),
      0x68,
      0xff,
      0xf0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...str("z"),
      0x68,
      0x80,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ],
  },
  {
    name: "short int32, zero-size integers, a boolean of size 2",
    bytes: [
      0xe4,
      ...str("a"),
      0x02,
      0x01,
      0xff,
      0xfe,
      ...str("b"),
      0xa0,
      ...str("c"),
      0x00,
      0x02,
      ...str("d"),
      0x02,
      0x07,
    ],
  },
  { name: "a map that is not a map's key", bytes: [0xe1, 0xe0, 0xa1, 1] },
];

Deno.test("records the reader does not take as they are are answered as before", async (t) => {
  for (const raw of RAW_RECORDS) {
    await t.step(raw.name, () => {
      const { database, offset } = rawRecordDatabase(raw.bytes);
      const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server: SERVER });
      const reply = responder.respond(encoder.encode("json 203.0.113.9"));
      let expected: string;
      try {
        const record = stringifyJson(database.decodeRecord(offset));
        expected = `{"ip":"203.0.113.9","network":"203.0.113.0/24","record":${record}}`;
      } catch (error) {
        expected = `ERROR\tdatabase error for "203.0.113.9": ${(error as Error).message}`;
      }
      assert.equal(reply, expected);
      assert.equal(
        responder.respond(encoder.encode("geoip 203.0.113.9")),
        "(null)\t(null)\t(null)\t(null)\t(null)\t(null)\t(null)\t(null)",
      );
    });
  }
});

Deno.test("a pointer loop or a record past the end is a database error, not a hang", () => {
  const cases: number[][] = [
    [0x20, 0x00], // patched below: a pointer to the record itself
    [0x5d, 0xff, 0x41], // a string of 284 bytes, running past the end of the file
  ];
  for (const bytes of cases) {
    const { database, offset } = rawRecordDatabase(bytes);
    if (bytes[0] === 0x20) {
      const at = database.section.at(offset);
      database.bytes[at] = 0x20 | ((offset >> 8) & 7);
      database.bytes[at + 1] = offset & 0xff;
    }
    const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server: SERVER });
    for (const verb of ["geoip", "json", "get city.name,location"]) {
      const reply = responder.respond(encoder.encode(`${verb} 203.0.113.9`));
      let old: string | undefined;
      try {
        old = stringifyJson(database.decodeRecord(offset));
      } catch (error) {
        old = `ERROR\tdatabase error for "203.0.113.9": ${(error as Error).message}`;
      }
      if (old.startsWith("ERROR")) assert.equal(reply, old, verb);
      else assert.doesNotMatch(reply, /^ERROR/, verb);
    }
  }
});

Deno.test("DataSection refuses what runs past the end of its bytes", () => {
  const section = new DataSection(new Uint8Array([0x44, 0x41]), 0);
  section.start();
  assert.throws(() => section.read(0), /runs past the end/);
  assert.throws(() => section.read(5), /runs past the end/);
  assert.throws(() => section.skip(0), /runs past the end/);
});

import assert from "node:assert/strict";
import { skipForMissingTool } from "../support/required_tool.ts";
import { Buffer } from "node:buffer";
import { Reader, type Response } from "maxmind";
import {
  buildMmdb,
  bytes,
  float32,
  int32,
  type MmdbNetwork,
  MmdbTyped,
  type MmdbValue,
  type MmdbWriterOptions,
  uint128,
  uint16,
  uint32,
  uint64,
} from "../../tooling/mod.ts";

/** One lookup and what every reader should answer: the record (null: not found) and prefix. */
interface Case {
  ip: string;
  record: MmdbValue | null;
  prefix: number;
}

const RECORD_SIZES = [24, 28, 32] as const;
const PYTHON = "/usr/bin/python3";

/** What maxmind's Reader returns for a value written by the writer. */
function asReadByMaxmind(value: MmdbValue): unknown {
  if (value instanceof MmdbTyped) {
    const v = value.value;
    if (v instanceof Uint8Array) return Buffer.from(v);
    if (value.type === "float32") return Math.fround(Number(v));
    return value.type === "uint64" || value.type === "uint128" ? BigInt(v) : Number(v);
  }
  if (Array.isArray(value)) return value.map(asReadByMaxmind);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asReadByMaxmind(v)]));
  }
  return value;
}

/** What the Python script below prints for a value written by the writer. */
function asReadByPython(value: MmdbValue): unknown {
  if (value instanceof MmdbTyped) {
    const v = value.value;
    if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString("hex") };
    if (value.type === "float32") return Math.fround(Number(v));
    return { int: String(v) };
  }
  if (Array.isArray(value)) return value.map(asReadByPython);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asReadByPython(v)]));
  }
  return value;
}

/** Checks `get()` and `getWithPrefixLength()` of maxmind's Reader against the cases. */
function checkWithMaxmind(db: Uint8Array, cases: Case[]): Reader<Response> {
  const reader = new Reader(Buffer.from(db));
  const want = cases.map(({ ip, record, prefix }) => {
    const value = record === null ? null : asReadByMaxmind(record);
    return { ip, get: value, getWithPrefixLength: [value, prefix] };
  });
  const got = cases.map(({ ip }) => ({
    ip,
    get: reader.get(ip),
    getWithPrefixLength: reader.getWithPrefixLength(ip),
  }));
  assert.deepStrictEqual(got, want);
  return reader;
}

const PYTHON_SCRIPT = `
import json, sys
import maxminddb

def norm(v):
    if v is None or isinstance(v, (bool, str, float)):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": v.hex()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    raise TypeError(type(v))

ips = json.load(sys.stdin)
modes = {"pure Python": maxminddb.MODE_FILE}
try:
    import maxminddb.extension
    modes["libmaxminddb"] = maxminddb.MODE_MMAP_EXT
except ImportError:
    pass
fields = ("node_count", "record_size", "ip_version", "database_type", "languages",
          "binary_format_major_version", "binary_format_minor_version", "build_epoch",
          "description")
out = {}
for name, mode in modes.items():
    with maxminddb.open_database(sys.argv[1], mode) as db:
        meta = db.metadata()
        out[name] = {
            "metadata": {f: getattr(meta, f) for f in fields},
            "lookups": [[norm(r), n] for r, n in map(db.get_with_prefix_len, ips)],
        }
json.dump(out, sys.stdout)
`;

type PythonResult = Record<string, { metadata: Record<string, unknown>; lookups: unknown[] }>;

/** Why the Python cross-check cannot run, or undefined if it can. */
async function pythonMissing(): Promise<string | undefined> {
  try {
    const probe = await new Deno.Command(PYTHON, { args: ["-c", "import maxminddb"] }).output();
    return probe.success ? undefined : "the python3 maxminddb module is not installed";
  } catch (error) {
    return `${PYTHON} cannot run: ${error}`;
  }
}
const PYTHON_MISSING = await pythonMissing();

/** Reads the database with python3-maxminddb (pure Python and, if built, libmaxminddb). */
async function readWithPython(db: Uint8Array, ips: string[]): Promise<PythonResult> {
  const path = await Deno.makeTempFile({ prefix: "mmdb_writer_test_", suffix: ".mmdb" });
  try {
    await Deno.writeFile(path, db);
    const child = new Deno.Command(PYTHON, {
      args: ["-c", PYTHON_SCRIPT, path],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(ips)));
    await writer.close();
    const { success, stdout, stderr } = await child.output();
    assert.ok(success, `python3 failed: ${new TextDecoder().decode(stderr)}`);
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(path);
  }
}

/** A test step that compares python3-maxminddb's answers with the cases and metadata. */
async function checkWithPython(
  t: Deno.TestContext,
  db: Uint8Array,
  cases: Case[],
  metadata?: Record<string, unknown>,
) {
  if (PYTHON_MISSING) skipForMissingTool(`python3-maxminddb (${PYTHON_MISSING})`);
  await t.step({
    name: "python3-maxminddb reads the same answers",
    ignore: PYTHON_MISSING !== undefined,
    fn: async () => {
      const result = await readWithPython(db, cases.map((c) => c.ip));
      assert.ok(result["pure Python"], "the pure Python reader ran");
      if (!result["libmaxminddb"]) skipForMissingTool("maxminddb.extension (libmaxminddb)");
      const want = cases.map(({ ip, record, prefix }) => ({
        ip,
        lookup: [record === null ? null : asReadByPython(record), prefix],
      }));
      for (const [reader, { lookups, metadata: meta }] of Object.entries(result)) {
        const got = cases.map(({ ip }, i) => ({ ip, lookup: lookups[i] }));
        assert.deepStrictEqual({ reader, lookups: got }, { reader, lookups: want });
        if (metadata) assert.deepStrictEqual({ reader, meta }, { reader, meta: metadata });
      }
    },
  });
}

/** Checks the database with maxmind's Reader and, in a step, with python3-maxminddb. */
async function checkReaders(t: Deno.TestContext, db: Uint8Array, cases: Case[]) {
  checkWithMaxmind(db, cases);
  await checkWithPython(t, db, cases);
}

const OPTIONS = { databaseType: "Test" } as const;

Deno.test("buildMmdb() writes the metadata that readers report", async (t) => {
  const options: MmdbWriterOptions = {
    ipVersion: 6,
    recordSize: 32,
    databaseType: "GeoIP2-City-Fixture",
    languages: ["en", "de", "zh-CN"],
    description: { en: "A fixture", de: "Eine Testdatenbank" },
    buildEpoch: 1_234_567_890,
  };
  const db = buildMmdb(options, [{ network: "1.2.3.0/24", record: "x" }]);
  const reader = new Reader(Buffer.from(db));
  const { nodeCount } = reader.metadata;
  assert.deepStrictEqual(reader.metadata, {
    binaryFormatMajorVersion: 2,
    binaryFormatMinorVersion: 0,
    buildEpoch: new Date(1_234_567_890_000),
    databaseType: "GeoIP2-City-Fixture",
    description: { en: "A fixture", de: "Eine Testdatenbank" },
    ipVersion: 6,
    languages: ["en", "de", "zh-CN"],
    nodeByteSize: 8,
    nodeCount,
    recordSize: 32,
    searchTreeSize: nodeCount * 8,
    treeDepth: 128,
  });
  // 120 nodes above ::1.2.3.0/120, then the alias paths: ::ffff:0:0/96 shares the
  // nodes at depths 0-80 with it (15 new), 2002::/16 those at depths 0-2 (13 new).
  assert.equal(nodeCount, 120 + 15 + 13);

  const defaults = new Reader(Buffer.from(buildMmdb({ ipVersion: 4, ...OPTIONS }, [])));
  assert.equal(defaults.metadata.recordSize, 28);
  assert.equal(defaults.metadata.buildEpoch.getTime(), 1_700_000_000_000);
  assert.deepStrictEqual(defaults.metadata.languages, []);
  assert.deepStrictEqual(defaults.metadata.description, {});
  assert.equal(defaults.get("1.2.3.4"), null);

  await checkWithPython(t, db, [{ ip: "1.2.3.4", record: "x", prefix: 24 }], {
    node_count: nodeCount,
    record_size: 32,
    ip_version: 6,
    database_type: "GeoIP2-City-Fixture",
    languages: ["en", "de", "zh-CN"],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_234_567_890,
    description: { en: "A fixture", de: "Eine Testdatenbank" },
  });
});

Deno.test("buildMmdb() lays out the file as the spec says, with node_count as 'not found'", () => {
  const nodes = {
    24: [0x00, 0x00, 0x11, 0x00, 0x00, 0x01],
    28: [0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01],
    32: [0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01],
  };
  for (const recordSize of RECORD_SIZES) {
    const db = buildMmdb({ ipVersion: 4, recordSize, ...OPTIONS }, [
      { network: "0.0.0.0/1", record: "a" },
    ]);
    // One node: left = 1 node + 16 + data offset 0 = 0x11, right = node_count = 1 (no data).
    const marker = [0xab, 0xcd, 0xef, ...new TextEncoder().encode("MaxMind.com")];
    const head = [...nodes[recordSize], ...Array(16).fill(0), 0x41, 0x61, ...marker];
    assert.deepStrictEqual([...db.subarray(0, head.length)], head, `record size ${recordSize}`);
    checkWithMaxmind(db, [
      { ip: "127.255.255.255", record: "a", prefix: 1 },
      { ip: "128.0.0.0", record: null, prefix: 1 },
    ]);
  }
});

Deno.test("buildMmdb() uses all 28 and 32 bits of a record when the data section is big", async (t) => {
  // The 16 MiB record pushes the later records' pointers past 2^24.
  const huge = bytes(new Uint8Array(2 ** 24).fill(7));
  const networks: MmdbNetwork[] = [
    { network: "64.0.0.0/2", record: huge }, // data offset 0
    { network: "0.0.0.0/2", record: "left" }, // offset 1 + 3 + 2^24 = 0x1000004
    { network: "128.0.0.0/1", record: "right" }, // offset 0x1000004 + 5 = 0x1000009
  ];
  // Node 0: left -> node 1, right -> "right". Node 1: left -> "left", right -> huge.
  // Data records are node_count (2) + 16 + offset: 0x100001b, 0x1000016 and 0x12.
  const trees = {
    28: [0, 0, 1, 0x01, 0, 0, 0x1b, 0, 0, 0x16, 0x10, 0, 0, 0x12],
    32: [0, 0, 0, 1, 1, 0, 0, 0x1b, 1, 0, 0, 0x16, 0, 0, 0, 0x12],
  };
  for (const recordSize of [28, 32] as const) {
    await t.step(`record size ${recordSize}`, async (t) => {
      const db = buildMmdb({ ipVersion: 4, recordSize, ...OPTIONS }, networks);
      assert.deepStrictEqual([...db.subarray(0, trees[recordSize].length)], trees[recordSize]);
      const cases = [
        { ip: "63.255.255.255", record: "left", prefix: 2 },
        { ip: "200.1.2.3", record: "right", prefix: 1 },
      ];
      const reader = checkWithMaxmind(db, [...cases, { ip: "64.0.0.1", record: huge, prefix: 2 }]);
      assert.equal((reader.get("127.0.0.1") as unknown as Buffer).length, 2 ** 24);
      await checkWithPython(t, db, cases);
    });
  }
  assert.throws(
    () => buildMmdb({ ipVersion: 4, recordSize: 24, ...OPTIONS }, networks),
    (error) => error instanceof RangeError && /does not fit in 24 bits/.test(error.message),
  );
});

Deno.test("buildMmdb() finds addresses inside, at the edges of and outside IPv4 networks", async (t) => {
  const networks: MmdbNetwork[] = [
    { network: "10.0.0.0/8", record: "a" },
    { network: "10.1.0.0/16", record: "b" },
    { network: "10.1.2.0/24", record: "c" },
    { network: "192.168.1.128/25", record: "d" },
    { network: "0.0.0.0/32", record: "e" },
    { network: "255.255.255.255/32", record: "f" },
  ];
  // A prefix is the depth at which the lookup left the tree: splitting a network
  // around a more specific one leaves its record on smaller blocks.
  const cases: Case[] = [
    { ip: "10.1.2.0", record: "c", prefix: 24 },
    { ip: "10.1.2.255", record: "c", prefix: 24 },
    { ip: "10.1.1.255", record: "b", prefix: 23 },
    { ip: "10.1.3.0", record: "b", prefix: 24 },
    { ip: "10.1.255.255", record: "b", prefix: 17 },
    { ip: "10.0.255.255", record: "a", prefix: 16 },
    { ip: "10.255.255.255", record: "a", prefix: 9 },
    { ip: "9.255.255.255", record: null, prefix: 7 },
    { ip: "11.0.0.0", record: null, prefix: 8 },
    { ip: "192.168.1.127", record: null, prefix: 25 },
    { ip: "192.168.1.128", record: "d", prefix: 25 },
    { ip: "192.168.1.255", record: "d", prefix: 25 },
    { ip: "192.168.2.0", record: null, prefix: 23 },
    { ip: "0.0.0.0", record: "e", prefix: 32 },
    { ip: "0.0.0.1", record: null, prefix: 32 },
    { ip: "255.255.255.255", record: "f", prefix: 32 },
    { ip: "255.255.255.254", record: null, prefix: 32 },
  ];
  for (const recordSize of RECORD_SIZES) {
    await t.step(`record size ${recordSize}`, async (t) => {
      await checkReaders(t, buildMmdb({ ipVersion: 4, recordSize, ...OPTIONS }, networks), cases);
    });
  }
  await t.step("in any input order", async (t) => {
    const reversed = buildMmdb({ ipVersion: 4, ...OPTIONS }, networks.toReversed());
    await checkReaders(t, reversed, cases);
  });
});

Deno.test("buildMmdb() nests a /24 inside a /16 in an IPv6 database", async (t) => {
  const networks: MmdbNetwork[] = [
    { network: "1.2.3.0/24", record: { name: "small" } },
    { network: "1.2.0.0/16", record: { name: "big" } },
    { network: "2001:db8::/32", record: { name: "outer" } },
    { network: "2001:db8:1::/48", record: { name: "inner" } },
  ];
  // maxmind and python3-maxminddb count the prefix of an IPv4 address from the
  // IPv4 subtree (1.2.3.4 -> 24) but that of ::1.2.3.4 from the root (120).
  const cases: Case[] = [
    { ip: "1.2.3.4", record: { name: "small" }, prefix: 24 },
    { ip: "::1.2.3.4", record: { name: "small" }, prefix: 120 },
    { ip: "1.2.3.0", record: { name: "small" }, prefix: 24 },
    { ip: "1.2.3.255", record: { name: "small" }, prefix: 24 },
    { ip: "1.2.2.255", record: { name: "big" }, prefix: 24 },
    { ip: "1.2.0.1", record: { name: "big" }, prefix: 23 },
    { ip: "::1.2.0.1", record: { name: "big" }, prefix: 119 },
    { ip: "1.2.255.255", record: { name: "big" }, prefix: 17 },
    { ip: "1.3.0.0", record: null, prefix: 16 },
    { ip: "1.1.255.255", record: null, prefix: 15 },
    { ip: "2001:db8:1::", record: { name: "inner" }, prefix: 48 },
    { ip: "2001:db8:1:ffff:ffff:ffff:ffff:ffff", record: { name: "inner" }, prefix: 48 },
    { ip: "2001:db8::", record: { name: "outer" }, prefix: 48 },
    { ip: "2001:db8:2::", record: { name: "outer" }, prefix: 47 },
    { ip: "2001:db8:ffff:ffff::", record: { name: "outer" }, prefix: 33 },
    // 2001:db7 and 2001:db8 part after 28 bits.
    { ip: "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", record: null, prefix: 29 },
    { ip: "2001:db9::", record: null, prefix: 32 },
  ];
  for (const recordSize of RECORD_SIZES) {
    await t.step(`record size ${recordSize}`, async (t) => {
      await checkReaders(t, buildMmdb({ ipVersion: 6, recordSize, ...OPTIONS }, networks), cases);
    });
  }
});

Deno.test("buildMmdb() aliases ::ffff:0:0/96 and 2002::/16 to the IPv4 subtree", async (t) => {
  const networks = [{ network: "1.2.3.0/24", record: "v4" }];
  await t.step("by default", async (t) => {
    await checkReaders(t, buildMmdb({ ipVersion: 6, ...OPTIONS }, networks), [
      { ip: "::ffff:1.2.3.4", record: "v4", prefix: 120 },
      { ip: "::ffff:102:3ff", record: "v4", prefix: 120 },
      { ip: "2002:102:304::", record: "v4", prefix: 40 },
      { ip: "2002:102:3ff:ffff:ffff:ffff:ffff:ffff", record: "v4", prefix: 40 },
      { ip: "::ffff:1.2.4.0", record: null, prefix: 118 },
      { ip: "2003::", record: null, prefix: 16 },
      { ip: "::fffe:1.2.3.4", record: null, prefix: 96 },
    ]);
  });
  await t.step("not with aliasIpv4InIpv6: false", async (t) => {
    const db = buildMmdb({ ipVersion: 6, aliasIpv4InIpv6: false, ...OPTIONS }, [
      ...networks,
      { network: "2002::/16", record: "6to4" },
    ]);
    await checkReaders(t, db, [
      { ip: "1.2.3.4", record: "v4", prefix: 24 },
      { ip: "::ffff:1.2.3.4", record: null, prefix: 81 },
      { ip: "2002:102:304::", record: "6to4", prefix: 16 },
    ]);
  });
  await t.step("under a ::/0 network that covers everything else", async (t) => {
    const db = buildMmdb({ ipVersion: 6, ...OPTIONS }, [
      ...networks,
      { network: "::/0", record: "all" },
    ]);
    await checkReaders(t, db, [
      { ip: "1.2.3.4", record: "v4", prefix: 24 },
      { ip: "9.9.9.9", record: "all", prefix: 5 },
      { ip: "::ffff:1.2.3.4", record: "v4", prefix: 120 },
      { ip: "2002:909:909::", record: "all", prefix: 16 + 5 },
      { ip: "2003::", record: "all", prefix: 16 },
      { ip: "ffff::", record: "all", prefix: 1 },
    ]);
  });
});

Deno.test("buildMmdb() round-trips every MMDB data type and size encoding", async (t) => {
  const record: MmdbValue = {
    utf8: "unicode! ☯ - ♫ 🎉",
    empty_string: "",
    double: 42.123456,
    negative_double: -1.5e300,
    integral_double: 3,
    float: float32(1.1),
    negative_float: float32(-2.5),
    true: true,
    false: false,
    uint16: uint16(100),
    uint16_max: uint16(65_535),
    uint16_zero: uint16(0),
    uint32: uint32(268_435_456),
    uint32_max: uint32(2 ** 32 - 1),
    int32: int32(-268_435_456),
    int32_min: int32(-(2 ** 31)),
    int32_max: int32(2 ** 31 - 1),
    int32_small: int32(200),
    int32_minus_one: int32(-1),
    int32_zero: int32(0),
    uint64: uint64(2n ** 60n),
    uint64_max: uint64(2n ** 64n - 1n),
    uint64_one: uint64(1),
    uint128: uint128(2n ** 120n),
    uint128_max: uint128(2n ** 128n - 1n),
    uint128_zero: uint128(0n),
    bytes: bytes(new Uint8Array([0, 0, 0, 42])),
    empty_bytes: bytes(new Uint8Array()),
    array: [1, "two", [uint32(3)], { four: 4 }],
    empty_array: [],
    empty_map: {},
    nested: { a: { b: { c: "deep", d: [true] } } },
  };
  // Sizes 0-28 fit the control byte; 29, 285 and 65821 switch to 1, 2 and 3 extra bytes.
  const lengths = [28, 29, 284, 285, 65_820, 65_821, 70_000];
  const sizes: MmdbValue = {
    strings: lengths.map((n) => "s".repeat(n)),
    two_byte_chars: ["é".repeat(15), "é".repeat(143), "é".repeat(40_000)],
    bytes: lengths.map((n) => bytes(new Uint8Array(n).fill(n % 256))),
    map_30: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i])),
    map_300: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, uint16(i)])),
    array_29: Array.from({ length: 29 }, (_, i) => i),
    array_70000: Array.from({ length: 70_000 }, (_, i) => i % 2 === 0),
  };
  for (const recordSize of RECORD_SIZES) {
    await t.step(`record size ${recordSize}`, async (t) => {
      const db = buildMmdb({ ipVersion: 6, recordSize, ...OPTIONS }, [
        { network: "2001:db8::/32", record },
        { network: "2001:db9::/32", record: sizes },
        { network: "1.2.3.4/32", record: "ipv4" },
      ]);
      await checkReaders(t, db, [
        { ip: "2001:db8::", record, prefix: 32 },
        { ip: "2001:db9::", record: sizes, prefix: 32 },
        { ip: "1.2.3.4", record: "ipv4", prefix: 32 },
      ]);
    });
  }
});

Deno.test("buildMmdb() writes each distinct record once", () => {
  const marker = "only-once-marker";
  const db = buildMmdb({ ipVersion: 4, ...OPTIONS }, [
    { network: "1.0.0.0/8", record: { name: marker, n: uint32(1) } },
    { network: "3.0.0.0/8", record: { name: marker, n: uint32(1) } },
    { network: "5.0.0.0/8", record: { name: marker, n: uint32(2) } },
  ]);
  const text = new TextDecoder("latin1").decode(db);
  assert.equal(text.split(marker).length - 1, 2);
  const reader = new Reader(Buffer.from(db));
  assert.deepStrictEqual(
    ["1.1.1.1", "3.3.3.3", "5.5.5.5", "4.4.4.4"].map((ip) =>
      (reader.get(ip) as { n?: number } | null)?.n ?? null
    ),
    [1, 1, 2, null],
  );
});

Deno.test("buildMmdb() gives identical networks the last record", () => {
  const db = buildMmdb({ ipVersion: 4, ...OPTIONS }, [
    { network: "1.2.0.0/16", record: "first" },
    { network: "1.2.0.0/16", record: "second" },
  ]);
  checkWithMaxmind(db, [{ ip: "1.2.3.4", record: "second", prefix: 16 }]);
});

Deno.test("buildMmdb() rejects bad networks and options", () => {
  const build = (network: string, options: Partial<MmdbWriterOptions> = {}) => () =>
    buildMmdb({ ipVersion: 6, ...OPTIONS, ...options }, [{ network, record: "x" }]);
  for (
    const network of [
      "1.2.3.0",
      "1.2.3.0/",
      "/24",
      "1.2.3/24",
      "1.2.3.256/24",
      "01.2.3.0/24",
      "1.2.3.0/024",
      "1.2.3.0/24/1",
      " 1.2.3.0/24",
      "2001:db8:::/48",
      "1::2::3/128",
      "1:2:3:4:5:6:7:8:9/128",
      "1:2:3:4:5:6:7/112",
      "1:2:3:4:5:6:7:8::/128",
      "2001:db8::g/128",
      "12345::/16",
      "::ffff:1.2.3/120",
      "::ffff:1.2.3.4:0/128",
      "fe80::1%eth0/128",
    ]
  ) {
    assert.throws(build(network), TypeError, network);
  }
  for (
    const network of [
      "1.2.3.0/33",
      "2001:db8::/129",
      "1.2.3.4/24",
      "2001:db8::1/64",
      "::ffff:1.2.3.0/120",
      "2002:101:101::/48",
      "2002::/16",
    ]
  ) {
    assert.throws(build(network), RangeError, network);
  }
  assert.throws(build("2001:db8::/32", { ipVersion: 4 }), RangeError);
  assert.throws(build("1.2.3.0/24", { recordSize: 16 as 24 }), RangeError);
  assert.throws(build("1.2.3.0/24", { ipVersion: 5 as 6 }), RangeError);
  assert.throws(build("1.2.3.0/24", { buildEpoch: -1 }), RangeError);
  // Valid edge cases.
  build("::ffff:1.2.3.0/120", { aliasIpv4InIpv6: false })();
  build("1:2:3:4:5:6:7::/112")();
  build("::/0")();
  build("::1.2.3.4/128")();
  build("0.0.0.0/0", { ipVersion: 4 })();
  build("0.0.0.0/0", { ipVersion: 4, aliasIpv4InIpv6: true })();

  assert.throws(() => uint16(65_536), RangeError);
  assert.throws(() => uint16(1.5), RangeError);
  assert.throws(() => uint32(-1), RangeError);
  assert.throws(() => uint32(2 ** 32), RangeError);
  assert.throws(() => int32(2 ** 31), RangeError);
  assert.throws(() => int32(-(2 ** 31) - 1), RangeError);
  assert.throws(() => uint64(-1n), RangeError);
  assert.throws(() => uint64(2n ** 64n), RangeError);
  assert.throws(() => uint128(2n ** 128n), RangeError);
  assert.throws(() => uint128(0.5), RangeError);
  assert.throws(() => bytes([1, 2] as unknown as Uint8Array), TypeError);
  assert.throws(() => new MmdbTyped("float32", 1n), TypeError);
  for (const record of [null, undefined, 1n, new Uint8Array(1), Symbol("x")]) {
    assert.throws(
      () => buildMmdb({ ipVersion: 4, ...OPTIONS }, [{ network: "1.0.0.0/8", record } as never]),
      TypeError,
    );
  }
});

// ---------------------------------------------------------------------------
// Thousands of networks, checked against a brute-force reference.

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A generated network: its address and prefix length in the tree, and how to write it. */
interface Net {
  address: bigint;
  prefix: number;
  ipv4: boolean;
  network: string;
  record: MmdbValue;
}

function formatAddress(address: bigint, ipv4: boolean): string {
  const [width, step] = ipv4 ? [32, 8] : [128, 16];
  const parts = [];
  for (let shift = width - step; shift >= 0; shift -= step) {
    const part = Number((address >> BigInt(shift)) & ((1n << BigInt(step)) - 1n));
    parts.push(ipv4 ? String(part) : part.toString(16));
  }
  return parts.join(ipv4 ? "." : ":");
}

/** The address as 32-bit words, most significant first (for fast brute-force matching). */
function words(address: bigint, width: number): Int32Array {
  return Int32Array.from(
    { length: width / 32 },
    (_, i) => Number(BigInt.asIntN(32, address >> BigInt(width - 32 * (i + 1)))),
  );
}

function commonPrefixLength(a: Int32Array, b: Int32Array): number {
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] ?? 0) ^ (b[i] ?? 0);
    if (diff !== 0) return 32 * i + Math.clz32(diff);
  }
  return 32 * a.length;
}

/**
 * Generates random networks, a fifth of them nested in an earlier one. In an
 * IPv6 database a quarter are IPv4 networks (in ::/96), the rest are in
 * 2001:db8::/32. Records are distinct, except every 7th, which is shared.
 */
function generateNetworks(ipVersion: 4 | 6, count: number): Net[] {
  const width = ipVersion === 6 ? 128 : 32;
  const rand = random(ipVersion);
  const below = (n: number) => Math.floor(rand() * n);
  const hostMask = (prefix: number) => (1n << BigInt(width - prefix)) - 1n;
  const randomAddress = () => {
    let address = 0n;
    for (let bits = 0; bits < width; bits += 32) address = address << 32n | BigInt(below(2 ** 32));
    return address;
  };
  const nets: Net[] = [];
  for (let i = 0; i < count; i++) {
    const parent = i % 5 === 4 ? nets[below(nets.length)] : undefined;
    let address: bigint, prefix: number, ipv4: boolean;
    if (parent && parent.prefix < width) {
      prefix = parent.prefix + 1 + below(width - parent.prefix);
      address = parent.address | (randomAddress() & hostMask(parent.prefix));
      ipv4 = parent.ipv4;
    } else if (ipVersion === 4 || i % 4 === 0) {
      prefix = width - 32 + 8 + below(25);
      address = randomAddress() & 0xffff_ffffn;
      ipv4 = true;
    } else {
      prefix = 33 + below(96);
      address = (0x2001_0db8n << 96n) | (randomAddress() & hostMask(32));
      ipv4 = false;
    }
    address &= ~hostMask(prefix);
    // Write IPv4 networks of an IPv6 database as IPv4 and as ::a.b.c.d, alternately.
    const network = ipv4 && (ipVersion === 4 || i % 2 === 0)
      ? `${formatAddress(address, true)}/${prefix - width + 32}`
      : `${formatAddress(address, false)}/${prefix}`;
    const record = i % 7 === 0 ? "shared" : { i: uint32(i) };
    nets.push({ address, prefix, ipv4, network, record });
  }
  return nets;
}

/**
 * The expected answers, by brute force, for the first, last, previous and next
 * address of every third network: the record is the longest (then last)
 * matching network, and the prefix is one more than the deepest tree node on
 * the path, where each network makes nodes at every depth above its prefix
 * (the IPv4 alias paths do too). IPv4 addresses are looked up as IPv4 text,
 * and as ::ffff:a.b.c.d in an IPv6 database.
 */
function expectedCases(ipVersion: 4 | 6, nets: Net[]): Case[] {
  const width = ipVersion === 6 ? 128 : 32;
  // The IPv4 alias paths make tree nodes too, but hold no record of their own.
  const aliasPaths = ipVersion === 6
    ? [{ address: 0xffffn << 32n, prefix: 96 }, { address: 0x2002n << 112n, prefix: 16 }]
    : [];
  const entries = [...nets, ...aliasPaths.map((path) => ({ ...path, record: undefined }))]
    .map(({ address, prefix, record }) => ({ prefix, record, words: words(address, width) }));
  const lookup = (address: bigint) => {
    const target = words(address, width);
    let best: (typeof entries)[number] | undefined;
    let deepestNode = 0;
    for (const entry of entries) {
      const common = commonPrefixLength(entry.words, target);
      if (
        entry.record !== undefined && common >= entry.prefix && entry.prefix >= (best?.prefix ?? 0)
      ) {
        best = entry;
      }
      deepestNode = Math.max(deepestNode, Math.min(common, entry.prefix - 1));
    }
    return { record: best?.record ?? null, prefix: deepestNode + 1 };
  };
  const cases: Case[] = [];
  nets.filter((_, i) => i % 3 === 0).forEach(({ address, prefix, ipv4 }, i) => {
    const last = address | ((1n << BigInt(width - prefix)) - 1n);
    for (const probe of [address, last, address - 1n, last + 1n]) {
      const v4Offset = width - 32;
      if (probe < 0n || probe >= 2n ** BigInt(ipv4 ? 32 : width)) continue;
      const { record, prefix } = lookup(probe);
      if (!ipv4) {
        cases.push({ ip: formatAddress(probe, false), record, prefix });
        continue;
      }
      cases.push({ ip: formatAddress(probe, true), record, prefix: prefix - v4Offset });
      if (ipVersion === 6 && i % 2 === 0) {
        cases.push({ ip: `::ffff:${formatAddress(probe, true)}`, record, prefix });
      }
    }
  });
  return cases;
}

Deno.test("buildMmdb() builds databases of thousands of networks that readers agree on", async (t) => {
  for (const ipVersion of [4, 6] as const) {
    const nets = generateNetworks(ipVersion, 3000);
    const cases = expectedCases(ipVersion, nets);
    const networks = nets.map(({ network, record }) => ({ network, record }));
    for (const recordSize of RECORD_SIZES) {
      await t.step(`IPv${ipVersion}, record size ${recordSize}`, async (t) => {
        const db = buildMmdb({ ipVersion, recordSize, ...OPTIONS }, networks);
        const reader = checkWithMaxmind(db, cases);
        // Node numbers use two bytes of a record, and all three of a 24-bit one in IPv6.
        assert.ok(reader.metadata.nodeCount > (ipVersion === 6 ? 2 ** 16 : 2 ** 8));
        await checkWithPython(t, db, cases);
      });
    }
  }
});

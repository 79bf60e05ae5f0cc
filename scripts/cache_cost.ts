#!/usr/bin/env -S deno run --allow-all
/**
 * What an answer cache entry really costs: fills a responder's caches from a real
 * database with random lookups, one reply format at a time, and compares what the caches
 * were charged ({@linkcode entryCost}) with how much the V8 heap (`heapUsed`), the memory
 * outside it (`external`: typed arrays' bytes) and the process (`VmRSS`) grew, after a
 * full garbage collection each side. With a small `--budget-mb` the caches are full and
 * evicting: what they hold then, with their maps' deleted slots, is what counts.
 *
 * ```sh
 * deno run --allow-all scripts/cache_cost.ts [--lookups 200000] [--budget-mb 1024] [--db FILE]
 * ```
 *
 * @module
 */

import { scriptArgs } from "../tooling/mod.ts";
import { bundledDatabasePath, collectGarbage, GeoDatabase } from "../lib/database/mod.ts";
import { GeoipResponder } from "../lib/lookup/mod.ts";
import { DEFAULT_LIMITS } from "../lib/protocol/mod.ts";
import { mulberry32 } from "./bench/mod.ts";

const encoder = new TextEncoder();

/** @returns heap, external and resident bytes, after a full collection */
function measure(): { heap: number; external: number; rss: number } {
  collectGarbage();
  collectGarbage();
  const usage = Deno.memoryUsage();
  return { heap: usage.heapUsed, external: usage.external, rss: usage.rss };
}

async function main(): Promise<void> {
  const { values } = scriptArgs("cache_cost", {
    args: Deno.args,
    options: {
      lookups: { type: "string", default: "200000" },
      "budget-mb": { type: "string", default: "1024" },
      db: { type: "string" },
    },
  });
  const lookups = Number(values.lookups);
  const database = await GeoDatabase.open(values.db ?? bundledDatabasePath());
  const server = { version: "0", libzmqVersion: "0", startedAt: 0 };
  const formats = [
    { verb: "get", fields: " city.names.en,location.latitude,location.longitude" },
    { verb: "geoip", fields: "" },
    { verb: "json", fields: "" },
  ];
  console.log("format  entries   charged/entry  heap+external/entry  rss/entry  charged/real");
  for (const format of formats) {
    const next = mulberry32(1);
    let responder: GeoipResponder | undefined = new GeoipResponder(database, {
      limits: DEFAULT_LIMITS,
      server,
      cache: { maxBytes: Number(values["budget-mb"]) * 1024 * 1024 },
    });
    responder.respond(encoder.encode("ping"));
    const before = measure();
    for (let i = 0; i < lookups; i++) {
      const value = next();
      const address = `${value >>> 24 || 1}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${
        value & 255
      }`;
      responder.respond(encoder.encode(`${format.verb}${format.fields} ${address}`));
    }
    const after = measure();
    const info = JSON.parse(responder.respond(encoder.encode("info")));
    const stats = info.cache[format.verb] as { entries: number; bytes: number };
    const real = after.heap + after.external - before.heap - before.external;
    console.log(
      [
        format.verb.padEnd(6),
        String(stats.entries).padStart(7),
        (stats.bytes / stats.entries).toFixed(0).padStart(15),
        (real / stats.entries).toFixed(0).padStart(20),
        ((after.rss - before.rss) / stats.entries).toFixed(0).padStart(10),
        (stats.bytes / real).toFixed(2).padStart(13),
      ].join("  "),
    );
    responder = undefined;
  }
}

if (import.meta.main) await main();

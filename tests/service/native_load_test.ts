/**
 * The bench's native load generator (`scripts/baselines/c_load/geoip_load.c`): built with `cc` as the
 * bench builds it, its traffic shapes as it prints them, and short runs against a real
 * geoipmq on a small database. Skips loudly without a C compiler and libzmq's headers
 * (`apt-get install build-essential libzmq3-dev`), fails then under GEOIPMQ_REQUIRE_TOOLS=1.
 */

import assert from "node:assert/strict";
import { isIP } from "node:net";
import { buildLoadGenerator, runCommand, runLoad, shapeAddresses } from "../../tooling/mod.ts";
import { cityFixture, writeTempFile } from "../support/fixtures.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { skipForMissingTool } from "../support/required_tool.ts";
import { freeLoopbackPort } from "../support/live_service.ts";

const directory = await Deno.makeTempDir({ prefix: "geoipmq-load-test-" });
const build = await buildLoadGenerator(directory);
const binary = "binary" in build ? build.binary : null;
const ignore = binary === null &&
  skipForMissingTool(
    `the load generator's toolchain (${"problem" in build ? build.problem : ""}; ` +
      "apt-get install build-essential libzmq3-dev)",
  );

function frequencies(addresses: string[]): number[] {
  const counts = new Map<string, number>();
  for (const a of addresses) counts.set(a, (counts.get(a) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a);
}

Deno.test({
  name:
    "geoip_load prints its traffic shapes: uniform never repeats, Zipf is skewed, a pool cycles",
  ignore,
  async fn() {
    const uniform = await shapeAddresses(binary!, { shape: "uniform", seed: 7 }, 50_000);
    assert.equal(uniform.length, 50_000);
    assert.equal(new Set(uniform).size, 50_000, "no address repeats");
    assert.ok(uniform.every((a) => isIP(a) === 4), uniform.find((a) => isIP(a) !== 4));
    const later = await shapeAddresses(
      binary!,
      { shape: "uniform", seed: 7, offset: 2 ** 25 },
      1000,
    );
    assert.ok(later.every((a) => !uniform.includes(a)), "another offset gives other addresses");

    // Zipf, s = 1, over 1000 addresses: rank 1 is asked with p = 1 / H(1000) = 13.4%.
    const zipf = await shapeAddresses(binary!, { shape: "zipf", seed: 7, universe: 1000 }, 20_000);
    const counts = frequencies(zipf);
    assert.ok(counts[0]! / 20_000 > 0.11 && counts[0]! / 20_000 < 0.16, `top share ${counts[0]}`);
    assert.ok(counts[0]! > 1.6 * counts[1]! && counts.length <= 1000, String(counts.slice(0, 3)));

    const file = await writeTempFile(
      new TextEncoder().encode("1.2.3.4\n5.6.7.8\n\n9.9.9.9\n"),
      ".txt",
    );
    try {
      const pool = await shapeAddresses(binary!, { shape: "pool", seed: 1, file }, 7);
      assert.deepEqual(pool, [
        "1.2.3.4",
        "5.6.7.8",
        "9.9.9.9",
        "1.2.3.4",
        "5.6.7.8",
        "9.9.9.9",
        "1.2.3.4",
      ]);
    } finally {
      await Deno.remove(file);
    }
    const v6 = await shapeAddresses(binary!, { shape: "v6", seed: 1 }, 1000);
    assert.ok(v6.every((a) => isIP(a) === 6), v6.find((a) => isIP(a) !== 6));
    assert.equal(new Set(v6).size, 1000);
    const same = await shapeAddresses(binary!, { shape: "same", seed: 1, address: "::1" }, 3);
    assert.deepEqual(same, ["::1", "::1", "::1"]);
  },
});

Deno.test({
  name: "geoip_load measures a real geoipmq in lock-step, pipelined and in batches, with its CPU",
  ignore,
  async fn() {
    const database = await writeTempFile(cityFixture());
    await using service = await startOnDatabase(database, { workers: 1 });
    try {
      const common = { endpoint: service.endpoint, seed: 1, warmupSeconds: 0.2, seconds: 0.5 };
      const lockstep = await runLoad(binary!, {
        ...common,
        ...{ socket: "req", clients: 3, inFlight: 1, batch: 1, shape: "uniform" },
        serverPid: service.pid,
      });
      assert.ok(lockstep.replies > 50, JSON.stringify(lockstep));
      assert.equal(lockstep.errors, 0, lockstep.errorExample);
      assert.equal(lockstep.timeouts, 0);
      assert.ok(lockstep.p50Us > 0 && lockstep.p99Us >= lockstep.p50Us, JSON.stringify(lockstep));
      assert.ok(lockstep.serverCpuSeconds !== null && lockstep.serverCpuSeconds >= 0);

      const pipelined = await runLoad(binary!, {
        ...common,
        ...{ socket: "dealer", clients: 2, inFlight: 8, batch: 10, shape: "same" },
        address: "81.2.69.160",
      });
      assert.ok(pipelined.replies > 10, JSON.stringify(pipelined));
      assert.equal(pipelined.lookups, pipelined.replies * 10);
      assert.equal(pipelined.errors, 0, pipelined.errorExample);
      assert.equal(pipelined.notFound, 0, "81.2.69.160 is London in the fixture");
      assert.equal(pipelined.serverCpuSeconds, null, "no pid given, no server CPU");

      const bad = await runLoad(binary!, {
        ...common,
        ...{ socket: "req", clients: 1, inFlight: 1, batch: 1, shape: "same" },
        address: "300.1.2.3",
      });
      assert.ok(bad.errors > 0, "an ERROR reply counts as an error");
      assert.match(bad.errorExample, /^error reply: ERROR/);
    } finally {
      await Deno.remove(database);
    }
  },
});

Deno.test({
  name: "geoip_load counts timeouts against a silent endpoint and ends within its deadline",
  ignore,
  async fn() {
    const started = performance.now();
    const run = await runLoad(binary!, {
      endpoint: `tcp://127.0.0.1:${freeLoopbackPort()}`,
      ...{ socket: "dealer", clients: 1, inFlight: 4, batch: 1, shape: "uniform", seed: 1 },
      ...{ warmupSeconds: 0, seconds: 0.3, timeoutMs: 200 },
    });
    assert.equal(run.replies, 0);
    assert.ok(run.timeouts >= 4, JSON.stringify(run));
    assert.ok(performance.now() - started < 5000, "bounded by --seconds and --timeout-ms");
  },
});

Deno.test({
  name: "geoip_load rejects a bad argument with a one-line reason and exit status 2",
  ignore,
  async fn() {
    for (
      const args of [["--print", "3", "--shape", "gauss"], [
        "--endpoint",
        "tcp://x:1",
        "--clients",
        "0",
      ], [
        "--print",
      ]]
    ) {
      const result = await runCommand(binary!, args);
      assert.equal(result?.code, 2, args.join(" "));
      assert.match(result!.stderr, /^geoip_load: .+\nusage: /, args.join(" "));
    }
  },
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(directory, { recursive: true });
});

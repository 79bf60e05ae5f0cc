import assert from "node:assert/strict";
import { cityFixture, writeTempFile } from "../support/fixtures.ts";
import { skipForMissingTool } from "../support/required_tool.ts";

const BENCH = new URL("../../scripts/bench.ts", import.meta.url).pathname;

interface Comparison {
  shape: string;
  load: string;
  measure: string;
  peer: string;
  geoipmq: { median: number; runs: number };
  nocache: { median: number; runs: number };
  peerValue: { median: number; runs: number };
  ratio: number;
}

async function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", BENCH, ...args],
    stdin: "null",
    signal: AbortSignal.timeout(150_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("deno task bench --help names every flag", async () => {
  const help = await runBench(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  for (
    const flag of [
      "--seconds",
      "--warmup",
      "--runs",
      "--db",
      "--servers",
      "--addresses",
      "--seed",
      "--json",
      "--help",
      "--quick",
      "--shapes",
      "--loads",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), `usage mentions ${flag}`);
  }
  const bad = await runBench(["--servers", "geoipmq,Rust"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown server "Rust"/);
  const shape = await runBench(["--shapes", "uniform,gauss"]);
  assert.equal(shape.code, 2);
  assert.match(shape.stderr, /unknown shape "gauss"/);
});

Deno.test("deno task bench --quick on a small database prints a table per shape, compares with C and Go and exits 0", async () => {
  const database = await writeTempFile(cityFixture());
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const result = await runBench([
      ...["--quick", "--db", database, "--seconds", "0.3", "--warmup", "0"],
      ...["--shapes", "uniform,zipf,same", "--json", json],
    ]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^machine: .+\d+ CPUs \(lscpu: /m);
    assert.match(result.stdout, /^shape uniform: uniform random IPv4 .+never repeated$/m);
    assert.match(result.stdout, /^shape zipf: /m);
    assert.match(result.stdout, /^shape same: /m);
    assert.match(result.stdout, /^load\s+measure\s+peer\s+geoipmq\s+spread\s+no cache/m);
    assert.match(result.stdout, /^errors:\s+0 error replies/m);

    const report = JSON.parse(await Deno.readTextFile(json));
    const comparisons = report.comparisons as Comparison[];
    const row = (shape: string, load: string, measure: string) =>
      comparisons.find((c) => c.shape === shape && c.load === load && c.measure === measure)!;
    for (const shape of ["uniform", "zipf", "same"]) {
      assert.ok(row(shape, "lockstep", "req/s").geoipmq.median > 0, `geoipmq ran ${shape}`);
      assert.ok(row(shape, "pipelined", "server CPU us/reply").geoipmq.median > 0);
    }
    assert.ok(row("uniform", "batch", "addresses/s").nocache.median > 0, "the no-cache rows ran");
    const problems = report.problems as { server: string; problem: string }[];
    const problem = (server: string) => problems.find((p) => p.server === server);

    if (problem("C") !== undefined || problem("load generator") !== undefined) {
      skipForMissingTool(
        `the C toolchain (${(problem("C") ?? problem("load generator"))!.problem})`,
      );
    } else {
      assert.ok(row("uniform", "lockstep", "req/s").peerValue.median > 0, "the C loop ran");
      assert.ok(Number.isFinite(row("same", "pipelined", "req/s").ratio));
      const checks = report.checks as {
        shape: string;
        compared: number;
        differ: Record<string, number>;
      }[];
      for (const check of checks) {
        assert.ok(check.compared > 0, `${check.shape}: answers were compared with the C loop`);
        assert.deepEqual(check.differ, { geoipmq: 0, nocache: 0 }, check.shape);
      }
    }

    if (problem("Go") !== undefined || problem("HTTP") !== undefined) {
      skipForMissingTool(
        `the Go peer or wrk (${(problem("Go") ?? problem("HTTP"))!.problem}; ` +
          "apt-get install golang-go golang-github-oschwald-geoip2-golang-dev wrk)",
      );
    } else {
      const http = row("uniform", "http", "req/s");
      assert.ok(http.geoipmq.median > 0 && http.peerValue.median > 0, JSON.stringify(http));
      assert.ok(row("zipf", "http", "p99 ms").peerValue.median > 0);
      assert.match(result.stdout, /^HTTP \/json, wrk 50 conns\s+req\/s\s+Go\s+[\d,]+/m);
    }
  } finally {
    await Deno.remove(database).catch(() => {});
    await Deno.remove(json).catch(() => {});
  }
});

import assert from "node:assert/strict";
import { cityFixture, writeTempFile } from "../support/fixtures.ts";
import { skipForMissingTool } from "../support/required_tool.ts";

const BENCH = new URL("../../scripts/bench.ts", import.meta.url).pathname;

interface Comparison {
  measure: string;
  peer: string;
  geoipmq: { median: number; runs: number };
  peerValue: { median: number; runs: number };
  ratio: number;
}

async function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", BENCH, ...args],
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
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
    ]
  ) {
    assert.ok(help.stdout.includes(flag), `usage mentions ${flag}`);
  }
  const bad = await runBench(["--servers", "geoipmq,Rust"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown server "Rust"/);
});

Deno.test("deno task bench in a tiny mode prints its table, compares with the peers and exits 0", async () => {
  const database = await writeTempFile(cityFixture());
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const result = await runBench([
      ...["--db", database, "--seconds", "0.3", "--warmup", "0", "--runs", "1"],
      ...["--addresses", "200", "--servers", "geoipmq,C,Go", "--json", json],
      ...["--several-networks", "2000"],
    ]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^face\s+measure\s+peer\s+geoipmq\s+spread\s+peer/m);
    assert.match(result.stdout, /^ZeroMQ\s+lock-step req\/s \(20 REQ\)\s+C\s+[\d,]+/m);
    assert.match(result.stdout, /^machine: .+\d+ cores \(nproc\), Linux /m);
    assert.match(result.stdout, /^errors: 0, /m);
    assert.match(result.stdout, /^several databases: City alone against City \+ a synthetic/m);
    assert.match(result.stdout, /^json\s+[\d,]+\s+[\d,]+\s+[\d.]+x\s+>= 0\.80x/m);
    assert.match(result.stdout, /^geoip\s+[\d,]+\s+[\d,]+\s+[\d.]+x\s+>= 0\.95x/m);
    assert.match(result.stdout, /^memory:\s+VmRSS after json of every address: City alone/m);

    const report = JSON.parse(await Deno.readTextFile(json));
    const comparisons = report.comparisons as Comparison[];
    const row = (measure: string) => comparisons.find((c) => c.measure.startsWith(measure))!;
    for (const measure of ["lock-step req/s", "lock-step server CPU", "pipelined req/s"]) {
      assert.ok(row(measure).geoipmq.median > 0, `geoipmq has a ${measure}`);
    }
    const problems = report.problems as { server: string; problem: string }[];
    const problem = (server: string) => problems.find((p) => p.server === server);

    if (problem("C") !== undefined) {
      skipForMissingTool(`the C loop's toolchain (${problem("C")!.problem})`);
    } else {
      assert.ok(row("lock-step req/s").peerValue.median > 0, "the C loop was measured");
      assert.ok(Number.isFinite(row("pipelined req/s").ratio));
      assert.ok(report.checks.checked > 0, "replies were compared with the C loop");
    }

    if (problem("Go") !== undefined) {
      skipForMissingTool(
        `the Go peer or wrk (${problem("Go")!.problem}; ` +
          "apt-get install golang-go golang-github-oschwald-geoip2-golang-dev wrk)",
      );
    } else {
      const http = row("GET /json/<ip> req/s");
      assert.ok(http.geoipmq.median > 0 && http.peerValue.median > 0, JSON.stringify(http));
      assert.ok(row("p99 latency ms").peerValue.median > 0);
      assert.equal(report.httpCheck.differ, 0, report.httpCheck.example);
      assert.match(result.stdout, /^HTTP\s+GET \/json\/<ip> req\/s .+\s+Go\s+[\d,]+/m);
    }
  } finally {
    await Deno.remove(database).catch(() => {});
    await Deno.remove(json).catch(() => {});
  }
});

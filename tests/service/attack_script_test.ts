/**
 * The attack bench (`scripts/attack.ts`) as a user runs it: its flags, and two short
 * runs whose rows must show a service that kept answering and stopped cleanly.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CommandOutput, commandOutput } from "../../tooling/mod.ts";

const SCRIPT = new URL("../../scripts/attack.ts", import.meta.url).pathname;

function runAttack(args: string[]): Promise<CommandOutput> {
  return commandOutput(Deno.execPath(), { args: ["run", "--allow-all", SCRIPT, ...args] });
}

Deno.test("scripts/attack.ts lists its attacks and refuses bad flags", async (t) => {
  await t.step("--help names every attack", async () => {
    const { code, stdout } = await runAttack(["--help"]);
    assert.equal(code, 0);
    const names = [
      "zmtp-endless-multipart",
      "db-fifo-reload",
      "curve-handshake-flood",
      "http-chunked-unfinished",
      "rate-limit-reused-connection",
      "zmq-big-replies-reader",
      "get-distinct-field-lists",
    ];
    for (const name of names) {
      assert.ok(stdout.includes(name), `--help does not name ${name}`);
    }
  });
  await t.step("an unknown attack", async () => {
    const { code, stderr } = await runAttack(["--only", "teardrop"]);
    assert.equal(code, 2);
    assert.match(stderr, /unknown attack "teardrop"/);
  });
  await t.step("--chunked-connections out of range", async () => {
    const { code, stderr } = await runAttack(["--chunked-connections", "0"]);
    assert.equal(code, 2);
    assert.match(stderr, /--chunked-connections "0"/);
  });
  await t.step("--never-read-clients out of range", async () => {
    const { code, stderr } = await runAttack(["--never-read-clients", "201"]);
    assert.equal(code, 2);
    assert.match(stderr, /--never-read-clients "201" must be a whole number from 1 to 200/);
  });
  await t.step("--seconds out of range", async () => {
    const { code, stderr } = await runAttack(["--seconds", "600"]);
    assert.equal(code, 2);
    assert.match(stderr, /--seconds "600"/);
  });
});

/** @returns the table's rows by attack name, and the index of a column by its title */
function parseTable(stdout: string) {
  const rows = new Map(
    stdout.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| ---"))
      .map((line) => line.split(" | ").map((cell) => cell.replace(/^\| | \|$/g, "")))
      .map((cells) => [cells[0]!, cells] as const),
  );
  const header = rows.get("attack");
  assert.ok(header !== undefined, `no table in:\n${stdout}`);
  const column = (name: string) => header.indexOf(name);
  return { rows, column };
}

/** @returns the share of the well-behaved requests answered within 2 s, in % */
function answeredShare(cell: string): number {
  return Number(/^([\d.]+)% of [1-9]/.exec(cell)?.[1] ?? NaN);
}

/** @returns the growth of resident memory from "before" to "peak", in MB */
function rssGrowth(before: string, peak: string): number {
  return Number.parseFloat(peak) - Number.parseFloat(before);
}

Deno.test("scripts/attack.ts measures a baseline and a FIFO reload the service survives", async () => {
  const { code, stdout, stderr } = await runAttack([
    "--seconds",
    "2",
    "--only",
    "baseline,db-fifo-reload",
  ]);
  assert.equal(code, 0, stderr);
  const { rows, column } = parseTable(stdout);
  for (const attack of ["baseline", "db-fifo-reload"]) {
    const row = rows.get(attack);
    assert.ok(row !== undefined, `no row for ${attack} in:\n${stdout}`);
    assert.equal(row[column("alive after")], "yes", `${attack}: ${row.join(" | ")}`);
    assert.match(row[column("SIGTERM")]!, /^exit 0 in /, `${attack}: ${row.join(" | ")}`);
    assert.match(row[column("answered ≤ 2 s")]!, /^100\.0% of [1-9]/);
  }
  assert.match(
    rows.get("db-fifo-reload")![column("notes")]!,
    /reload failed, still serving the old database: .*not a regular file \(a FIFO\)/,
  );
});

Deno.test("the ZeroMQ attacks, scaled down, leave memory bounded and the service answering", async () => {
  const attacks = ["zmtp-endless-multipart", "json-batches-never-read", "curve-handshake-flood"];
  // 5 s each: the budget looks at every connection each second, and a loaded machine (the
  // suite runs in parallel) can hold the front end back for a while.
  const { code, stdout, stderr } = await runAttack([
    "--seconds",
    "5",
    "--only",
    attacks.join(","),
  ]);
  assert.equal(code, 0, stderr);
  const { rows, column } = parseTable(stdout);
  for (const attack of attacks) {
    const row = rows.get(attack);
    assert.ok(row !== undefined, `no row for ${attack} in:\n${stdout}`);
    const text = `${attack}: ${row.join(" | ")}`;
    assert.equal(row[column("alive after")], "yes", text);
    assert.match(row[column("SIGTERM")]!, /^exit 0 in /, text);
    assert.equal(row[column("capped")], "no", text);
    assert.ok(answeredShare(row[column("answered ≤ 2 s")]!) >= 95, text);
    assert.ok(rssGrowth(row[column("RSS before")]!, row[column("peak")]!) <= 256, text);
  }
  // The endless message's connection was cut and its memory handed back (whether the
  // attacker saw its connection end before its time was up depends on the machine's load).
  const endless = rows.get("zmtp-endless-multipart")!;
  assert.ok(
    rssGrowth(endless[column("RSS before")]!, endless[column("after")]!) <= 64,
    `zmtp-endless-multipart: ${endless.join(" | ")}`,
  );
});

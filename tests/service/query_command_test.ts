import assert from "node:assert/strict";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { CurveFiles } from "../support/curve_files.ts";
import { SERVICE_PERMISSIONS, startService } from "../support/service_process.ts";
import { Libzmq } from "../../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../../lib/zmq/mod.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** A query that has not exited by then is killed, and the test fails on its exit code. */
const QUERY_LIMIT_MS = 30_000;

/** Runs `geoipmq query`, feeding stdin; reports the exit code, the output and the time. */
async function query(args: string[], stdin = "", env: Record<string, string> = {}) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVICE_PERMISSIONS, MAIN, "query", ...args],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(QUERY_LIMIT_MS),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  const stderr = decoder.decode(output.stderr);
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr,
    /** The lines geoipmq itself wrote (Deno may add its own notices). */
    lines: stderr.split("\n").filter((line) => line.startsWith("geoipmq:")),
    elapsedMs: performance.now() - started,
  };
}

/** An endpoint where nothing listens: a port just taken and given back. */
function deadEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const endpoint = `tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  return endpoint;
}

Deno.test("geoipmq query prints answers for addresses, from arguments and stdin", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startService(["--db", path, "--bind", "tcp://127.0.0.1:*"]);
    const endpoint = ["--endpoint", service.endpoint];
    const args = await query([...endpoint, "81.2.69.160", "8.8.8.8", "bogus"]);
    assert.equal(args.code, 0, args.stderr);
    assert.deepEqual(args.stdout.trimEnd().split("\n"), [
      `81.2.69.160\t${LONDON_TSV}`,
      "8.8.8.8\tNOT_FOUND",
      'bogus\tERROR\tinvalid IP address "bogus"',
    ]);

    // 250 addresses from stdin, in batches of 100: one line each, in order.
    const ips = Array.from({ length: 250 }, (_, i) => i % 2 ? "81.2.69.160" : "2001:db8::1");
    const piped = await query([...endpoint, "--batch", "100"], ips.join("\n") + "\n\n");
    assert.equal(piped.code, 0, piped.stderr);
    const lines = piped.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 250);
    lines.forEach((line, i) => assert.ok(line.startsWith(`${ips[i]}\t`), line));

    const json = await query([...endpoint, "--json", "81.2.69.160", "8.8.8.8"]);
    assert.equal(json.code, 0, json.stderr);
    const answers = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(answers[0].network, "81.2.69.160/27");
    assert.equal(answers[1].record, null);

    const info = await query([...endpoint, "--info"]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).database_type, "GeoIP2-City");
  });
});

Deno.test("geoipmq query exits 1 with one line once its attempts have timed out", async () => {
  const dead = deadEndpoint();
  const result = await query([
    "--endpoint",
    dead,
    "--timeout-ms",
    "300",
    "--attempts",
    "2",
    "8.8.8.8",
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(result.lines, [
    `geoipmq: query: No reply from ${dead} after 2 attempts of 300 ms`,
  ]);
  assert.equal(result.stdout, "");
  // Two attempts of 300 ms, plus the start of a Deno process: well under the limit.
  assert.ok(result.elapsedMs >= 600, `gave up after ${result.elapsedMs} ms`);
  assert.ok(result.elapsedMs < 10_000, `gave up after ${result.elapsedMs} ms`);
});

Deno.test("geoipmq query exits 2 at once for a bad flag or an endpoint without a scheme", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "an endpoint without a scheme",
      ["--endpoint", "127.0.0.1:5555", "8.8.8.8"],
      /^geoipmq: query: --endpoint "127\.0\.0\.1:5555" is not an endpoint like tcp:\/\/127\.0\.0\.1:5555 or ipc:\/\/\/path$/,
    ],
    [
      "a bad timeout",
      ["--timeout-ms", "soon", "8.8.8.8"],
      /^geoipmq: query: --timeout-ms must be a whole number, got "soon"$/,
    ],
    [
      "an unknown flag",
      ["--frobnicate"],
      /^geoipmq: query: unknown option --frobnicate \(see --help\)$/,
    ],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      const result = await query(args);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.lines.length, 1, result.stderr);
      assert.match(result.lines[0]!, pattern);
      assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
      assert.ok(result.elapsedMs < 10_000, `exited after ${result.elapsedMs} ms`);
    });
  }
});

Deno.test("geoipmq query exits 1 at once when libzmq cannot connect to an endpoint", async () => {
  // Passes the form check, but libzmq refuses to connect to a wildcard port: the client
  // must still close its context and exit (it used to hang in zmq_ctx_term).
  const result = await query(["--endpoint", "tcp://127.0.0.1:*", "8.8.8.8"]);
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(result.lines, [
    'geoipmq: query: connect "tcp://127.0.0.1:*" failed: Invalid argument (errno 22)',
  ]);
});

Deno.test("geoipmq query asks a CURVE service with key files in the form keygen writes", async (t) => {
  const lib = Libzmq.open(bundledLibzmqPath());
  const client = lib.curveKeypair();
  await using files = await CurveFiles.create(lib, [client.publicKey]);
  await files.write("server.pub", `${files.serverKey}\n`, 0o644);
  await files.write("client.key", `${client.secretKey}\n`, 0o600);
  await files.write("open.key", `${client.secretKey}\n`, 0o644);
  await using service = await startService([
    "--db",
    files.database,
    "--bind",
    "tcp://127.0.0.1:*",
    "--workers",
    "1",
    ...files.flags,
  ], { probe: { curve: { ...client, serverKey: files.serverKey } } });
  const endpoint = ["--endpoint", service.endpoint];
  // Relative key paths, taken from INIT_CWD as when typed in that directory.
  const fromKeys = { INIT_CWD: files.directory };
  const keys = ["--curve-server-key-file", "server.pub", "--curve-secret-key-file", "client.key"];
  await t.step("with the keys: answered", async () => {
    const result = await query([...endpoint, ...keys, "81.2.69.160"], "", fromKeys);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `81.2.69.160\t${LONDON_TSV}\n`);
  });
  await t.step("without keys: no reply, exit 1", async () => {
    const result = await query([...endpoint, "--timeout-ms", "300", "--attempts", "1", "ping"]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.lines.at(-1) ?? "", /^geoipmq: query: No reply from /);
  });
  await t.step("a secret key file others can read: exit 1 with one line", async () => {
    const args = ["--curve-server-key-file", "server.pub", "--curve-secret-key-file", "open.key"];
    const result = await query([...endpoint, ...args, "81.2.69.160"], "", fromKeys);
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(result.lines, [
      `geoipmq: query: Cannot read secret key "${files.directory}/open.key": world-readable ` +
      "(mode 0644); chmod 600 it",
    ]);
  });
  await t.step("a missing server key file: exit 1 with one line", async () => {
    const args = ["--curve-server-key-file", "nope.pub", "--curve-secret-key-file", "client.key"];
    const result = await query([...endpoint, ...args, "81.2.69.160"], "", fromKeys);
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(result.lines, [
      `geoipmq: query: Cannot read public key "${files.directory}/nope.pub": no such file`,
    ]);
  });
});

Deno.test("geoipmq query --db answers from database files as a service on them does", async (t) => {
  const fixtures = new URL("../fixtures/maxmind/", import.meta.url).pathname;
  const databases = ["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"].map((f) => fixtures + f);
  const dbFlags = databases.flatMap((path) => ["--db", path]);
  const fields = "city.name,country.iso_code,traits.autonomous_system_number," +
    "traits.autonomous_system_organization";
  const ips = ["89.160.20.112", "81.2.69.160", "1.128.0.1", "10.0.0.1", "2001:218::1"];
  await using service = await startService([...dbFlags, "--lang", "de,en"]);
  await using client = new TestClient();
  const socket = client.socket(SocketType.REQ, service.endpoint);
  await t.step("--fields is the get verb", async () => {
    const local = await query([...dbFlags, "--lang", "de,en", "--fields", fields, ...ips]);
    assert.equal(local.code, 0, local.stderr);
    const served = askOn(socket, `get ${fields} ${ips.join(" ")}`).split("\n");
    assert.equal(local.stdout, ips.map((ip, i) => `${ip}\t${served[i]}\n`).join(""));
    assert.match(local.stdout, /^89\.160\.20\.112\tLinköping\tSE\t29518\tBredband2 AB$/m);
  });
  await t.step("--json is the json verb, traits merged", async () => {
    const local = await query([...dbFlags, "--json", ...ips]);
    assert.equal(local.code, 0, local.stderr);
    const served = JSON.parse(askOn(socket, `json ${ips.join(" ")}`)) as unknown[];
    assert.equal(local.stdout, served.map((one) => JSON.stringify(one) + "\n").join(""));
  });
  await t.step("the default is the geoip line, the city in the first --lang", async () => {
    const local = await query([...dbFlags, "--lang", "de,en", ...ips]);
    const served = askOn(socket, `geoip ${ips.join(" ")}`).split("\n");
    assert.equal(local.stdout, ips.map((ip, i) => `${ip}\t${served[i]}\n`).join(""));
  });
  await t.step("--db with --endpoint, or a bad --fields, is a usage error", async () => {
    const both = await query([...dbFlags, "--endpoint", service.endpoint, "1.1.1.1"]);
    assert.equal(both.code, 2);
    assert.deepEqual(both.lines, [
      "geoipmq: query: --db answers from files, --endpoint asks a service: give one of them",
    ]);
    const bad = await query([...dbFlags, "--fields", "town.name", "1.1.1.1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.lines[0] ?? "", /^geoipmq: query: --fields: unknown field "town\.name"/);
  });
  await t.step("a database that cannot be opened is one line and exit 1", async () => {
    const missing = await query(["--db", "/nonexistent.mmdb", "1.1.1.1"]);
    assert.equal(missing.code, 1);
    assert.deepEqual(missing.lines, [
      'geoipmq: query: Cannot open database "/nonexistent.mmdb": no such file',
    ]);
  });
});

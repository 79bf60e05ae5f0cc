import assert from "node:assert/strict";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { SERVICE_PERMISSIONS, startService } from "../support/service_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function query(args: string[], stdin = "") {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVICE_PERMISSIONS, MAIN, "query", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
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

Deno.test("geoipmq query exits 1 when the service cannot be reached, 2 for a bad flag", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const unreachable = await query([
    "--endpoint",
    dead,
    "--timeout-ms",
    "200",
    "--attempts",
    "2",
    "8.8.8.8",
  ]);
  assert.equal(unreachable.code, 1);
  assert.equal(
    unreachable.stderr.trim(),
    `geoipmq query: No reply from ${dead} after 2 attempts of 200 ms`,
  );
  const bad = await query(["--timeout-ms", "soon", "8.8.8.8"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^geoipmq query: --timeout-ms must be a whole number above 0/);
  const unknown = await query(["--frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^geoipmq query: Unknown option '--frobnicate'/);
});

import { NODE_CLIENT_MODULE } from "../../lib/client/mod.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { cityFixture, writeTempFile } from "../support/fixtures.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import { startService } from "../support/service_process.ts";

const CLIENT = NODE_CLIENT_MODULE.pathname;

/** A Node script that exercises the client against the endpoints it is given. */
const SCRIPT = `
import { GeoipClient, GeoipClientError } from "./node_client.mjs";
const [alive, dead] = process.argv.slice(2);
const client = new GeoipClient({ endpoints: [alive], timeoutMs: 500, attempts: 3, batchSize: 2 });
const out = {};
out.one = await client.lookup("81.2.69.160");
out.none = await client.lookup("8.8.8.8");
out.many = (await client.lookupMany(["81.2.69.160", "x", "2001:db8::1"]))
  .map((a) => a instanceof GeoipClientError ? a.message : a);
out.record = await client.record("81.2.69.170");
out.info = (await client.info()).database_type;
client.close();
const deadClient = new GeoipClient({ endpoints: [dead], timeoutMs: 200, attempts: 2 });
try {
  await deadClient.lookup("81.2.69.160");
} catch (error) {
  out.dead = error.message;
}
deadClient.close();
console.log(JSON.stringify(out));
`;

Deno.test("the Node client looks up addresses under Node with npm:zeromq, and gives up on a dead endpoint", async () => {
  if (!await commandWorks("node", ["--version"]) || !await commandWorks("npm", ["--version"])) {
    if (skipForMissingTool("node and npm")) return;
  }
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-node-client-" });
  const path = await writeTempFile(cityFixture());
  try {
    await Deno.writeTextFile(join(directory, "package.json"), '{"type":"module","private":true}');
    const install = await new Deno.Command("npm", {
      args: ["install", "--no-audit", "--no-fund", "--ignore-scripts", "zeromq@6.8.0"],
      cwd: directory,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(install.success, new TextDecoder().decode(install.stderr));
    await Deno.copyFile(CLIENT, join(directory, "node_client.mjs"));
    await Deno.writeTextFile(join(directory, "check.mjs"), SCRIPT);

    await using service = await startService(["--db", path, "--bind", "tcp://127.0.0.1:*"]);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const dead = `tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    listener.close();
    const run = await new Deno.Command("node", {
      args: ["check.mjs", service.endpoint, dead],
      cwd: directory,
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    const out = JSON.parse(new TextDecoder().decode(run.stdout));
    assert.equal(out.one.city, "London");
    assert.equal(out.one.metroCode, 501);
    assert.equal(out.none, null);
    assert.equal(out.many[0].countryCode, "GB");
    assert.equal(out.many[1], 'geoipmq: invalid IP address "x"');
    assert.equal(out.many[2].city, "Sixville");
    assert.equal(out.record.network, "81.2.69.160/27");
    assert.equal(out.info, "GeoIP2-City");
    assert.equal(out.dead, `No reply from ${dead} after 2 attempts of 200 ms`);
  } finally {
    await Deno.remove(directory, { recursive: true });
    await Deno.remove(path);
  }
});

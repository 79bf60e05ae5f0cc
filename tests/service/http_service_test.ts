/**
 * The HTTP front of the real service process (`--http`): the lookup routes, the health
 * check, errors, and Prometheus metrics that count what really happened over ZeroMQ.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DURATION_BUCKETS_MICROS } from "../../lib/metrics/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import {
  freeLoopbackPort,
  letteredDatabase,
  letteredTsv,
  linesMatching,
  metricValue,
  replaceAtomically,
  sleep,
  waitForNewLine,
} from "../support/live_service.ts";
import { type ServiceProcess, startOnDatabase } from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const JSON_TYPE = "application/json; charset=utf-8";
const RELOADED = /^geoipmq: reloaded: serving /;
const RELOAD_FAILED = /^geoipmq: error: reload failed, still serving the old database: /;

/** Starts the service on a database file with HTTP on a free loopback port. */
async function startWithHttp(
  path: string,
  workers: number,
): Promise<{ service: ServiceProcess; base: string }> {
  const port = freeLoopbackPort();
  const service = await startOnDatabase(path, {
    workers,
    flags: ["--http", `127.0.0.1:${port}`],
  });
  const ready = service.log.find((line) => line.includes("ready on"))!;
  assert.ok(ready.endsWith(`; HTTP on http://127.0.0.1:${port}`), ready);
  return { service, base: `http://127.0.0.1:${port}` };
}

/** GETs a path and reads the whole answer. */
async function get(
  base: string,
  path: string,
): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(base + path);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: await response.text(),
  };
}

Deno.test("the service answers lookups, health and errors over HTTP", async (t) => {
  await withTempFile(cityFixture(), async (path) => {
    const { service, base } = await startWithHttp(path, 2);
    await using _service = service;

    await t.step("/json/<ip> with a record", async () => {
      const answer = await get(base, "/json/81.2.69.160");
      assert.equal(answer.status, 200);
      assert.equal(answer.type, JSON_TYPE);
      const body = JSON.parse(answer.body);
      assert.equal(body.ip, "81.2.69.160");
      assert.equal(body.network, "81.2.69.160/27");
      assert.equal(body.record.city.names.en, "London");
      assert.equal(body.record.country.iso_code, "GB");
    });
    await t.step("/json/<ip> without a record", async () => {
      const answer = await get(base, "/json/8.8.8.8");
      assert.equal(answer.status, 404);
      assert.equal(answer.type, JSON_TYPE);
      assert.deepEqual(JSON.parse(answer.body), { ip: "8.8.8.8", network: null, record: null });
    });
    await t.step("/json/<ip> with a percent-encoded IPv6 address", async () => {
      const answer = await get(base, "/json/2001%3Adb8%3A%3A1");
      assert.equal(answer.status, 200);
      assert.equal(JSON.parse(answer.body).record.city.names.en, "Sixville");
    });
    await t.step("/geoip/<ip>", async () => {
      const found = await get(base, "/geoip/81.2.69.160");
      assert.equal(found.status, 200);
      assert.equal(found.type, "text/tab-separated-values; charset=utf-8");
      assert.equal(found.body, LONDON_TSV);
      const missing = await get(base, "/geoip/8.8.8.8");
      assert.equal(missing.status, 404);
      assert.equal(missing.body, "NOT_FOUND");
    });
    await t.step("/healthz", async () => {
      const answer = await get(base, "/healthz");
      assert.equal(answer.status, 200);
      assert.equal(answer.type, JSON_TYPE);
      assert.deepEqual(JSON.parse(answer.body), { status: "ok" });
    });
    await t.step("a bad address is 400 with a JSON error", async () => {
      for (const route of ["json", "geoip"]) {
        const answer = await get(base, `/${route}/not-an-address`);
        assert.equal(answer.status, 400, route);
        assert.equal(answer.type, JSON_TYPE);
        assert.deepEqual(JSON.parse(answer.body), {
          error: 'invalid IP address "not-an-address"',
        });
      }
    });
    await t.step("an unknown path is 404 with a JSON error", async () => {
      const answer = await get(base, "/nowhere");
      assert.equal(answer.status, 404);
      assert.equal(answer.type, JSON_TYPE);
      assert.deepEqual(JSON.parse(answer.body), { error: "not found: /nowhere" });
    });
    await t.step("ZeroMQ still answers alongside", async () => {
      await using client = new TestClient();
      assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160"), LONDON_TSV);
    });
  });
});

Deno.test("metrics count what really happened", async () => {
  const ALPHA_EPOCH = 1_700_000_000;
  const BRAVO_EPOCH = 1_750_000_000;
  const WORKERS = 2;
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-metrics-" });
  const path = `${directory}/GeoIP2-City.mmdb`;
  try {
    await Deno.writeFile(path, letteredDatabase("Alpha", ALPHA_EPOCH));
    const { service, base } = await startWithHttp(path, WORKERS);
    await using _service = service;
    await using client = new TestClient();

    const before = (await get(base, "/metrics")).body;
    assert.equal(
      metricValue(before, `geoipmq_database_build_timestamp_seconds{database="${path}"}`),
      ALPHA_EPOCH,
    );
    const zmqCount = 'geoipmq_request_duration_seconds_count{transport="zmq"}';
    assert.equal(metricValue(before, zmqCount), 0);

    // A known mix of ZeroMQ requests, each checked.
    const FOUND = 7; // single lookups with a record
    const NOT_FOUND = 5; // single lookups without one
    const BAD_ADDRESS = 3; // single lookups of an address that does not parse
    const UNKNOWN_VERB = 4; // requests that do not parse
    const PINGS = 6;
    const BATCH = 40; // addresses in one batch, all with a record
    const socket = client.socket(SocketType.REQ, service.endpoint, 10_000);
    for (let i = 0; i < FOUND; i++) {
      assert.equal(askOn(socket, "geoip 81.2.69.160"), letteredTsv("Alpha", "81.2.69.160"));
    }
    for (let i = 0; i < NOT_FOUND; i++) {
      assert.equal(askOn(socket, `geoip 8.8.${i}.8`), "NOT_FOUND");
    }
    for (let i = 0; i < BAD_ADDRESS; i++) {
      assert.match(askOn(socket, `geoip 300.1.1.${i}`), /^ERROR\tinvalid IP address/);
    }
    for (let i = 0; i < UNKNOWN_VERB; i++) {
      assert.match(askOn(socket, `frobnicate ${i}`), /^ERROR\tunknown command/);
    }
    for (let i = 0; i < PINGS; i++) assert.equal(askOn(socket, "ping"), "pong");
    const batch = Array.from({ length: BATCH }, (_, i) => `10.0.${i % 10}.1`);
    assert.equal(
      askOn(socket, `geoip ${batch.join(" ")}`),
      batch.map((address) => letteredTsv("Alpha", address)).join("\n"),
    );
    const requests = FOUND + NOT_FOUND + BAD_ADDRESS + UNKNOWN_VERB + PINGS + 1;

    // And over HTTP, through the same responder code and the same counters.
    assert.equal((await get(base, "/json/81.2.69.160")).status, 200);
    assert.equal((await get(base, "/json/81.2.69.160")).status, 200);
    assert.equal((await get(base, "/geoip/8.8.8.8")).status, 404);
    assert.equal((await get(base, "/geoip/300.1.1.1")).status, 400);

    // A reload that works, then one that fails.
    await replaceAtomically(path, letteredDatabase("Bravo", BRAVO_EPOCH));
    Deno.kill(service.pid, "SIGHUP");
    await waitForNewLine(service, RELOADED, 0);
    await Deno.writeFile(path, new TextEncoder().encode("not a database"));
    Deno.kill(service.pid, "SIGHUP");
    await waitForNewLine(service, RELOAD_FAILED, 0);
    assert.equal(linesMatching(service, RELOADED).length, 1);

    // A worker counts a request just after sending its reply: wait for the last count.
    let answer = await get(base, "/metrics");
    for (let i = 0; i < 150; i++) {
      if (metricValue(answer.body, zmqCount) >= requests) break;
      await sleep(100);
      answer = await get(base, "/metrics");
    }
    assert.equal(answer.status, 200);
    assert.equal(answer.type, "text/plain; version=0.0.4; charset=utf-8");
    const text = answer.body;
    const value = (sample: string) => metricValue(text, sample);
    const expectedRequests: Record<string, number> = {
      'verb="geoip",outcome="ok"': FOUND + NOT_FOUND + 1,
      'verb="geoip",outcome="error"': BAD_ADDRESS,
      'verb="json",outcome="ok"': 0,
      'verb="json",outcome="error"': 0,
      'verb="ping",outcome="ok"': PINGS,
      'verb="ping",outcome="error"': 0,
      'verb="info",outcome="ok"': 0,
      'verb="info",outcome="error"': 0,
      'verb="invalid",outcome="ok"': 0,
      'verb="invalid",outcome="error"': UNKNOWN_VERB,
    };
    for (const [labels, count] of Object.entries(expectedRequests)) {
      assert.equal(value(`geoipmq_requests_total{transport="zmq",${labels}}`), count, labels);
    }
    const zmq = (result: string) =>
      value(`geoipmq_lookups_total{transport="zmq",result="${result}"}`);
    assert.equal(zmq("found"), FOUND + BATCH);
    assert.equal(zmq("not_found"), NOT_FOUND);
    assert.equal(zmq("invalid"), BAD_ADDRESS);
    assert.equal(zmq("error"), 0);
    const http = (labels: string) => value(`geoipmq_requests_total{transport="http",${labels}}`);
    assert.equal(http('verb="json",outcome="ok"'), 2);
    assert.equal(http('verb="geoip",outcome="ok"'), 1);
    assert.equal(http('verb="geoip",outcome="error"'), 1);
    const httpLookups = (result: string) =>
      value(`geoipmq_lookups_total{transport="http",result="${result}"}`);
    assert.equal(httpLookups("found"), 2);
    assert.equal(httpLookups("not_found"), 1);
    assert.equal(httpLookups("invalid"), 1);
    assert.equal(value('geoipmq_request_duration_seconds_count{transport="http"}'), 4);
    // The caches count found records: each of the 11 distinct records is rendered once
    // over ZeroMQ (the single lookups and the batch ask disjoint sets), and once over
    // HTTP; every other answer is a hit.
    assert.equal(value("geoipmq_cache_misses_total"), 11 + 1);
    assert.equal(value("geoipmq_cache_hits_total"), FOUND + BATCH - 11 + 1);

    assert.equal(value(zmqCount), requests);
    const bucket = (le: string) =>
      value(`geoipmq_request_duration_seconds_bucket{transport="zmq",le="${le}"}`);
    assert.equal(bucket("+Inf"), requests);
    let previous = 0;
    for (const bound of DURATION_BUCKETS_MICROS) {
      const le = String(bound / 1_000_000);
      const cumulative = bucket(le);
      assert.ok(cumulative >= previous && cumulative <= requests, `bucket le=${le}`);
      previous = cumulative;
    }
    assert.ok(value('geoipmq_request_duration_seconds_sum{transport="zmq"}') > 0);

    assert.equal(value('geoipmq_reloads_total{outcome="success"}'), 1);
    assert.equal(value('geoipmq_reloads_total{outcome="failure"}'), 1);
    assert.equal(
      value(`geoipmq_database_build_timestamp_seconds{database="${path}"}`),
      BRAVO_EPOCH,
    );
    assert.equal(value(`geoipmq_database_info{database="${path}",type="GeoIP2-City"}`), 1);
    assert.equal(value("geoipmq_workers_alive"), WORKERS);
    assert.equal(value("geoipmq_up"), 1);
    const age = value(`geoipmq_database_age_seconds{database="${path}"}`);
    assert.ok(Math.abs(age - (Date.now() / 1000 - BRAVO_EPOCH)) < 600, `age ${age}`);

    // HTTP answers from the database now serving.
    const tsv = await get(base, "/geoip/81.2.69.160");
    assert.equal(tsv.body, letteredTsv("Bravo", "81.2.69.160"));
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

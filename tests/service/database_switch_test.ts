/**
 * The database switch when a worker cannot take part: the pool worker is kept busy by a
 * request (the faulty worker stalls 3 s on 7.7.7.7) while a reload asks every worker to
 * switch within 500 ms. The switch must fail as a whole: logged as a failure, counted,
 * shown by `info`, and every worker still on the old database; the next reload, with
 * every worker free, switches them all.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SMALL_REQUEST_BYTES } from "../../lib/lookup_pool/mod.ts";
import { letteredDatabase, letteredTsv, metricValue } from "../support/live_service.ts";
import { startInProcess } from "../support/in_process_service.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const FAULTY = new URL("../support/faulty_lookup_worker.ts", import.meta.url);
/** Larger than the router worker answers itself: it goes to the pool worker. */
const POOL_INFO = "info" + " ".repeat(SMALL_REQUEST_BYTES);
const ADDRESS = "81.2.69.160";

Deno.test("a switch that a worker misses fails as a whole; every worker keeps the old database", async () => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-switch-" });
  const path = `${directory}/GeoIP2-City.mmdb`;
  try {
    await Deno.writeFile(path, letteredDatabase("Alpha", 1_700_000_000));
    await using client = new TestClient();
    await using started = await startInProcess({
      db: [path],
      workers: 2,
      workerModule: FAULTY,
      switchTimeoutMs: 500,
    });
    const service = started.service;
    const router = client.socket(SocketType.REQ, started.endpoint, 10_000);
    const batch = (address: string) => `geoip ${address} ${address} ${address} ${address}`;
    const poolAnswer = (city: string) => new Array(4).fill(letteredTsv(city, ADDRESS)).join("\n");
    assert.equal(askOn(router, `geoip ${ADDRESS}`), letteredTsv("Alpha", ADDRESS));
    assert.equal(askOn(router, batch(ADDRESS)), poolAnswer("Alpha"));

    // Keep the pool worker busy, then ask for a switch it cannot reach in time.
    const stalled = client.socket(SocketType.REQ, started.endpoint, 10_000);
    stalled.send(batch("7.7.7.7"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await Deno.writeFile(path, letteredDatabase("Bravo", 1_750_000_000));
    await service.reload();

    const failure = started.log.find((line) => line.includes("reload failed"));
    assert.equal(
      failure,
      "geoipmq: error: reload failed, every worker still serves the old database: " +
        "1 of 2 workers did not reach the switch within 500 ms",
    );
    const metrics = service.prometheus();
    assert.equal(metricValue(metrics, 'geoipmq_reloads_total{outcome="failure"}'), 1);
    assert.equal(metricValue(metrics, 'geoipmq_reloads_total{outcome="success"}'), 0);
    assert.deepEqual(JSON.parse(askOn(router, "info")).reloads, { success: 0, failure: 1 });
    assert.equal(askOn(router, `geoip ${ADDRESS}`), letteredTsv("Alpha", ADDRESS));

    // The stalled request is answered; the pool worker serves the old database too.
    assert.equal(stalled.receive()!.length, 1);
    assert.equal(askOn(router, batch(ADDRESS)), poolAnswer("Alpha"));
    assert.deepEqual(JSON.parse(askOn(router, POOL_INFO)).reloads, { success: 0, failure: 1 });

    // With every worker free, the next reload switches them all.
    await service.reload();
    assert.ok(
      started.log.some((line) => line.startsWith("geoipmq: reloaded: serving GeoIP2-City")),
    );
    assert.equal(askOn(router, `geoip ${ADDRESS}`), letteredTsv("Bravo", ADDRESS));
    assert.equal(askOn(router, batch(ADDRESS)), poolAnswer("Bravo"));
    assert.deepEqual(JSON.parse(askOn(router, "info")).reloads, { success: 1, failure: 1 });
    assert.equal(metricValue(service.prometheus(), 'geoipmq_reloads_total{outcome="success"}'), 1);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

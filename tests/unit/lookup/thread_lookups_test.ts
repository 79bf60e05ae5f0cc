import assert from "node:assert/strict";
import { GeoDatabase } from "../../../lib/database/mod.ts";
import { sharedDatabases, threadLookups } from "../../../lib/lookup/thread_lookups.ts";
import { ServiceMetrics } from "../../../lib/metrics/mod.ts";

const CITY = new URL("../../fixtures/maxmind/GeoIP2-City-Test.mmdb", import.meta.url).pathname;
const SETUP = {
  languages: ["en"],
  limits: { maxRequestBytes: 4096, maxAddresses: 10 },
  server: { version: "9.9.9", libzmqVersion: "4.3.5", startedAt: 0 },
  cache: { maxBytes: 1024 * 1024 },
  ratePerSecond: 0,
};
const REQUEST = new TextEncoder().encode("geoip 81.2.69.160");

Deno.test("threadLookups() answers alike from open databases and from their shared bytes", async () => {
  const database = await GeoDatabase.open(CITY);
  const metrics = ServiceMetrics.create({ version: "9.9.9" });
  const main = threadLookups(SETUP, { metrics });
  const worker = threadLookups({ ...SETUP, worker: 1 }, { metrics: metrics.buffer });
  const fromOpen = main.responderFor([database]);
  const fromBytes = worker.responderFor(sharedDatabases([database]));
  assert.equal(fromOpen.database, database, "the main thread's own database object");
  assert.notEqual(fromBytes.database, database, "a worker opens its view of the bytes");
  assert.equal(fromBytes.database.bytes.buffer, database.bytes.buffer, "not a copy");
  assert.equal(fromOpen.respond(REQUEST), fromBytes.respond(REQUEST));
  assert.match(fromOpen.respond(REQUEST), /^GB\t/);
});

Deno.test("threadLookups() reads the service's counters, on every thread the same", () => {
  const metrics = ServiceMetrics.create({ version: "9.9.9" });
  metrics.recordReload("success");
  const worker = threadLookups(SETUP, { metrics: metrics.buffer });
  assert.deepEqual(worker.metrics.reloads(), metrics.reloads());
  assert.equal(threadLookups(SETUP, { metrics }).metrics, metrics);
});

Deno.test("threadLookups() makes a rate limiter only with a limit, over the shared buckets", () => {
  const metrics = ServiceMetrics.create({ version: "9.9.9" });
  assert.equal(threadLookups(SETUP, { metrics }).rateLimiter, null);
  const first = threadLookups({ ...SETUP, ratePerSecond: 1 }, { metrics }).rateLimiter!;
  const second = threadLookups({ ...SETUP, ratePerSecond: 1, rateTable: first.table }, {
    metrics,
  }).rateLimiter!;
  assert.ok(first.allow("192.0.2.1", 0));
  assert.equal(second.allow("192.0.2.1", 0), false, "one budget per address across threads");
});

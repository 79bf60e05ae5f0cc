/**
 * A deferring request counter adds up exactly what counting each request at once adds.
 */

import assert from "node:assert/strict";
import { bundledDatabasePath, GeoDatabase } from "../../../lib/database/mod.ts";
import { GeoipResponder, ReplyBuffer, RequestCounter } from "../../../lib/lookup/mod.ts";
import { ServiceMetrics } from "../../../lib/metrics/mod.ts";
import { DEFAULT_LIMITS } from "../../../lib/protocol/mod.ts";

const REQUESTS = [
  "geoip 81.2.69.160",
  "geoip 10.0.0.1",
  "geoip 300.1.1.1",
  "geoip 81.2.69.160 10.0.0.1 nonsense",
  "frobnicate",
  "ping",
  "json 81.2.69.160",
];
const ROUNDS = 30;

Deno.test("a deferring counter adds up the same counts, latencies and cache figures", async () => {
  const database = await GeoDatabase.open(bundledDatabasePath());
  const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
  const cache = { maxBytes: 1024 * 1024 };
  const snapshots = [];
  for (const defer of [false, true]) {
    const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server, cache });
    const metrics = ServiceMetrics.create({ version: "1.0.0" });
    const counter = new RequestCounter(metrics, responder, "zmq", { defer });
    const reply = new ReplyBuffer();
    for (let round = 0; round < ROUNDS; round++) {
      for (const text of REQUESTS) {
        const bytes = new TextEncoder().encode(text);
        // Latencies set by the start time: 0 µs up to about 3 ms, several buckets.
        const started = performance.now() - (round % 4) * round * 0.04;
        responder.respondInto(bytes, bytes.length, reply);
        counter.answered(started);
      }
      counter.refused(performance.now() - 0.5);
    }
    counter.flush();
    snapshots.push(metrics.snapshot());
  }
  const [direct, deferred] = snapshots;
  assert.deepEqual(deferred!.requests, direct!.requests);
  assert.deepEqual(deferred!.lookups, direct!.lookups);
  assert.deepEqual(deferred!.cache, direct!.cache);
  assert.equal(deferred!.duration.zmq.count, ROUNDS * (REQUESTS.length + 1));
  assert.equal(deferred!.requests.zmq.invalid.error, ROUNDS * 2);
  assert.equal(deferred!.requests.zmq.geoip.error, ROUNDS);
  // Each request took at least the time its start sets (a little more under load), so
  // both hold at least as many above 250 µs as were made so.
  let slow = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if ((round % 4) * round * 40 > 250) slow += REQUESTS.length;
    slow++; // the refused one, 500 µs
  }
  const above = (histogram: { cumulative: number[]; count: number }) =>
    histogram.count - histogram.cumulative[3]!;
  for (const snapshot of [direct!, deferred!]) {
    assert.ok(above(snapshot.duration.zmq) >= slow, `${above(snapshot.duration.zmq)} < ${slow}`);
    assert.ok(snapshot.duration.zmq.sumMicros >= slow * 250);
  }
});

Deno.test("a deferring counter keeps its counts until it is time to add them up", async () => {
  const database = await GeoDatabase.open(bundledDatabasePath());
  const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
  const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
  const metrics = ServiceMetrics.create({ version: "1.0.0" });
  const counter = new RequestCounter(metrics, responder, "zmq", { defer: true });
  const ping = new TextEncoder().encode("ping");
  const reply = new ReplyBuffer();
  // 1,024 requests in a row are added up together, whatever the time.
  for (let i = 0; i < 1024; i++) {
    responder.respondInto(ping, ping.length, reply);
    counter.answered(performance.now());
  }
  assert.equal(metrics.snapshot().requests.zmq.ping.ok, 1024);
  counter.flush();
  assert.equal(metrics.snapshot().requests.zmq.ping.ok, 1024);
});

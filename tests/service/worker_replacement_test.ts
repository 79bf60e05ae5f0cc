import assert from "node:assert/strict";
import { SMALL_REQUEST_BYTES } from "../../lib/server/front_end_loop.ts";
import { GeoipServer, type WorkerLifeEvent } from "../../lib/server/geoip_server.ts";
import { VERSION } from "../../lib/server/version.ts";
import { cityFixture, LONDON_TSV, openFixture } from "../support/fixtures.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const FAULTY = new URL("../support/faulty_lookup_worker.ts", import.meta.url);
const POOL_INFO = "info" + " ".repeat(SMALL_REQUEST_BYTES);

Deno.test("a pool worker that throws answers ERROR and is replaced; the front end goes on", async () => {
  await using client = new TestClient();
  const events: WorkerLifeEvent[] = [];
  const replaced = Promise.withResolvers<void>();
  const server = await GeoipServer.start({
    lib: client.lib,
    database: openFixture(cityFixture()),
    bind: ["tcp://127.0.0.1:*"],
    workers: 2,
    limits: { maxRequestBytes: 4096, maxAddresses: 100 },
    cacheEntries: 100,
    version: VERSION,
    workerModule: FAULTY,
    onWorkerEvent: (event) => {
      events.push(event);
      if (event.type === "replaced") replaced.resolve();
    },
  });
  try {
    const socket = client.socket(SocketType.REQ, server.endpoints[0]!);
    const batch = (address: string) => "geoip " + new Array(20).fill(address).join(" ");

    // A batch goes to the pool worker, which fails on it.
    assert.equal(
      askOn(socket, batch("6.6.6.6")),
      "ERROR\tinternal error: the worker failed and is being replaced",
    );
    await replaced.promise;
    assert.deepEqual(events.map((e) => [e.type, e.worker]), [["failed", 1], ["replaced", 1]]);
    assert.match(events[0]!.message, /injected fault/);
    assert.equal(server.workersAlive, 2);
    assert.equal(server.metrics.snapshot().workersAlive, 2);

    // The replacement serves the pool; the front end answers its own fault with ERROR.
    assert.equal(askOn(socket, batch("81.2.69.160")), new Array(20).fill(LONDON_TSV).join("\n"));
    assert.equal(JSON.parse(askOn(socket, POOL_INFO)).worker, 1);
    assert.equal(askOn(socket, "geoip 6.6.6.6"), "ERROR\tinternal error: injected fault");
    assert.equal(askOn(socket, "geoip 81.2.69.160"), LONDON_TSV);
    assert.equal(events.length, 2, "the front end was not replaced");
  } finally {
    await server.stop();
  }
});

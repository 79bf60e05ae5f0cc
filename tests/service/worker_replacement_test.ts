import assert from "node:assert/strict";
import { SMALL_REQUEST_BYTES } from "../../lib/lookup_pool/mod.ts";
import { LONDON_TSV } from "../support/fixtures.ts";
import { startInProcess } from "../support/in_process_service.ts";
import { waitFor } from "../support/live_service.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const FAULTY = new URL("../support/faulty_lookup_worker.ts", import.meta.url);
const POOL_INFO = "info" + " ".repeat(SMALL_REQUEST_BYTES);

Deno.test("a pool worker that throws answers ERROR and is replaced; the router worker goes on", async () => {
  await using client = new TestClient();
  await using started = await startInProcess({ workers: 2, workerModule: FAULTY });
  const server = started.service;
  const events = () =>
    started.log.filter((line) => /lookup worker \d+ (failed|replaced)/.test(line));
  {
    const socket = client.socket(SocketType.REQ, server.endpoints[0]!);
    const batch = (address: string) => "geoip " + new Array(20).fill(address).join(" ");

    // A batch goes to the pool worker, which fails on it.
    assert.equal(
      askOn(socket, batch("6.6.6.6")),
      "ERROR\tinternal error: the worker failed and is being replaced",
    );
    await waitFor("the replacement", () => events().length === 2 ? true : undefined);
    assert.match(events()[0]!, /^geoipmq: error: lookup worker 1 failed: .*injected fault/);
    assert.equal(events()[1], "geoipmq: warn: lookup worker 1 replaced");
    assert.equal(server.workers.alive, 2);
    assert.equal(server.metrics.snapshot().workersAlive, 2);

    // The replacement serves the pool; the router worker answers its own fault with ERROR.
    assert.equal(askOn(socket, batch("81.2.69.160")), new Array(20).fill(LONDON_TSV).join("\n"));
    assert.equal(JSON.parse(askOn(socket, POOL_INFO)).worker, 1);
    assert.equal(askOn(socket, "geoip 6.6.6.6"), "ERROR\tinternal error: injected fault");
    assert.equal(askOn(socket, "geoip 81.2.69.160"), LONDON_TSV);
    assert.equal(events().length, 2, "the router worker was not replaced");
  }
});

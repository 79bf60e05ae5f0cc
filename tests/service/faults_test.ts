import assert from "node:assert/strict";
import { ZMQ_DONTWAIT } from "../../lib/zmq/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const BATCH = "geoip " + new Array(200).fill("81.2.69.160").join(" ");

/** Lock-step requests on a fresh REQ socket; every reply must be London, within the timeout. */
function assertServed(client: TestClient, endpoint: string, rounds: number): void {
  const socket = client.socket(SocketType.REQ, endpoint, 3000);
  try {
    for (let i = 0; i < rounds; i++) assert.equal(askOn(socket, "geoip 81.2.69.160"), LONDON_TSV);
  } finally {
    socket.close();
  }
}

async function withService(
  args: string[],
  body: (endpoint: string, client: TestClient) => Promise<void> | void,
): Promise<void> {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, { workers: 2, flags: args });
    {
      await using client = new TestClient();
      await body(service.endpoint, client);
    }
    const status = await service.stop();
    assert.equal(status.code, 0, service.log.join("\n"));
  });
}

Deno.test("clients that disconnect mid-request do not disturb the others", async () => {
  await withService([], (endpoint, client) => {
    for (let round = 0; round < 20; round++) {
      // Requests in flight (batches go to the pool), then the client is gone.
      const leaver = client.socket(SocketType.DEALER, endpoint);
      for (let i = 0; i < 5; i++) leaver.send([new Uint8Array(0), BATCH]);
      leaver.send([new Uint8Array(0), "geoip 81.2.69.160"]);
      leaver.close();
      assertServed(client, endpoint, 5);
    }
  });
});

Deno.test("a client that never reads its replies does not stall the others", async () => {
  await withService(["--hwm", "50"], (endpoint, client) => {
    const sleeper = client.socket(SocketType.DEALER, endpoint);
    let sent = 0;
    for (let i = 0; i < 2000; i++) {
      // Its queue fills; past the high-water mark its requests wait or are refused here.
      if (!sleeper.send([new Uint8Array(0), i % 10 ? "ping" : BATCH], { dontWait: true })) break;
      sent++;
    }
    assert.ok(sent > 50, `it got ${sent} requests out`);
    assertServed(client, endpoint, 200);
  });
});

Deno.test("a flood from one peer does not starve a lock-step client", async () => {
  await withService([], (endpoint, client) => {
    const flooder = client.socket(SocketType.DEALER, endpoint);
    const started = performance.now();
    let flooded = 0;
    let answered = 0;
    const reply = new Uint8Array(64 * 1024);
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 250; i++) {
        if (flooder.send([new Uint8Array(0), "geoip 81.2.69.160"], { dontWait: true })) flooded++;
      }
      // Drain what came back, without waiting.
      while (flooder.tryReceiveFrameInto(reply, ZMQ_DONTWAIT) >= 0) {
        if (!flooder.hasMore()) answered++;
      }
      assertServed(client, endpoint, 3);
    }
    const seconds = (performance.now() - started) / 1000;
    assert.ok(flooded >= 5000, `flooded ${flooded}`);
    assert.ok(seconds < 60, `the lock-step client was served throughout (${seconds.toFixed(1)} s)`);
    assert.ok(answered > 0, "the flooder was answered too");
  });
});

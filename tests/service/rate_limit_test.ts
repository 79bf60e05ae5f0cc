/**
 * `--rate-limit` charges the client that made the requests: a new ZeroMQ connection on a
 * descriptor another one just closed is its own peer's, and one address has one budget
 * across ZeroMQ and every HTTP thread. On the real service process, with clients on
 * several loopback addresses.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { askOrNull, CurveClient, SocketType } from "../support/curve_client.ts";
import { freeLoopbackPort } from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";

/** The service's endpoint, connected to from `source` (libzmq's `source;destination`). */
function from(source: string, endpoint: string): string {
  return endpoint.replace("tcp://", `tcp://${source}:0;`);
}

Deno.test("--rate-limit charges a new connection on a reused descriptor to its own peer", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--rate-limit", "5"],
    });
    await using client = new CurveClient();
    const rounds = 10;
    let refusedFirst = 0;
    for (let round = 0; round < rounds; round++) {
      // A uses up its bucket, then closes.
      const a = client.socket(SocketType.REQ, from(`127.0.1.${round + 1}`, service.endpoint));
      let limited = false;
      for (let i = 0; i < 7 && !limited; i++) {
        limited = askOrNull(a, "geoip 81.2.69.160") === "ERROR\trate limited";
      }
      assert.ok(limited, `round ${round}: A was never limited`);
      a.close();
      // B, from a fresh address, connects at once: its first request is its own.
      const b = client.socket(SocketType.REQ, from(`127.0.2.${round + 1}`, service.endpoint));
      const first = askOrNull(b, "geoip 81.2.69.160");
      if (first !== LONDON_TSV) refusedFirst++;
      b.close();
    }
    assert.equal(refusedFirst, 0, `${refusedFirst} of ${rounds} first requests refused`);
  });
});

Deno.test("--rate-limit gives one address one budget across ZeroMQ and HTTP threads", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const httpPort = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--rate-limit", "4", "--http", `127.0.0.1:${httpPort}`, "--http-threads", "2"],
    });
    await using client = new CurveClient();
    const socket = client.socket(SocketType.REQ, service.endpoint);
    // Two over ZeroMQ...
    assert.equal(askOrNull(socket, "geoip 81.2.69.160"), LONDON_TSV);
    assert.equal(askOrNull(socket, "geoip 81.2.69.160"), LONDON_TSV);
    // ...and over HTTP, on new connections (spread over both HTTP threads), the rest of
    // the burst of 4: then 429, whichever thread answers.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`http://127.0.0.1:${httpPort}/geoip/81.2.69.160`, {
        headers: { connection: "close" },
      });
      await response.body?.cancel();
      statuses.push(response.status);
    }
    const answered = statuses.filter((status) => status === 200).length;
    // One token may come back while the requests are made (4 per second).
    assert.ok(answered >= 2 && answered <= 3, `HTTP statuses ${statuses}`);
    assert.equal(statuses.at(-1), 429);
    assert.equal(askOrNull(socket, "geoip 81.2.69.160"), "ERROR\trate limited");
  });
});

/**
 * No reply is dropped in silence for a client that reads: a reply larger than the whole
 * `--max-outbound-mb` budget is answered `ERROR reply too large`, and a reply that would
 * pass it on top of what the client has not read yet is answered `ERROR busy`, on the
 * real service process.
 *
 * @module
 */

import { limitedTotal } from "../support/service_readings.ts";
import assert from "node:assert/strict";
import { cityFixture, withTempFile } from "../support/fixtures.ts";
import { CurveClient, receiveOrNull, SocketType } from "../support/curve_client.ts";
import { freeLoopbackPort } from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { SocketOption } from "../../lib/zmq/mod.ts";

/** @returns the value of one ZeroMQ `geoipmq_limited_total` series */
function limited(port: number, limit: string): Promise<number> {
  return limitedTotal(port, "zmq", limit);
}

/** A `json` batch of `count` addresses: about 335 bytes of reply each on the fixture. */
function jsonBatch(count: number): string {
  return "json " + new Array(count).fill("81.2.69.160").join(" ");
}

Deno.test("a reply larger than --max-outbound-mb is answered ERROR reply too large", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const httpPort = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 2,
      flags: [
        ...["--max-outbound-mb", "1", "--max-addresses", "5000", "--max-request-bytes", "100000"],
        ...["--http", `127.0.0.1:${httpPort}`],
      ],
    });
    await using client = new CurveClient();
    const socket = client.socket(SocketType.REQ, service.endpoint, { timeoutMs: 5000 });
    // 5000 addresses: about 1.6 MiB of JSON, over the 1 MiB budget on its own.
    socket.send(jsonBatch(5000));
    const reply = receiveOrNull(socket)!.at(-1)!;
    assert.match(
      reply,
      /^ERROR\treply too large: 1\.\d MiB, over the 1\.0 MiB a client may leave unread \(--max-outbound-mb\); ask for fewer addresses or fields$/,
    );
    assert.equal(await limited(httpPort, "reply_size"), 1);
    // A reply within the budget still goes, on the same socket.
    socket.send(jsonBatch(1000));
    assert.match(receiveOrNull(socket)!.at(-1)!, /^\[\{"ip":"81\.2\.69\.160"/);
  });
});

Deno.test("a client that reads gets a reply or an ERROR for every request, many big ones in flight", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const httpPort = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 2,
      flags: ["--max-outbound-mb", "1", "--http", `127.0.0.1:${httpPort}`],
    });
    await using client = new CurveClient();
    // A client that reads, but slowly: a small kernel buffer (no autotuning) and one
    // message queued in libzmq, so replies wait on the service's side.
    const dealer = client.context.socket(SocketType.DEALER);
    dealer.setOption(SocketOption.LINGER, 0);
    dealer.setOption(SocketOption.RCVTIMEO, 5000);
    dealer.setOption(SocketOption.RCVBUF, 64 * 1024);
    dealer.setOption(SocketOption.RCVHWM, 1);
    dealer.connect(service.endpoint);
    try {
      // 1000 addresses: about 330 KiB each; 8 in flight are 2.6 MiB, over the budget.
      const request = jsonBatch(1000);
      const total = 40;
      const inFlight = 8;
      let sent = 0;
      let answered = 0;
      const refusals: string[] = [];
      for (; sent < inFlight; sent++) dealer.send(["", request]);
      while (answered + refusals.length < total) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const frames = receiveOrNull(dealer);
        assert.ok(
          frames !== null,
          `silence after ${answered} replies and ${refusals.length} ERRORs`,
        );
        const reply = frames.at(-1)!;
        if (reply.startsWith("ERROR")) refusals.push(reply);
        else {
          assert.match(reply, /^\[\{"ip":"81\.2\.69\.160"/);
          answered++;
        }
        if (sent < total) {
          dealer.send(["", request]);
          sent++;
        }
      }
      assert.ok(answered >= inFlight, `${answered} of ${total} answered`);
      assert.ok(
        refusals.length > 0,
        "every reply fit: the client read too fast to test the budget",
      );
      for (const refusal of refusals) {
        assert.match(refusal, /^ERROR\tbusy: \d+\.\d MiB of replies to this connection unread/);
      }
      assert.equal(await limited(httpPort, "outbound_bytes"), refusals.length);
      assert.equal(
        await limited(httpPort, "not_reading"),
        0,
        "a client that reads is never stalled",
      );
    } finally {
      dealer.close();
    }
  });
});

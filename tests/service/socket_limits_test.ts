/**
 * The ROUTER's limits on the real service process: `--max-request-bytes` as libzmq's
 * `ZMQ_MAXMSGSIZE` (a larger frame cuts its client off before it is buffered, and the
 * service serves on), and `--hwm` as `ZMQ_SNDHWM`/`ZMQ_RCVHWM` (replies beyond it, for a
 * client that does not read, are dropped instead of queued).
 *
 * @module
 */

import assert from "node:assert/strict";
import { SocketOption } from "../../lib/zmq/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { CurveClient, receiveOrNull, SocketType } from "../support/curve_client.ts";
import { startOnDatabase } from "../support/service_process.ts";

Deno.test("--max-request-bytes cuts off a client sending a larger frame; others are served", async (t) => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, {
      workers: 2,
      flags: ["--max-request-bytes", "2048"],
    });
    await using client = new CurveClient();
    const dealer = client.socket(SocketType.DEALER, service.endpoint, { timeoutMs: 1000 });
    const other = client.socket(SocketType.REQ, service.endpoint);
    const ask = (frames: (string | Uint8Array)[]) => {
      dealer.send([new Uint8Array(0), ...frames]);
      return receiveOrNull(dealer);
    };
    await t.step("a request of exactly the limit is served", () => {
      assert.deepEqual(ask(["geoip 81.2.69.160".padEnd(2048)]), ["", LONDON_TSV]);
    });
    await t.step("one byte more: no reply, the connection is cut", () => {
      assert.equal(ask(["ping".padEnd(2049)]), null);
    });
    await t.step("another client is served meanwhile", () => {
      other.send("ping");
      assert.deepEqual(receiveOrNull(other), ["pong"]);
    });
    await t.step("the same client is served once it has reconnected", () => {
      dealer.setOption(SocketOption.RCVTIMEO, 5000);
      assert.deepEqual(ask(["ping"]), ["", "pong"]);
    });
    await t.step("a frame far over the limit (1 MiB) is cut off too", () => {
      dealer.setOption(SocketOption.RCVTIMEO, 1000);
      assert.equal(ask([new Uint8Array(1 << 20).fill(0x41)]), null);
      dealer.setOption(SocketOption.RCVTIMEO, 5000);
      assert.deepEqual(ask(["ping"]), ["", "pong"]);
    });
    await t.step("a multipart request of small frames still gets its ERROR reply", () => {
      assert.deepEqual(ask(["ping", "ping"]), ["", "ERROR\ta request must be a single frame"]);
    });
  });
});

/** A request whose reply is about 50 KB: the London line 1000 times. */
const BIG_ANSWER = "geoip " + new Array(1000).fill("81.2.69.160").join(" ");
const REQUESTS = 600;

/**
 * Sends {@linkcode REQUESTS} big requests on a DEALER that reads nothing until all are
 * answered (its own queue holds one message), then counts the whole replies that arrive
 * (an `ERROR busy` for a request whose reply would pass the outbound budget is not one).
 */
async function repliesToSlowReader(flags: string[]): Promise<number> {
  return await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, { workers: 1, flags });
    await using client = new CurveClient();
    const dealer = client.socket(SocketType.DEALER, service.endpoint, {
      timeoutMs: 2000,
      receiveHwm: 1,
    });
    for (let i = 0; i < REQUESTS; i++) dealer.send([new Uint8Array(0), BIG_ANSWER]);
    // Let the service answer everything while nothing is read.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    let replies = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const reply = receiveOrNull(dealer);
      if (reply === null) break;
      if (reply[1]!.startsWith("ERROR\tbusy: ")) continue;
      assert.equal(reply[1]!.length, 1000 * (LONDON_TSV.length + 1) - 1);
      replies++;
    }
    return replies;
  });
}

Deno.test("--hwm bounds the replies queued for a client that does not read", async (t) => {
  await t.step("with --hwm 1000 and no byte budget every reply is kept", async () => {
    assert.equal(await repliesToSlowReader(["--hwm", "1000", "--max-outbound-mb", "0"]), REQUESTS);
  });
  await t.step("with --hwm 1 the replies beyond the kernel's buffers are dropped", async () => {
    const replies = await repliesToSlowReader(["--hwm", "1", "--max-outbound-mb", "0"]);
    assert.ok(replies < REQUESTS * 0.8, `${replies} of ${REQUESTS} replies arrived`);
  });
  await t.step(
    "with --max-outbound-mb 4, requests beyond about 4 MiB unread are refused or dropped",
    async () => {
      // 600 replies of 50 KB are 30 MB; the budget is looked at every second.
      const replies = await repliesToSlowReader(["--max-outbound-mb", "4"]);
      assert.ok(replies < REQUESTS * 0.9, `${replies} of ${REQUESTS} replies arrived`);
      assert.ok(replies >= 40, `${replies} replies: at least the budget's worth`);
    },
  );
});

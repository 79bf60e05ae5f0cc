/**
 * The attacks of `deno task attack` on the newer surfaces, scaled down to seconds, against
 * the real service process on the fixture database, with the same clients the bench uses
 * (tooling/): unfinished chunked HTTP bodies cost a bounded amount of memory while a
 * well-behaved HTTP client is served; `--rate-limit` charges the client that caused it;
 * a client that reads everything gets a reply or an `ERROR` to every request, never
 * silence; distinct `get` field lists stay within a budget.
 *
 * @module
 */

import { rssOf } from "../support/service_readings.ts";
import assert from "node:assert/strict";
import {
  describeBigReplies,
  describeHttpProbe,
  readBigReplies,
  reusedConnectionRounds,
  sendDistinctFieldLists,
  startHttpProbe,
  UnfinishedChunkedBodies,
} from "../../tooling/mod.ts";
import { cityFixture, withTempFile } from "../support/fixtures.ts";
import { freeLoopbackPort, sleep } from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";

const MIB = 1024 * 1024;

/** Samples a process's resident memory every 100 ms until stopped; returns the peak. */
function watchPeak(pid: number): { stop(): Promise<number> } {
  let peak = rssOf(pid);
  let stopped = false;
  const watching = (async () => {
    while (!stopped) {
      peak = Math.max(peak, rssOf(pid));
      await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await watching;
      return Math.max(peak, rssOf(pid));
    },
  };
}

/** The connections of the scaled-down chunked attack (the bench's row opens 100). */
const CHUNKED_CONNECTIONS = 25;
/** The bound for 100 connections (+256 MB), scaled to {@linkcode CHUNKED_CONNECTIONS}. */
const CHUNKED_BOUND_BYTES = 256 * MIB * CHUNKED_CONNECTIONS / 100;

Deno.test("unfinished chunked bodies cost a bounded memory, and HTTP clients are served meanwhile", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const port = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--http", `127.0.0.1:${port}`, "--http-request-timeout-ms", "4000"],
    });
    const before = rssOf(service.pid);
    const peak = watchPeak(service.pid);
    const probe = startHttpProbe({ port });
    const bodies = await UnfinishedChunkedBodies.open({
      port,
      connections: CHUNKED_CONNECTIONS,
      chunks: 65_536,
    });
    let http;
    try {
      await sleep(3000);
    } finally {
      http = await probe.stop();
    }
    // The request timeout (4 s) ends a body that never finishes.
    const deadline = Date.now() + 6000;
    while (bodies.closedByServer < bodies.opened && Date.now() < deadline) await sleep(100);
    bodies.close();
    const grown = await peak.stop() - before;
    const text = `${bodies.opened} connections, ${(bodies.bytesSent / MIB).toFixed(0)} MiB ` +
      `sent, ${bodies.closedByServer} closed by the server; resident memory +` +
      `${(grown / MIB).toFixed(0)} MiB; ${describeHttpProbe(http)}`;
    assert.equal(bodies.opened, CHUNKED_CONNECTIONS, text);
    assert.ok(grown <= CHUNKED_BOUND_BYTES, text);
    assert.ok(http.sent >= 10 && http.answered / http.sent >= 0.95, text);
    assert.equal(bodies.closedByServer, bodies.opened, `not ended by the request timeout: ${text}`);
  });
});

Deno.test("--rate-limit never refuses a fresh address for the traffic of one that just closed", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--rate-limit", "5"],
    });
    const rounds = await reusedConnectionRounds({
      endpoint: service.endpoint,
      limit: 5,
      rounds: 15,
    });
    const text = JSON.stringify(rounds);
    assert.equal(rounds.aExhausted, 15, `A did not use up its bucket every round: ${text}`);
    assert.equal(rounds.unanswered, 0, text);
    assert.equal(rounds.refused, 0, `B's first request refused for A's traffic: ${text}`);
    assert.equal(rounds.answered, 15, text);
  });
});

/**
 * Addresses one request of the big-replies test may name: 64 fields of the London record
 * (about 3.6 KB a line) for 4000 addresses make replies of 13.7 MiB, under the default
 * `--max-outbound-mb` of 16 (two in flight are over it even when the kernel's socket
 * buffers, several MiB on loopback, hold part of them); for 5000, 17.2 MiB, over it.
 */
const MAX_ADDRESSES = 5000;
const OUTBOUND_BYTES = 16 * MIB;

/** `get` with 64 fields of the London record (about 56 bytes each) for `count` addresses. */
function bigGet(count: number): string {
  const fields = Array.from({ length: 64 }, (_, i) => ["city", "location", "country"][i % 3]);
  return `get ${fields.join(",")} ${new Array(count).fill("81.2.69.160").join(" ")}`;
}

Deno.test("a client that reads everything gets a reply or an ERROR to every request, never silence", async (t) => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, {
      workers: 2,
      flags: ["--max-addresses", String(MAX_ADDRESSES)],
    });
    const underBudget = bigGet(4000);
    for (const reader of [{ bytesPerSecond: 32_000_000 }, {}]) {
      const kind = reader.bytesPerSecond === undefined ? "through libzmq" : "at 32 MB/s";
      await t.step(`replies under the budget, two in flight, read ${kind}`, async () => {
        const result = await readBigReplies({
          endpoint: service.endpoint,
          request: underBudget,
          total: 6,
          inFlight: 2,
          deadlineMs: 5000,
          ...reader,
        });
        const text = describeBigReplies(result);
        const errors = Object.values(result.errors).reduce((sum, n) => sum + n, 0);
        assert.ok(result.largestBytes < OUTBOUND_BYTES, text);
        assert.equal(result.silent, 0, text);
        assert.equal(result.abandoned, 0, text);
        assert.equal(result.replies + errors, 6, text);
      });
    }
    await t.step("a reply over the budget on its own is refused up front", async () => {
      const result = await readBigReplies({
        endpoint: service.endpoint,
        request: bigGet(MAX_ADDRESSES),
        total: 2,
        inFlight: 1,
        deadlineMs: 5000,
      });
      const text = describeBigReplies(result);
      assert.equal(result.silent, 0, text);
      assert.equal(result.replies, 0, text);
      const errors = Object.entries(result.errors);
      assert.equal(errors.length, 1, text);
      assert.match(errors[0]![0], /^ERROR\treply too large: /, text);
      assert.equal(errors[0]![1], 2, text);
    });
  });
});

/**
 * What 1000 distinct field lists of 64 KB may grow the service by with `--cache-mb 0`:
 * parsed lists are charged to the cache budget or to a small one of their own. The rest
 * is the cost of handling 64 KB requests in four workers.
 */
const FIELD_LISTS_BOUND_BYTES = 64 * MIB;

Deno.test("distinct get field lists stay within a budget with --cache-mb 0", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, {
      workers: 4,
      flags: ["--cache-mb", "0"],
    });
    const before = rssOf(service.pid);
    const peak = watchPeak(service.pid);
    const result = await sendDistinctFieldLists({ endpoint: service.endpoint, count: 1000 });
    const grown = await peak.stop() - before;
    const text = `${result.answered} of ${result.sent} answered, ${
      JSON.stringify(result.errors)
    }; resident memory +${(grown / MIB).toFixed(0)} MiB`;
    // Every request answered, with values or an ERROR (a service may refuse such paths).
    const errors = Object.values(result.errors).reduce((sum, n) => sum + n, 0);
    assert.equal(result.unanswered, 0, text);
    assert.equal(result.answered + errors, 1000, text);
    assert.ok(grown <= FIELD_LISTS_BOUND_BYTES, text);
  });
});

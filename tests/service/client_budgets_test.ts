/**
 * What one ZeroMQ client can make the service hold, on the real service process:
 * `--max-inbound-mb` (a raw ZMTP peer sending a message that never ends is cut, and
 * the memory comes back), `--max-outbound-mb` (a peer that never reads its replies gets
 * no more computed for it), and `--rate-limit` (requests over the rate get
 * `ERROR rate limited`). A well-behaved client is answered throughout.
 *
 * @module
 */

import { limitedTotal as limited, rssOf } from "../support/service_readings.ts";
import assert from "node:assert/strict";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { askOrNull, CurveClient, SocketType } from "../support/curve_client.ts";
import { freeLoopbackPort } from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { encodeFrame, ZmtpSpeaker } from "../../tooling/mod.ts";

const encoder = new TextEncoder();

const MIB = 1024 * 1024;

Deno.test("--max-inbound-mb cuts a connection sending a message that never ends", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const httpPort = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 2,
      flags: ["--max-inbound-mb", "4", "--http", `127.0.0.1:${httpPort}`],
    });
    await using client = new CurveClient();
    const wellBehaved = client.socket(SocketType.REQ, service.endpoint, { timeoutMs: 2000 });
    const before = rssOf(service.pid);
    const speaker = await ZmtpSpeaker.connect(service.endpoint, { socketType: "DEALER" });
    const frame = encodeFrame(new Uint8Array(30 * 1024).fill(0x41), { more: true });
    const chunk = new Uint8Array(frame.length * 32);
    for (let i = 0; i < 32; i++) chunk.set(frame, i * frame.length);
    let sent = 0;
    let peak = before;
    let cut = false;
    const deadline = Date.now() + 15_000;
    try {
      while (Date.now() < deadline && sent < 1024 * MIB) {
        await speaker.sendRaw(chunk);
        sent += chunk.length;
        peak = Math.max(peak, rssOf(service.pid));
      }
    } catch {
      cut = true;
    } finally {
      speaker.close();
    }
    assert.ok(cut, `the connection was not cut after ${(sent / MIB).toFixed(0)} MiB`);
    assert.ok(
      peak - before <= 256 * MIB, // the bound the service promises under attack
      `resident memory grew by ${((peak - before) / MIB).toFixed(0)} MiB`,
    );
    assert.equal(askOrNull(wellBehaved, "geoip 81.2.69.160"), LONDON_TSV);
    await service.waitForLog(/cut a ZeroMQ connection/);
    assert.ok(await limited(httpPort, "zmq", "inbound_bytes") >= 1);
    // The memory the message took comes back (glibc is asked to return it).
    let after = rssOf(service.pid);
    for (let i = 0; i < 30 && after - before > 64 * MIB; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      askOrNull(wellBehaved, "ping"); // the front end looks at its budget as it serves
      after = rssOf(service.pid);
    }
    assert.ok(
      after - before <= 64 * MIB,
      `${((after - before) / MIB).toFixed(0)} MiB still held after the cut`,
    );
  });
});

Deno.test("--max-outbound-mb stops answering a peer that never reads", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const httpPort = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 2,
      flags: ["--max-outbound-mb", "1", "--http", `127.0.0.1:${httpPort}`],
    });
    await using client = new CurveClient();
    const wellBehaved = client.socket(SocketType.REQ, service.endpoint, { timeoutMs: 2000 });
    const before = rssOf(service.pid);
    // Each request's reply is about 50 KB (the London line 1000 times).
    const request = encoder.encode(
      "geoip " + new Array(1000).fill("81.2.69.160").join(" "),
    );
    const message = new Uint8Array([
      ...encodeFrame(new Uint8Array(0), { more: true }),
      ...encodeFrame(request),
    ]);
    const speaker = await ZmtpSpeaker.connect(service.endpoint, { socketType: "DEALER" });
    let peak = before;
    try {
      const deadline = Date.now() + 6000;
      for (let sent = 0; Date.now() < deadline; sent++) {
        await speaker.sendRaw(message); // and never read a reply
        if (sent % 50 === 0) {
          peak = Math.max(peak, rssOf(service.pid));
          assert.equal(askOrNull(wellBehaved, "geoip 81.2.69.160"), LONDON_TSV);
        }
      }
      await service.waitForLog(/replies unread/);
      assert.ok(await limited(httpPort, "zmq", "not_reading") >= 1);
      assert.ok(
        peak - before <= 256 * MIB, // the bound the service promises under attack
        `resident memory grew by ${((peak - before) / MIB).toFixed(0)} MiB`,
      );
    } finally {
      speaker.close();
    }
    assert.equal(askOrNull(wellBehaved, "ping"), "pong");
  });
});

Deno.test("--rate-limit answers ERROR rate limited past N requests a second", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const httpPort = freeLoopbackPort();
    await using service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--rate-limit", "5", "--http", `127.0.0.1:${httpPort}`],
    });
    await using client = new CurveClient();
    const socket = client.socket(SocketType.REQ, service.endpoint, { timeoutMs: 2000 });
    const answers: (string | null)[] = [];
    for (let i = 0; i < 20; i++) answers.push(askOrNull(socket, "ping"));
    const pongs = answers.filter((answer) => answer === "pong").length;
    const limitedAnswers = answers.filter((answer) => answer === "ERROR\trate limited").length;
    assert.equal(pongs + limitedAnswers, 20, JSON.stringify(answers));
    assert.ok(pongs >= 5 && pongs <= 7, `${pongs} answered`); // the burst, and a refill
    assert.equal(await limited(httpPort, "zmq", "rate"), limitedAnswers);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(askOrNull(socket, "ping"), "pong", "allowed again a second later");
  });
});

Deno.test("--rate-limit answers 429 with Retry-After over HTTP past N requests a second", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const httpPort = freeLoopbackPort();
    await using _service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--rate-limit", "3", "--http", `127.0.0.1:${httpPort}`],
    });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`http://127.0.0.1:${httpPort}/json/81.2.69.160`);
      await response.body?.cancel();
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get("retry-after");
    }
    const ok = statuses.filter((status) => status === 200).length;
    assert.ok(ok >= 3 && ok <= 4, JSON.stringify(statuses));
    assert.equal(ok + statuses.filter((status) => status === 429).length, 10);
    assert.equal(retryAfter, "1");
    assert.equal(await limited(httpPort, "http", "rate"), 10 - ok);
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    await health.body?.cancel();
    assert.equal(health.status, 200, "/healthz is not limited");
  });
});

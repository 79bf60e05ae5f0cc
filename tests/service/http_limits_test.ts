/**
 * HTTP under pressure, against the real service process: the connection cap, the header
 * timeout against a slowloris client, surviving the open-file limit, and a bounded
 * memory for clients that send large batches and never read; plus the server's own
 * refusals (bad heads, heads too large) and the rate limit's 429, on HTTP routes in this
 * process. Every test uses real sockets.
 *
 * @module
 */

import { rssOf } from "../support/service_readings.ts";
import assert from "node:assert/strict";
import {
  type HttpRoutesOptions,
  type RequestRateLimiter,
  startHttpRoutes,
} from "../../lib/http/mod.ts";
import { GeoipResponder } from "../../lib/lookup/mod.ts";
import { ServiceMetrics } from "../../lib/metrics/mod.ts";
import { DEFAULT_LIMITS } from "../../lib/protocol/mod.ts";
import { writeAll } from "../../tooling/mod.ts";
import { cityFixture, LONDON_TSV, openFixture, withTempFile } from "../support/fixtures.ts";
import { freeLoopbackPort, metricValue, sleep } from "../support/live_service.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import { type ServiceProcess, startOnDatabase } from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DROPPED = "geoipmq_http_connections_dropped_total";

/** Opens a raw TCP connection to a port on 127.0.0.1. */
function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/**
 * Reads a connection until the server closes it, or until a time limit.
 *
 * @returns what was read, and whether the server closed the connection in time
 */
async function readUntilClosed(
  conn: Deno.Conn,
  timeoutMs: number,
): Promise<{ text: string; closed: boolean }> {
  const chunks: string[] = [];
  const buffer = new Uint8Array(64 * 1024);
  const timer = setTimeout(() => conn.close(), timeoutMs);
  let closed = false;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) {
        closed = true;
        break;
      }
      chunks.push(decoder.decode(buffer.subarray(0, n)));
    }
  } catch {
    // Closed here at the time limit, or reset by the server.
    closed = chunks.length > 0;
  } finally {
    clearTimeout(timer);
  }
  try {
    conn.close();
  } catch {
    // Closed.
  }
  return { text: chunks.join(""), closed };
}

/** Starts the service on the city fixture with HTTP on a free port and these flags. */
async function startWithHttp(
  path: string,
  flags: string[],
): Promise<{ service: ServiceProcess; port: number; base: string }> {
  const port = freeLoopbackPort();
  const service = await startOnDatabase(path, {
    workers: 1,
    flags: ["--http", `127.0.0.1:${port}`, ...flags],
  });
  return { service, port, base: `http://127.0.0.1:${port}` };
}

async function metrics(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  return await response.text();
}

Deno.test("--http-max-connections: the excess is answered 503 and closed; a client is served once others leave", async () => {
  await withTempFile(cityFixture(), async (path) => {
    // One thread: with more, each takes its share of the cap (docs/HTTP.md#threads).
    const { service, port, base } = await startWithHttp(path, [
      "--http-max-connections",
      "3",
      "--http-threads",
      "1",
    ]);
    await using _service = service;
    const held = await Promise.all([connect(port), connect(port), connect(port)]);
    await sleep(100);
    const excess = await connect(port);
    const refused = await readUntilClosed(excess, 3000);
    assert.ok(refused.closed, "the excess connection is closed");
    assert.match(refused.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(refused.text, /\r\nretry-after: 1\r\n/);
    assert.match(refused.text, /\{"error":"too many connections; try again later"\}$/);

    held.pop()!.close();
    await sleep(100);
    const response = await fetch(`${base}/geoip/81.2.69.160`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), LONDON_TSV);
    const text = await metrics(base);
    assert.ok(metricValue(text, `${DROPPED}{reason="max_connections"}`) >= 1);
    for (const conn of held) conn.close();
  });
});

Deno.test("--http-header-timeout-ms closes a slowloris connection while others are served", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const { service, port, base } = await startWithHttp(path, ["--http-header-timeout-ms", "300"]);
    await using _service = service;
    const slow = await connect(port);
    await writeAll(slow, encoder.encode("GET /json/81.2.69.160 HTTP/1.1\r\nHost: x\r\n"));
    const started = performance.now();
    const trickle = (async () => {
      for (let line = 0; line < 40; line++) {
        await sleep(50);
        await writeAll(slow, encoder.encode(`X-${line}: a\r\n`));
      }
    })().catch(() => "the server closed it");
    // A well-behaved client is served meanwhile.
    const response = await fetch(`${base}/geoip/81.2.69.160`);
    assert.equal(await response.text(), LONDON_TSV);
    const ended = await readUntilClosed(slow, 5000);
    const took = performance.now() - started;
    assert.ok(ended.closed, "the slowloris connection is closed");
    assert.equal(ended.text, "", "without an answer");
    assert.ok(took < 3000, `closed after ${took.toFixed(0)} ms, the timeout is 300 ms`);
    await trickle;
    // An idle keep-alive connection is closed the same way.
    const idle = await connect(port);
    assert.ok((await readUntilClosed(idle, 3000)).closed, "an idle connection is closed");
    const text = await metrics(base);
    assert.ok(metricValue(text, `${DROPPED}{reason="header_timeout"}`) >= 2);
  });
});

Deno.test("connections up to the open-file limit do not end the service, and ZeroMQ answers meanwhile", async () => {
  if (!await commandWorks("prlimit", ["--version"])) {
    skipForMissingTool("prlimit (apt-get install util-linux)");
    return;
  }
  await withTempFile(cityFixture(), async (path) => {
    // The cap is above the limit set below, so the accepts themselves fail with EMFILE.
    const { service, port, base } = await startWithHttp(path, ["--http-max-connections", "1000"]);
    await using _service = service;
    await using client = new TestClient();
    const zmq = client.socket(SocketType.REQ, service.endpoint, 2000);
    assert.equal(askOn(zmq, "ping"), "pong");
    const limit = await new Deno.Command("prlimit", {
      args: [`--pid=${service.pid}`, "--nofile=256:256"],
    }).output();
    assert.equal(limit.code, 0, decoder.decode(limit.stderr));

    const conns: Deno.TcpConn[] = [];
    for (let i = 0; i < 400; i++) conns.push(await connect(port));
    await sleep(500);
    assert.equal(askOn(zmq, "geoip 81.2.69.160"), LONDON_TSV, "ZeroMQ answers at the limit");
    await sleep(500);
    assert.equal(askOn(zmq, "ping"), "pong");
    for (const conn of conns) conn.close();
    // Accepts are retried: HTTP serves again once descriptors are free.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      try {
        const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
        status = response.status;
        await response.body?.cancel();
      } catch {
        await sleep(100);
      }
    }
    assert.equal(status, 200, "HTTP answers again");
    const text = await metrics(base);
    assert.ok(metricValue(text, "geoipmq_http_accept_failures_total") > 0, "accepts failed");
    assert.equal(askOn(zmq, "ping"), "pong");
    zmq.close();
  });
});

Deno.test("clients that send 1000-address GETs and never read cost a bounded memory", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const { service, port, base } = await startWithHttp(path, [
      "--http-max-connections",
      "400",
    ]);
    await using _service = service;
    // Found addresses: each answer is the whole London record.
    const query = Array.from({ length: 1000 }, (_, i) => `ip=81.2.69.${160 + (i % 30)}`);
    const request = encoder.encode(
      `GET /json?${query.join("&")} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(3),
    );
    const one = await fetch(`${base}/json?${query.join("&")}`);
    const answerBytes = (await one.arrayBuffer()).byteLength;
    assert.ok(answerBytes > 200_000, `an answer is ${answerBytes} bytes`);
    await sleep(300);
    const before = rssOf(service.pid);
    const conns: Deno.TcpConn[] = [];
    let peak = before;
    for (let i = 0; i < 300; i++) {
      const conn = await connect(port);
      conns.push(conn);
      writeAll(conn, request).catch(() => {});
      if (i % 20 === 0) peak = Math.max(peak, rssOf(service.pid));
    }
    for (let i = 0; i < 20; i++) {
      await sleep(100);
      peak = Math.max(peak, rssOf(service.pid));
    }
    // Held without a bound, 300 clients × 3 answers would be about 900 × answerBytes.
    const grew = peak - before;
    const unbounded = 900 * answerBytes;
    assert.ok(
      grew < 96 * 1024 * 1024 && grew < unbounded / 3,
      `VmRSS grew by ${(grew / 1048576).toFixed(0)} MB (unbounded: ` +
        `${(unbounded / 1048576).toFixed(0)} MB)`,
    );
    // A well-behaved client is served meanwhile (about 0.4 s here on a loaded machine; the
    // bound is generous for slower ones).
    const response = await fetch(`${base}/geoip/81.2.69.160`, {
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(await response.text(), LONDON_TSV);
    for (const conn of conns) conn.close();
  });
});

Deno.test("--http-request-timeout-ms closes a connection whose answer is not read", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const { service, port, base } = await startWithHttp(path, [
      "--http-request-timeout-ms",
      "500",
    ]);
    await using _service = service;
    const query = Array.from({ length: 1000 }, () => "ip=81.2.69.160").join("&");
    const conn = await connect(port);
    // Many requests, never read: the answers fill the socket buffers and the writes wait.
    const request = encoder.encode(`GET /json?${query} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const writing = (async () => {
      for (let i = 0; i < 200; i++) await writeAll(conn, request);
    })().catch(() => {});
    let dropped = 0;
    for (let attempt = 0; attempt < 100 && dropped === 0; attempt++) {
      await sleep(100);
      dropped = metricValue(await metrics(base), `${DROPPED}{reason="request_timeout"}`);
    }
    assert.equal(dropped, 1, "the connection is dropped at its request deadline");
    conn.close();
    await writing;
  });
});

/** HTTP routes over the city fixture in this process, with the given limits. */
function startRoutes(options: Pick<HttpRoutesOptions, "limits" | "rateLimiter">) {
  const metrics = ServiceMetrics.create({ version: "0.0.0" });
  const responder = new GeoipResponder(openFixture(cityFixture()), {
    limits: DEFAULT_LIMITS,
    server: { version: "0.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() },
  });
  const routes = startHttpRoutes({
    hostname: "127.0.0.1",
    port: 0,
    responder: () => responder,
    maxAddresses: 1000,
    health: () => ({ ok: true, reason: "" }),
    metrics,
    renderMetrics: () => metrics.renderPrometheus(),
    ...options,
  });
  return { routes, metrics, base: `http://127.0.0.1:${routes.addr.port}` };
}

/** Sends raw bytes on a new connection and reads until the server closes it. */
async function exchange(port: number, bytes: Uint8Array): Promise<string> {
  const conn = await connect(port);
  await writeAll(conn, bytes);
  const { text, closed } = await readUntilClosed(conn, 3000);
  assert.ok(closed, "the server closes the connection");
  return text;
}

Deno.test("the HTTP server refuses what it does not serve, and closes", async (t) => {
  const { routes, metrics } = startRoutes({ limits: { maxHeadBytes: 2048 } });
  const port = routes.addr.port;
  try {
    await t.step("a malformed request line is 400", async () => {
      const text = await exchange(port, encoder.encode("HELLO\r\n\r\n"));
      assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.match(text, /\{"error":"malformed request line"\}$/);
    });
    await t.step("a head over the limit is 431", async () => {
      const text = await exchange(
        port,
        encoder.encode(`GET /healthz HTTP/1.1\r\nX: ${"a".repeat(4096)}\r\n\r\n`),
      );
      assert.match(text, /^HTTP\/1\.1 431 /);
    });
    await t.step("Transfer-Encoding with Content-Length is 400", async () => {
      const text = await exchange(
        port,
        encoder.encode(
          "POST /json HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n[]",
        ),
      );
      assert.match(text, /^HTTP\/1\.1 400 /);
    });
    await t.step("pipelined requests are answered in order on one connection", async () => {
      const text = await exchange(
        port,
        encoder.encode(
          "GET /geoip/81.2.69.160 HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
        ),
      );
      const first = text.indexOf(LONDON_TSV);
      const second = text.indexOf('{"status":"ok"}');
      assert.ok(first > 0 && second > first, text);
    });
    await t.step("a chunked POST is read", async () => {
      const body = '["81.2.69.160"]';
      const text = await exchange(
        port,
        encoder.encode(
          "POST /json HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
            `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        ),
      );
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /"ip":"81\.2\.69\.160"/);
    });
    assert.ok(metrics.snapshot().httpDropped.bad_request >= 3);
  } finally {
    await routes.shutdown();
  }
});

Deno.test("a rate limiter's refusal is a 429 with Retry-After, for lookups only", async () => {
  const asked: string[] = [];
  let allowed = 2;
  const limiter: RequestRateLimiter = {
    allow(address) {
      asked.push(address);
      return allowed-- > 0;
    },
    retryAfterSeconds: () => 3,
  };
  const { routes, base } = startRoutes({ rateLimiter: limiter });
  try {
    assert.equal(await fetch(`${base}/geoip/81.2.69.160`).then((r) => r.text()), LONDON_TSV);
    assert.equal((await fetch(`${base}/json?ip=81.2.69.160`)).status, 200);
    const refused = await fetch(`${base}/json/81.2.69.160`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "3");
    assert.deepEqual(await refused.json(), { error: "rate limited; try again later" });
    const health = await fetch(`${base}/healthz`);
    await health.body?.cancel();
    assert.equal(health.status, 200, "health checks are not limited");
    assert.deepEqual(asked, ["127.0.0.1", "127.0.0.1", "127.0.0.1"]);
  } finally {
    await routes.shutdown();
  }
});

Deno.test("every metric family the service exposes is in docs/HTTP.md's metrics list", async () => {
  const { routes, metrics } = startRoutes({});
  await routes.shutdown();
  const docs = await Deno.readTextFile(new URL("../../docs/HTTP.md", import.meta.url));
  const families = [...metrics.renderPrometheus().matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
  assert.ok(families.includes(DROPPED));
  for (const family of families) {
    assert.ok(docs.includes(`| \`${family}\``), `${family} is not in docs/HTTP.md`);
  }
});

/**
 * HTTP served from two threads (`--http-threads 2`) by the real service process: fresh
 * connections, which the kernel spreads between the threads, are all answered (lookups,
 * `/healthz`, `/metrics`), a reload changes every connection's answers, and SIGTERM
 * stops cleanly.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  exitWithin,
  LETTERED_ADDRESSES,
  letteredDatabase,
  letteredTsv,
  linesMatching,
  metricValue,
  replaceAtomically,
  waitForNewLine,
} from "../support/live_service.ts";
import { startOnDatabase, STOPPED_LINE } from "../support/service_process.ts";

const RELOADED = /^geoipmq: reloaded: serving /;

/** Fresh connections per check: with two threads, all on one would be a 1 in 2^39 chance. */
const CONNECTIONS = 40;

const decoder = new TextDecoder();

/** One request on a connection of its own, closed after: the status line and the body. */
async function askFresh(port: number, path: string): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const text = decoder.decode(concat(chunks));
    const split = text.indexOf("\r\n\r\n");
    assert.ok(split > 0, `a whole answer to ${path}: ${JSON.stringify(text)}`);
    const head = text.slice(0, split);
    assert.match(head, /\r\ncontent-length: /i, `not chunked (Connection: close): ${head}`);
    return { status: Number(head.split(" ")[1]), body: text.slice(split + 4) };
  } finally {
    conn.close();
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** Asks every lettered address over fresh connections; fails unless `city` answers all. */
async function expectCity(port: number, city: string): Promise<void> {
  const asked = Array.from(
    { length: CONNECTIONS },
    (_, i) => LETTERED_ADDRESSES[i % LETTERED_ADDRESSES.length]!,
  );
  const answers = await Promise.all(asked.map((address) => askFresh(port, `/geoip/${address}`)));
  answers.forEach((answer, i) => {
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.body.trim(), letteredTsv(city, asked[i]!), `connection ${i}`);
  });
}

Deno.test("--http-threads 2: every fresh connection answered, a reload reaches all, SIGTERM exits 0", async () => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-http-threads-" });
  const path = `${directory}/GeoIP2-City.mmdb`;
  try {
    await Deno.writeFile(path, letteredDatabase("Alpha", 1_700_000_000));
    await using service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--http", "127.0.0.1:0", "--http-threads", "2"],
    });
    const ready = service.log.find((line) => line.includes("HTTP on http://127.0.0.1:"));
    const port = Number(/HTTP on http:\/\/127\.0\.0\.1:(\d+)/.exec(ready ?? "")?.[1]);
    assert.ok(port > 0, `the port bound, in the ready line: ${ready}`);

    await expectCity(port, "Alpha");
    const health = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => askFresh(port, "/healthz")),
    );
    for (const answer of health) {
      assert.deepEqual([answer.status, answer.body], [200, '{"status":"ok"}']);
    }
    const metrics = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => askFresh(port, "/metrics")),
    );
    for (const answer of metrics) {
      assert.equal(answer.status, 200);
      // Both threads count in the one shared set of metrics.
      assert.equal(
        metricValue(
          answer.body,
          'geoipmq_requests_total{transport="http",verb="geoip",outcome="ok"}',
        ),
        CONNECTIONS,
      );
    }

    const seen = linesMatching(service, RELOADED).length;
    await replaceAtomically(path, letteredDatabase("Bravo", 1_750_000_000));
    Deno.kill(service.pid, "SIGHUP");
    await waitForNewLine(service, RELOADED, seen);
    await expectCity(port, "Bravo");

    Deno.kill(service.pid, "SIGTERM");
    const exit = await exitWithin(service.exited, 10_000);
    assert.ok(exit !== null, `exits within 10 s:\n${service.log.join("\n")}`);
    assert.equal(exit.status.code, 0, service.log.join("\n"));
    assert.match(service.log.at(-1)!, STOPPED_LINE);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

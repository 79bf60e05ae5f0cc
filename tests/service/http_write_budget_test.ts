/**
 * The write budget of a long HTTP answer: a piece larger than what a connection may hold
 * encoded at once (`WRITE_BUDGET_BYTES`) goes out in several chunks, whole and in order,
 * over HTTP/1.1 (chunked) and HTTP/1.0 (the bytes as they are, then the close).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startHttpRoutes, WRITE_BUDGET_BYTES } from "../../lib/http/mod.ts";
import { GeoipResponder } from "../../lib/lookup/mod.ts";
import { ServiceMetrics } from "../../lib/metrics/mod.ts";
import { DEFAULT_LIMITS } from "../../lib/protocol/mod.ts";
import { openFixture } from "../support/fixtures.ts";
import { buildMmdb } from "../../tooling/mod.ts";

/** 81.2.69.160/27: a city whose name alone is several write budgets of UTF-8. */
const LONG_NAME = "ミュンヘン🙂".repeat(Math.ceil((3 * WRITE_BUDGET_BYTES) / 10));

Deno.test("a batch whose pieces exceed the write budget arrives whole over HTTP/1.1 and 1.0", async () => {
  const database = openFixture(buildMmdb({
    ipVersion: 6,
    databaseType: "GeoIP2-City",
    languages: ["ja"],
    description: { en: "long names" },
    buildEpoch: 1_700_000_000,
  }, [{ network: "81.2.69.160/27", record: { city: { names: { ja: LONG_NAME } } } }]));
  const metrics = ServiceMetrics.create({ version: "0" });
  const responder = new GeoipResponder(database, {
    limits: DEFAULT_LIMITS,
    server: { version: "0", libzmqVersion: "4.3.5", startedAt: Date.now() },
    cache: { maxBytes: 1024 * 1024 },
  });
  const routes = startHttpRoutes({
    hostname: "127.0.0.1",
    port: 0,
    responder: () => responder,
    maxAddresses: 100,
    health: () => ({ ok: true, reason: "" }),
    metrics,
    renderMetrics: () => "",
  });
  const query = Array.from({ length: 9 }, (_, i) => `ip=81.2.69.${160 + i}`).join("&");
  try {
    const response = await fetch(`http://127.0.0.1:${routes.addr.port}/json?${query}`);
    const answers = await response.json();
    assert.equal(answers.length, 9);
    for (const answer of answers) assert.equal(answer.record.city.names.ja, LONG_NAME);

    const conn = await Deno.connect({ hostname: "127.0.0.1", port: routes.addr.port });
    await conn.write(new TextEncoder().encode(`GET /json?${query} HTTP/1.0\r\n\r\n`));
    const text = await new Response(conn.readable).text();
    const [head, body] = [
      text.slice(0, text.indexOf("\r\n\r\n")),
      text.slice(text.indexOf("\r\n\r\n") + 4),
    ];
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(head, /transfer-encoding/i);
    const old = JSON.parse(body);
    assert.equal(old.length, 9);
    assert.equal(old[8].record.city.names.ja, LONG_NAME);
  } finally {
    await routes.shutdown();
  }
});

/**
 * The spawner every test and script starts the service with: the endpoints it chooses,
 * readiness by asking (ZeroMQ `ping`, or `GET /healthz`), and how it fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runToExit, spawnService } from "../../tooling/mod.ts";
import { VERSION } from "../../lib/service/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { freeLoopbackPort, metricValue } from "../support/live_service.ts";
import { TestClient } from "../support/test_client.ts";

Deno.test("spawnService() binds a free loopback port when no --bind is given", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await spawnService(["--db", path, "--workers", "1"]);
    assert.equal(service.endpoints.length, 1);
    assert.match(service.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    // Ready means answering: no waiting here.
    await using client = new TestClient();
    assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160"), LONDON_TSV);
    const ready = await service.waitForLog(/ready on /);
    assert.ok(ready.includes(`ready on ${service.endpoint} with 1 worker,`), ready);
    assert.equal((await service.stop("SIGTERM")).code, 0, service.log.join("\n"));
  });
});

Deno.test("spawnService() gives a tcp://host:* bind a port, as the service reports it", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const args = ["--db", path, "--bind", "tcp://127.0.0.1:*", "--bind", "tcp://[::1]:*"];
    await using service = await spawnService(args);
    assert.match(service.endpoints[0]!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.match(service.endpoints[1]!, /^tcp:\/\/\[::1\]:\d+$/);
    const ready = await service.waitForLog(/ready on /);
    assert.ok(ready.startsWith(`geoipmq: ready on ${service.endpoints.join(", ")} with`), ready);
  });
});

Deno.test("spawnService() asks GET /healthz when the service serves HTTP on a known port", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const port = freeLoopbackPort();
    await using service = await spawnService(["--db", path, "--http", `127.0.0.1:${port}`]);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.equal(
      metricValue(metrics, 'geoipmq_requests_total{transport="zmq",verb="ping",outcome="ok"}'),
      0,
      "no ZeroMQ ping was needed",
    );
    await using client = new TestClient();
    assert.equal(client.ask(service.endpoint, "ping"), "pong");
  });
});

Deno.test("spawnService() fails with the service's stderr when it exits before ready", async () => {
  await assert.rejects(
    () => spawnService(["--db", "/nonexistent/City.mmdb"]),
    (error: Error) => {
      assert.match(error.message, /^service exited with 1 before ready:\n/);
      assert.match(error.message, /Cannot open database "\/nonexistent\/City\.mmdb"/);
      return true;
    },
  );
});

Deno.test("spawnService() gives up after its time limit and kills the service", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await assert.rejects(
      () => spawnService(["--db", path], { timeoutMs: 1 }),
      /^Error: service not ready after 1 ms/,
    );
  });
});

Deno.test("spawnService() kills the service when its signal is aborted", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const killer = new AbortController();
    const starting = spawnService(["--db", path], { signal: killer.signal });
    killer.abort();
    await assert.rejects(starting, /^Error: service exited with 137 before ready/);
  });
});

Deno.test("spawnService() needs a probe for a service it cannot ask by itself", async (t) => {
  await t.step("--connect alone", async () => {
    await assert.rejects(
      () => spawnService(["--db", "x.mmdb", "--connect", "tcp://127.0.0.1:9"]),
      TypeError,
    );
  });
  await t.step("CURVE without keys", async () => {
    const args = ["--db", "x.mmdb", "--curve-secret-key-file", "k", "--curve-allow-file", "a"];
    await assert.rejects(() => spawnService(args), TypeError);
  });
});

Deno.test("runToExit() runs the service to its end with the start task's flags", async () => {
  const result = await runToExit(["--version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), `geoipmq ${VERSION}`);
});

/**
 * `deno run -A main.ts --http …`, typed as a user types it in a clone (no `--unstable-net`),
 * serves HTTP on its two default threads, because `deno.json` turns the unstable net API
 * on; and where the configuration does not (another `deno.json`), the service says so in
 * one line and serves HTTP on one thread instead of ending at the first listen.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { exitWithin } from "../support/live_service.ts";
import { type ServiceProcess, spawnService, STOPPED_LINE } from "../support/service_process.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ONE_THREAD = /^geoipmq: warn: --http-threads 2 needs Deno's unstable net API/;

/** Starts `deno run <denoFlags> main.ts <args>` in the repository, as typed in a shell. */
async function startAsTyped(denoFlags: string[], args: string[]): Promise<ServiceProcess> {
  const service = await spawnService(["run", ...denoFlags, "main.ts", ...args], {
    executable: Deno.execPath(),
    cwd: PROJECT_ROOT,
  });
  try {
    await service.waitForLog(/ready on/);
  } catch (error) {
    await service.stop("SIGKILL");
    throw error;
  }
  return service;
}

/** The HTTP port in the ready line. */
function httpPort(service: ServiceProcess): number {
  const ready = service.log.find((line) => line.includes("HTTP on http://127.0.0.1:"));
  const port = Number(/HTTP on http:\/\/127\.0\.0\.1:(\d+)/.exec(ready ?? "")?.[1]);
  assert.ok(port > 0, `the port bound, in the ready line:\n${service.log.join("\n")}`);
  return port;
}

/** Asks `/geoip/81.2.69.160` and `/healthz` on fresh connections, then stops with SIGTERM. */
async function expectServedThenStop(service: ServiceProcess): Promise<void> {
  const port = httpPort(service);
  for (let i = 0; i < 8; i++) {
    const answer = await fetch(`http://127.0.0.1:${port}/geoip/81.2.69.160`, {
      headers: { connection: "close" },
    });
    assert.equal(answer.status, 200);
    assert.equal((await answer.text()).trim(), LONDON_TSV);
  }
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.deepEqual([health.status, await health.text()], [200, '{"status":"ok"}']);
  Deno.kill(service.pid, "SIGTERM");
  const exit = await exitWithin(service.exited, 10_000);
  assert.ok(exit !== null, `exits within 10 s:\n${service.log.join("\n")}`);
  assert.equal(exit.status.code, 0, service.log.join("\n"));
  assert.match(service.log.at(-1)!, STOPPED_LINE);
}

Deno.test("deno run -A main.ts --http serves HTTP on two threads without --unstable-net", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const service = await startAsTyped(["-A"], [
      "--db",
      path,
      "--bind",
      "tcp://127.0.0.1:*",
      "--workers",
      "1",
      "--http",
      "127.0.0.1:0",
    ]);
    try {
      assert.ok(
        !service.log.some((line) => ONE_THREAD.test(line)),
        `no fallback to one thread:\n${service.log.join("\n")}`,
      );
      await expectServedThenStop(service);
    } finally {
      await service.stop("SIGKILL");
    }
  });
});

Deno.test("without the unstable net API the service warns and serves HTTP on one thread", async () => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-deno-run-" });
  try {
    const config = JSON.parse(await Deno.readTextFile(join(PROJECT_ROOT, "deno.json")));
    assert.deepEqual(config.unstable, ["net"], "deno.json turns the unstable net API on");
    delete config.unstable;
    const configPath = join(directory, "deno.json");
    await Deno.writeTextFile(configPath, JSON.stringify(config));
    await withTempFile(cityFixture(), async (path) => {
      const service = await startAsTyped(["-A", "--config", configPath, "--no-lock"], [
        "--db",
        path,
        "--bind",
        "tcp://127.0.0.1:*",
        "--workers",
        "1",
        "--http",
        "127.0.0.1:0",
      ]);
      try {
        const warnings = service.log.filter((line) => ONE_THREAD.test(line));
        assert.deepEqual(warnings, [
          "geoipmq: warn: --http-threads 2 needs Deno's unstable net API (run with " +
          '--unstable-net, or "unstable": ["net"] in deno.json): serving HTTP on one thread',
        ]);
        await expectServedThenStop(service);
      } finally {
        await service.stop("SIGKILL");
      }
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

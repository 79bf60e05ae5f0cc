/**
 * `ipc://` endpoints through the real process: a second instance cannot take a path a
 * live instance listens on (libzmq would silently unlink and rebind it), a stale socket
 * file is taken over, and a clean stop leaves no socket file behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cityFixture, withTempFile } from "../support/fixtures.ts";
import { runToExit, startService } from "../support/service_process.ts";
import { TestClient } from "../support/test_client.ts";

/** Runs `body` with the city fixture's path and a socket path in a fresh directory. */
async function withIpcPath(body: (db: string, socket: string) => Promise<void>): Promise<void> {
  await withTempFile(cityFixture(), async (db) => {
    const dir = await Deno.makeTempDir({ prefix: "geoipmq-ipc-" });
    try {
      await body(db, `${dir}/geoipmq.sock`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("a second instance on an ipc path in use exits 1 and the first serves on", async () => {
  await withIpcPath(async (db, socket) => {
    const endpoint = `ipc://${socket}`;
    const args = ["--db", db, "--bind", endpoint, "--workers", "1"];
    await using first = await startService(args);
    const second = await runToExit(args, { timeoutMs: 15_000, killWith: "SIGTERM" });
    assert.equal(second.code, 1, second.stderr);
    const lines = second.stderr.split("\n").filter((line) => line.startsWith("geoipmq:"));
    assert.equal(
      lines.at(-1),
      `geoipmq: error: Cannot start: ${endpoint} is in use by another process`,
    );
    assert.doesNotMatch(second.stderr, /ready on/);
    {
      await using client = new TestClient();
      assert.equal(client.ask(endpoint, "ping"), "pong", "the first instance still answers");
    }
    assert.ok(await exists(socket));
    const status = await first.stop("SIGTERM");
    assert.equal(status.code, 0, first.log.join("\n"));
    assert.equal(await exists(socket), false, "the socket file is gone after SIGTERM");
  });
});

Deno.test("a stale ipc socket file nobody listens on is taken over", async () => {
  await withIpcPath(async (db, socket) => {
    const args = ["--db", db, "--bind", `ipc://${socket}`, "--workers", "1"];
    const killed = await startService(args);
    await killed.stop("SIGKILL");
    assert.ok(await exists(socket), "a killed service leaves its socket file");
    await using next = await startService(args);
    {
      await using client = new TestClient();
      assert.equal(client.ask(`ipc://${socket}`, "ping"), "pong");
    }
    const status = await next.stop("SIGINT");
    assert.equal(status.code, 0, next.log.join("\n"));
    assert.equal(await exists(socket), false, "the socket file is gone after SIGINT");
  });
});

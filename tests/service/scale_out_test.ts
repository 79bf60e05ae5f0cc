import assert from "node:assert/strict";
import { GeoipClient } from "../../lib/client/mod.ts";
import { Errno, SocketType, ZmqError } from "../../lib/zmq/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile, withTempFiles } from "../support/fixtures.ts";
import { askOn, TestClient } from "../support/test_client.ts";
import { SERVICE_PERMISSIONS, startOnDatabase, startService } from "../support/service_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function freeEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `tcp://127.0.0.1:${port}`;
}

/** Starts `geoipmq broker` and waits for its ready line. */
async function startBroker(frontend: string, backend: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...SERVICE_PERMISSIONS,
      MAIN,
      "broker",
      "--frontend",
      frontend,
      "--backend",
      backend,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 30_000;
  let text = "";
  while (!text.includes("broker ready") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  lines.push(...text.split("\n"));
  const drain = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe flowing */ }
  })();
  assert.ok(text.includes("broker ready"), `the broker did not start:\n${text}`);
  return {
    lines,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      const status = await child.status;
      await drain;
      assert.equal(status.code, 0, "the broker stops with exit 0");
    },
  };
}

Deno.test("a broker spreads requests over instances that connect to it, and survives losing one", async () => {
  await withTempFiles([cityFixture(), cityFixture()], async ([pathA, pathB]) => {
    const frontend = freeEndpoint();
    const backend = freeEndpoint();
    await using _broker = await startBroker(frontend, backend);
    // Behind the broker, ready is when this instance answers through it.
    const behind = (path: string) => ({
      probe: {
        endpoint: frontend,
        request: "info",
        accept: (reply: string) => JSON.parse(reply).database_path === path,
      },
    });
    const instance = (path: string) => ["--db", path, "--connect", backend, "--workers", "1"];
    await using a = await startService(instance(pathA), behind(pathA));
    await using _b = await startService(instance(pathB), behind(pathB));
    assert.ok(a.log.some((line) => line.includes(`ready on ${backend} (connected)`)));
    await using client = new GeoipClient({ endpoints: [frontend], timeoutMs: 500, attempts: 5 });

    const served = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const path = String((await client.info()).database_path);
      served.set(path, (served.get(path) ?? 0) + 1);
    }
    assert.deepEqual([...served.keys()].sort(), [pathA, pathB].sort(), "both instances got work");

    await a.stop("SIGKILL");
    for (let i = 0; i < 40; i++) {
      const place = await client.lookup("81.2.69.160");
      assert.equal(place?.city, "London", `lookup ${i} after one instance died`);
    }
    for (let i = 0; i < 10; i++) {
      assert.equal((await client.info()).database_path, pathB, "the other takes all of it");
    }
  });
});

Deno.test("an instance can bind and connect at once", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const frontend = freeEndpoint();
    const backend = freeEndpoint();
    await using _broker = await startBroker(frontend, backend);
    await using service = await startOnDatabase(path, { flags: ["--connect", backend] });
    await using direct = new GeoipClient({ endpoints: [service.endpoint] });
    await using brokered = new GeoipClient({ endpoints: [frontend], timeoutMs: 2000 });
    assert.equal(await direct.request("ping"), "pong");
    assert.equal(await brokered.request("ping"), "pong");
  });
});

Deno.test("a request over the broker's limit cuts off its sender at the broker; the instances go on", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const frontend = freeEndpoint();
    const backend = freeEndpoint();
    await using _broker = await startBroker(frontend, backend);
    await using _instance = await startService(
      ["--db", path, "--connect", backend, "--workers", "1"],
      { probe: { endpoint: frontend } },
    );
    await using client = new TestClient();
    const good = client.socket(SocketType.REQ, frontend, 5000);
    assert.equal(askOn(good, "ping"), "pong");
    for (let i = 0; i < 2; i++) {
      // 70 KB, over the 64 KiB default: the broker drops this sender, no reply comes.
      const attacker = client.socket(SocketType.REQ, frontend, 1000);
      attacker.send("geoip " + "1.1.1.1 ".repeat(10_000));
      assert.throws(() => attacker.receive(), (error: unknown) => {
        return error instanceof ZmqError && error.errno === Errno.EAGAIN;
      });
      attacker.close();
    }
    for (let i = 0; i < 20; i++) {
      assert.equal(askOn(good, "geoip 81.2.69.160"), LONDON_TSV, `request ${i} after the attack`);
    }
  });
});

import assert from "node:assert/strict";
import { GeoipClient } from "../../lib/client/mod.ts";
import { Errno, SocketType, ZmqError } from "../../lib/zmq/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile, withTempFiles } from "../support/fixtures.ts";
import { askOn, TestClient } from "../support/test_client.ts";
import { concatBytes, encodeCommand, encodeGreeting, tcpAddress } from "../../tooling/mod.ts";
import { SERVICE_PERMISSIONS, startOnDatabase, startService } from "../support/service_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function freeEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `tcp://127.0.0.1:${port}`;
}

/** Starts `geoipmq broker` and waits for its ready line. */
async function startBroker(frontend: string, backend: string, flags: string[] = []) {
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
      ...flags,
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
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      child.kill("SIGTERM");
      const status = await child.status;
      await drain;
      assert.equal(status.code, 0, "the broker stops with exit 0");
    })();
  return { lines, stop, [Symbol.asyncDispose]: stop };
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

Deno.test("the broker answers ERROR for what an instance would refuse; the instance stays connected", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const frontend = freeEndpoint();
    const backend = freeEndpoint();
    await using _broker = await startBroker(frontend, backend);
    // Below the broker's 65,536: frames between the two limits reach the instance.
    await using instance = await startService(
      ["--db", path, "--connect", backend, "--workers", "1", "--max-request-bytes", "4096"],
      { probe: { endpoint: frontend } },
    );
    await using client = new TestClient();
    const good = client.socket(SocketType.REQ, frontend, 5000);
    assert.equal(askOn(good, "ping"), "pong");
    const asker = client.socket(SocketType.REQ, frontend, 5000);
    for (let i = 0; i < 2; i++) {
      assert.equal(
        askOn(asker, "geoip " + "1.1.1.1 ".repeat(10_000)),
        "ERROR\trequest larger than 65536 bytes",
        "over the broker's limit: the broker answers",
      );
      assert.equal(
        askOn(asker, "geoip " + "1.1.1.1 ".repeat(1_000)),
        "ERROR\trequest larger than 4096 bytes",
        "within the broker's limit, over the instance's: the instance answers",
      );
    }
    // A DEALER may send any frames: too many, or a large one after the delimiter.
    const dealer = client.socket(SocketType.DEALER, frontend, 5000);
    dealer.send(["", ...Array.from({ length: 20 }, () => "ping")]);
    assert.deepEqual(decodeAll(dealer.receive()!), ["", "ERROR\tmore than 18 frames"]);
    dealer.send(["", "x".repeat(70_000), "ping"]);
    assert.deepEqual(decodeAll(dealer.receive()!), [
      "",
      "ERROR\ta frame of 70000 bytes, over the limit of 65536",
    ]);
    // Far over the limit (more than 1 MiB over): cut off at the broker, no reply.
    const attacker = client.socket(SocketType.REQ, frontend, 1000);
    attacker.send("geoip " + "1".repeat(2 * 1024 * 1024));
    assert.throws(() => attacker.receive(), (error: unknown) => {
      return error instanceof ZmqError && error.errno === Errno.EAGAIN;
    });
    for (let i = 0; i < 20; i++) {
      assert.equal(askOn(good, "geoip 81.2.69.160"), LONDON_TSV, `request ${i} after the attack`);
    }
    assert.ok(
      !instance.log.some((line) => line.includes("lost")),
      `the instance kept its connection:\n${instance.log.join("\n")}`,
    );
  });
});

Deno.test("an instance reconnects to a restarted broker; /healthz says when the broker is gone", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const frontend = freeEndpoint();
    const backend = freeEndpoint();
    const first = await startBroker(frontend, backend);
    await using instance = await startService(
      ["--db", path, "--connect", backend, "--workers", "1", "--http", "127.0.0.1:0"],
      { probe: { endpoint: frontend } },
    );
    const port = instance.log.join("\n").match(/HTTP on http:\/\/127\.0\.0\.1:(\d+)/)![1];
    const health = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return `${response.status} ${await response.text()}`;
    };
    const until = async (wanted: string) => {
      let seen = "";
      for (let i = 0; i < 100 && seen !== wanted; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        seen = await health();
      }
      assert.equal(seen, wanted);
    };
    await until('200 {"status":"ok"}');

    const brokersGauge = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.match(/^geoipmq_brokers_connected (\d+)$/m)?.[1];
    };
    assert.equal(await brokersGauge(), "1");
    await first.stop();
    await until(
      `503 {"status":"unavailable","reason":"not connected to the broker at ${backend}"}`,
    );
    assert.equal(await brokersGauge(), "0");
    await instance.waitForLog(/connection to the broker at .* lost: reconnecting/);

    await using _second = await startBroker(frontend, backend);
    await until('200 {"status":"ok"}');
    await instance.waitForLog(/connected to the broker at .* again/);
    await using client = new GeoipClient({ endpoints: [frontend], timeoutMs: 1000, attempts: 5 });
    assert.equal((await client.lookup("81.2.69.160"))?.city, "London");
  });
});

Deno.test("an instance that met a peer it cannot speak to at the broker's endpoint connects again", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const frontend = freeEndpoint();
    const backend = freeEndpoint();
    // Not a broker: a ZMTP peer that says it is a PUB socket, which a ROUTER cannot talk to.
    // libzmq ends such a connection with a protocol error and, on its own, never retries.
    const listener = Deno.listen(tcpAddress(backend));
    const impostor = (async () => {
      for await (const conn of listener) {
        const hello = concatBytes([
          encodeGreeting(),
          encodeCommand("READY", { "Socket-Type": "PUB" }),
        ]);
        conn.write(hello).catch(() => {});
        setTimeout(() => closeQuietly(conn), 2000);
      }
    })().catch(() => {});
    // Bound too, so it can be asked whether it is ready before any broker is there.
    await using instance = await startOnDatabase(path, {
      workers: 1,
      flags: ["--connect", backend],
    }).catch((error) => {
      listener.close();
      throw error;
    });
    await instance.waitForLog(/connection to the broker at .* lost/);
    listener.close();
    await impostor;
    await using _broker = await startBroker(frontend, backend);
    await using client = new GeoipClient({ endpoints: [frontend], timeoutMs: 1000, attempts: 10 });
    assert.equal((await client.lookup("81.2.69.160"))?.city, "London");
    await instance.waitForLog(/connected to the broker at .* again/);
    await using direct = new GeoipClient({ endpoints: [instance.endpoint] });
    assert.deepEqual((await direct.info()).brokers, { connected: 1, endpoints: 1 });
  });
});

Deno.test("a request sent while no instance is connected waits in the broker until one is", async () => {
  await withTempFile(cityFixture(), async (path) => {
    const frontend = freeEndpoint();
    const backend = freeEndpoint();
    await using _broker = await startBroker(frontend, backend);
    await using client = new TestClient();
    const early = client.socket(SocketType.REQ, frontend, 60_000);
    early.send("geoip 81.2.69.160");
    await using _instance = await startOnDatabase(path, {
      workers: 1,
      flags: ["--connect", backend],
    });
    assert.equal(new TextDecoder().decode(early.receive()![0]), LONDON_TSV);
  });
});

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function decodeAll(frames: Uint8Array[]): string[] {
  return frames.map((frame) => new TextDecoder().decode(frame));
}

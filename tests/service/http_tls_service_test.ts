/**
 * HTTPS in the real service process: `--http-tls-cert` and `--http-tls-key` on two HTTP
 * threads, the certificate re-read on SIGHUP (a bad file keeps the old one), a plain-text
 * client closed while the service goes on, and the flags of the HTTP edges together.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cityFixture, withTempFile } from "../support/fixtures.ts";
import { freeLoopbackPort, waitForNewLine } from "../support/live_service.ts";
import { rawRequest } from "../support/raw_http.ts";
import { runService, startOnDatabase } from "../support/service_process.ts";
import { makeTlsPair } from "../support/tls_pair.ts";

const RELOADED = /^geoipmq: TLS certificate reloaded from /;
const REFUSED = /^geoipmq: error: TLS certificate not reloaded, the old one stays: /;

Deno.test("HTTPS on two threads: served, plain text closed, the certificate re-read on SIGHUP", async (t) => {
  const first = await makeTlsPair("first.test");
  if (first === undefined) return;
  const second = (await makeTlsPair("second.test"))!;
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-tls-service-" });
  const certFile = `${directory}/cert.pem`;
  const keyFile = `${directory}/key.pem`;
  await Deno.copyFile(first.certFile, certFile);
  await Deno.copyFile(first.keyFile, keyFile);
  const port = freeLoopbackPort();
  const zmqPort = freeLoopbackPort();
  const clients: Deno.HttpClient[] = [];
  const trusting = (pem: string) => {
    const client = Deno.createHttpClient({ caCerts: [pem] });
    clients.push(client);
    return client;
  };
  /** Asks over new connections (so that both threads answer) and says who answered. */
  const ask = async (client: Deno.HttpClient, times = 6) => {
    const statuses: string[] = [];
    for (let i = 0; i < times; i++) {
      const response = await fetch(`https://127.0.0.1:${port}/geoip/81.2.69.160`, {
        client,
        headers: { connection: "close" },
      });
      statuses.push(`${response.status} ${(await response.text()).split("\t")[2]}`);
    }
    return statuses;
  };
  try {
    await withTempFile(cityFixture(), async (database) => {
      await using service = await startOnDatabase(database, {
        flags: [
          "--bind",
          `tcp://127.0.0.1:${zmqPort}`,
          "--http",
          `127.0.0.1:${port}`,
          "--http-threads",
          "2",
          "--http-tls-cert",
          certFile,
          "--http-tls-key",
          keyFile,
          "--http-cors-origin",
          "https://app.example",
        ],
        probe: `tcp://127.0.0.1:${zmqPort}`,
      });
      await t.step("the ready line gives the https URL", () => {
        const ready = service.log.find((line) => line.includes("ready on"))!;
        assert.ok(ready.endsWith(`; HTTP on https://127.0.0.1:${port}`), ready);
      });
      await t.step("HTTPS is answered, with CORS headers for the allowed origin", async () => {
        assert.deepEqual(await ask(trusting(first.pem.cert)), Array(6).fill("200 London"));
        const response = await fetch(`https://127.0.0.1:${port}/nope`, {
          client: trusting(first.pem.cert),
          headers: { origin: "https://app.example" },
        });
        await response.body?.cancel();
        assert.equal(response.status, 404);
        assert.equal(response.headers.get("access-control-allow-origin"), "https://app.example");
      });
      await t.step("plain HTTP to the HTTPS port is closed; the service goes on", async () => {
        await assert.rejects(() => rawRequest(port, { path: "/healthz" }));
        assert.deepEqual(await ask(trusting(first.pem.cert), 2), Array(2).fill("200 London"));
      });
      await t.step("SIGHUP re-reads the pair: new connections get the new one", async () => {
        await Deno.copyFile(second.certFile, certFile);
        await Deno.copyFile(second.keyFile, keyFile);
        Deno.kill(service.pid, "SIGHUP");
        await waitForNewLine(service, RELOADED, 0);
        assert.deepEqual(await ask(trusting(second.pem.cert)), Array(6).fill("200 London"));
        await assert.rejects(() => ask(trusting(first.pem.cert), 1), "the old one is gone");
      });
      await t.step("a bad key file on SIGHUP keeps the pair in force", async () => {
        await Deno.writeTextFile(keyFile, "-----BEGIN PRIVATE KEY-----\nnot a key\n");
        Deno.kill(service.pid, "SIGHUP");
        const line = await waitForNewLine(service, REFUSED, 0);
        assert.match(line, /TLS/);
        assert.deepEqual(await ask(trusting(second.pem.cert)), Array(6).fill("200 London"));
      });
    });
  } finally {
    for (const client of clients) client.close();
    await Promise.all([
      first.remove(),
      second.remove(),
      Deno.remove(directory, { recursive: true }),
    ]);
  }
});

Deno.test("a TLS file that cannot be read stops the start with one line and exit code 1", async () => {
  await withTempFile(cityFixture(), async (database) => {
    const output = await runService([
      "--db",
      database,
      "--bind",
      `tcp://127.0.0.1:${freeLoopbackPort()}`,
      "--http",
      `127.0.0.1:${freeLoopbackPort()}`,
      "--http-tls-cert",
      "/nonexistent/cert.pem",
      "--http-tls-key",
      "/nonexistent/key.pem",
    ]);
    assert.equal(output.code, 1, output.stderr);
    assert.match(
      output.stderr,
      /^geoipmq: error: Cannot read TLS certificate "\/nonexistent\/cert\.pem": .+$/m,
    );
    assert.doesNotMatch(output.stderr, /\n\s+at /, "no stack trace");
  });
});

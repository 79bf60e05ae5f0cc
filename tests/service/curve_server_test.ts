/**
 * A CURVE service in this process: the ZAP handler's worker lets in the keys on the
 * allow-list, reports refusals (with the peer's address, over `ipc://` too), takes a new
 * list, counts, and ends with the server's stop.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LONDON_TSV } from "../support/fixtures.ts";
import { CurveClient } from "../support/curve_client.ts";
import { CurveFiles, literal } from "../support/curve_files.ts";
import { startInProcess } from "../support/in_process_service.ts";
import { metricValue } from "../support/live_service.ts";

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(condition(), what);
}

Deno.test("a CURVE service checks clients with its ZAP handler and stops cleanly", async (t) => {
  await using client = new CurveClient();
  const lib = client.lib;
  const placeholder = client.newKeys(lib.curveKeypair().publicKey);
  await using files = await CurveFiles.create(lib, [placeholder.publicKey]);
  const first = client.newKeys(files.serverKey);
  const second = client.newKeys(files.serverKey);
  await files.allow([first.publicKey]);
  const started = await startInProcess({
    db: [files.database],
    bind: ["tcp://127.0.0.1:*", `ipc://${files.directory}/geoipmq.sock`],
    curveSecretKeyFile: files.secretKeyFile,
    curveAllowFile: files.allowFile,
  });
  const server = started.service;
  const refusals = () => started.log.filter((line) => line.includes("CURVE client refused"));
  const counted = (sample: string) => metricValue(server.prometheus(), sample);
  const allowed = 'geoipmq_curve_handshakes_total{outcome="allowed"}';
  const refused = 'geoipmq_curve_handshakes_total{outcome="refused"}';
  const keys = "geoipmq_curve_allowed_keys";
  try {
    const [tcp, ipc] = server.endpoints as [string, string];
    await t.step("the key on the list is let in, over TCP and ipc://", () => {
      assert.equal(client.ask(tcp, "geoip 81.2.69.160", { keys: first }), LONDON_TSV);
      assert.equal(client.ask(ipc, "ping", { keys: first }), "pong");
      assert.equal(counted(allowed), 2);
      assert.equal(counted(keys), 1);
    });
    await t.step("another key is refused and reported with the peer's address", async () => {
      assert.equal(client.ask(tcp, "ping", { keys: second, timeoutMs: 500 }), null);
      await waitFor(() => refusals().length === 1, "one refusal reported");
      assert.equal(
        refusals()[0],
        `geoipmq: warn: CURVE client refused: key ${second.publicKey} from 127.0.0.1 ` +
          "is not on the allow-list",
      );
      assert.equal(counted(refused), 1);
    });
    await t.step("within 10 s the same key is counted again, not reported again", async () => {
      assert.equal(client.ask(ipc, "ping", { keys: second, timeoutMs: 500 }), null);
      await waitFor(() => counted(refused) === 2, "two refusals counted");
      assert.equal(refusals().length, 1);
    });
    await t.step("a third key over ipc:// is reported with the client's process", async () => {
      const third = client.newKeys(files.serverKey);
      assert.equal(client.ask(ipc, "ping", { keys: third, timeoutMs: 500 }), null);
      await waitFor(() => refusals().length === 2, "a second refusal reported");
      assert.match(
        refusals()[1] ?? "",
        new RegExp(`key ${literal(third.publicKey)} from localhost:\\d+:\\d+:${Deno.pid} `),
      );
    });
    await t.step("a new list is in force once reload() settles", async () => {
      await files.allow([first.publicKey, second.publicKey]);
      await server.reload();
      assert.equal(counted(keys), 2);
      assert.equal(client.ask(tcp, "ping", { keys: second }), "pong");
      await files.allow([]);
      await server.reload();
      assert.equal(counted(keys), 0);
      assert.equal(client.ask(tcp, "ping", { keys: first, timeoutMs: 500 }), null);
    });
  } finally {
    const stopping = performance.now();
    await started[Symbol.asyncDispose]();
    const took = performance.now() - stopping;
    assert.ok(took < 3000, `stop() took ${took} ms`);
  }
});

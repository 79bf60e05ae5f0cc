/**
 * A CURVE `GeoipServer` in this process: the ZAP handler's worker lets in the keys on the
 * allow-list, reports refusals (with the peer's address, over `ipc://` too), takes a new
 * list, counts, and ends with the server's stop.
 *
 * @module
 */

import assert from "node:assert/strict";
import { GeoipServer } from "../../lib/server/geoip_server.ts";
import { VERSION } from "../../lib/server/version.ts";
import type { Refusal } from "../../lib/curve/zap_authenticator.ts";
import { cityFixture, LONDON_TSV, openFixture } from "../support/fixtures.ts";
import { CurveClient } from "../support/curve_client.ts";

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(condition(), what);
}

Deno.test("a CURVE GeoipServer checks clients with its ZAP handler and stops cleanly", async (t) => {
  await using client = new CurveClient();
  const lib = client.lib;
  const serverPair = lib.curveKeypair();
  const first = client.newKeys(serverPair.publicKey);
  const second = client.newKeys(serverPair.publicKey);
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-curve-ipc-" });
  const refusals: Refusal[] = [];
  const server = await GeoipServer.start({
    lib,
    database: openFixture(cityFixture()),
    bind: ["tcp://127.0.0.1:*", `ipc://${directory}/geoipmq.sock`],
    workers: 2,
    limits: { maxRequestBytes: 4096, maxAddresses: 100 },
    cacheEntries: 100,
    version: VERSION,
    curve: {
      secretKey: lib.z85Decode(serverPair.secretKey)!,
      allowList: [first.publicKey],
      onRefused: (refusal) => refusals.push(refusal),
    },
  });
  try {
    const [tcp, ipc] = server.endpoints as [string, string];
    const authenticator = server.authenticator!;
    assert.ok(authenticator !== undefined);
    await t.step("the key on the list is let in, over TCP and ipc://", () => {
      assert.equal(client.ask(tcp, "geoip 81.2.69.160", { keys: first }), LONDON_TSV);
      assert.equal(client.ask(ipc, "ping", { keys: first }), "pong");
      assert.equal(authenticator.state.allowed, 2);
      assert.equal(authenticator.state.keyCount, 1);
    });
    await t.step("another key is refused and reported with the peer's address", async () => {
      assert.equal(client.ask(tcp, "ping", { keys: second, timeoutMs: 500 }), null);
      await waitFor(() => refusals.length === 1, "one refusal reported");
      assert.deepEqual(refusals[0], { key: second.publicKey, address: "127.0.0.1", held: 0 });
      assert.equal(authenticator.state.refused, 1);
    });
    await t.step("within 10 s the same key is counted again, not reported again", async () => {
      assert.equal(client.ask(ipc, "ping", { keys: second, timeoutMs: 500 }), null);
      await waitFor(() => authenticator.state.refused === 2, "two refusals counted");
      assert.equal(refusals.length, 1);
    });
    await t.step("a third key over ipc:// is reported with the client's process", async () => {
      const third = client.newKeys(serverPair.publicKey);
      assert.equal(client.ask(ipc, "ping", { keys: third, timeoutMs: 500 }), null);
      await waitFor(() => refusals.length === 2, "a second refusal reported");
      assert.equal(refusals[1]?.key, third.publicKey);
      assert.match(refusals[1]?.address ?? "", new RegExp(`^localhost:\\d+:\\d+:${Deno.pid}$`));
    });
    await t.step("a new list is in force once setAllowList() settles", async () => {
      await authenticator.setAllowList([first.publicKey, second.publicKey]);
      assert.equal(authenticator.state.keyCount, 2);
      assert.equal(client.ask(tcp, "ping", { keys: second }), "pong");
      await authenticator.setAllowList([]);
      assert.equal(authenticator.state.keyCount, 0);
      assert.equal(client.ask(tcp, "ping", { keys: first, timeoutMs: 500 }), null);
    });
  } finally {
    const started = performance.now();
    await server.stop();
    const took = performance.now() - started;
    assert.ok(took < 3000, `stop() took ${took} ms`);
    await Deno.remove(directory, { recursive: true });
  }
  await assert.rejects(server.authenticator!.setAllowList([]), /not running/);
});

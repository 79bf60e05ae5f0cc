/**
 * The raw ZMTP speaker against the real service: libzmq must accept its handshake and
 * frames and answer them, or the attack bench's hand-made traffic proves nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cityFixture, LONDON_TSV, writeTempFile } from "../support/fixtures.ts";
import { startOnDatabase } from "../support/service_process.ts";
import { ZmtpSpeaker } from "../../tooling/mod.ts";

const decoder = new TextDecoder();

Deno.test("the raw ZMTP speaker is answered by the service", async (t) => {
  const path = await writeTempFile(cityFixture());
  try {
    await using service = await startOnDatabase(path, { workers: 1 });
    await t.step("as a DEALER: ping gets pong", async () => {
      using speaker = await ZmtpSpeaker.connect(service.endpoint, { socketType: "DEALER" });
      assert.equal(decoder.decode(speaker.peerReady.properties.get("Socket-Type")), "ROUTER");
      await speaker.send([new Uint8Array(0), "ping"]);
      assert.deepEqual((await speaker.receive()).map((f) => decoder.decode(f)), ["", "pong"]);
    });
    await t.step("as a REQ: a geoip request in frames sent one by one, the last long", async () => {
      using speaker = await ZmtpSpeaker.connect(service.endpoint, { socketType: "REQ" });
      await speaker.sendFrame(new Uint8Array(0), { more: true });
      await speaker.sendFrame(new TextEncoder().encode("geoip 81.2.69.160"), { long: true });
      assert.deepEqual((await speaker.receive()).map((f) => decoder.decode(f)), ["", LONDON_TSV]);
    });
  } finally {
    await Deno.remove(path);
  }
});

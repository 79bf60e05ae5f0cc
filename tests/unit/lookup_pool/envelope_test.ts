import assert from "node:assert/strict";
import {
  Envelope,
  MAX_ENVELOPE_FRAME_BYTES,
  MAX_ENVELOPE_FRAMES,
} from "../../../lib/lookup_pool/envelope.ts";

const ID = new Uint8Array([0, 0x80, 0, 0, 0x29]);
const EMPTY = new Uint8Array(0);

Deno.test("Envelope keeps a REQ client's routing id and its delimiter", () => {
  const envelope = new Envelope();
  assert.equal(envelope.take(ID, ID.length, undefined), undefined);
  assert.equal(envelope.take(EMPTY, 0, undefined), undefined);
  assert.equal(envelope.count, 1);
  assert.equal(envelope.hasDelimiter, true);
  envelope.reset();
  assert.equal(envelope.count, 0);
  assert.equal(envelope.hasDelimiter, false);
});

Deno.test("Envelope refuses a request of more than one frame after the delimiter", () => {
  const envelope = new Envelope();
  envelope.take(ID, ID.length, undefined);
  envelope.take(EMPTY, 0, undefined);
  assert.equal(envelope.take(ID, 3, undefined), "a request must be a single frame");
});

Deno.test("Envelope refuses an envelope frame longer than a routing id", () => {
  const big = new Uint8Array(MAX_ENVELOPE_FRAME_BYTES + 1);
  assert.equal(
    new Envelope().take(big, big.length, undefined),
    "an envelope frame of 256 bytes; routing frames are at most 255",
  );
});

Deno.test("Envelope refuses too many envelope frames", () => {
  const envelope = new Envelope();
  for (let i = 0; i < MAX_ENVELOPE_FRAMES; i++) {
    assert.equal(envelope.take(ID, ID.length, undefined), undefined);
  }
  assert.equal(envelope.take(ID, ID.length, undefined), "more than 16 envelope frames");
  assert.equal(envelope.count, MAX_ENVELOPE_FRAMES);
});

Deno.test("Envelope still notes the delimiter after a problem, so the ERROR can go back", () => {
  const envelope = new Envelope();
  const problem = "a request must be a single frame";
  assert.equal(envelope.take(ID, ID.length, problem), problem);
  assert.equal(envelope.take(EMPTY, 0, problem), problem);
  assert.equal(envelope.hasDelimiter, true);
  assert.equal(envelope.count, 0, "nothing is kept once refused");
});

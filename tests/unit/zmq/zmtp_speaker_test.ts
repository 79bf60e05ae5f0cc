import assert from "node:assert/strict";
import {
  encodeCommand,
  encodeFrame,
  encodeGreeting,
  FrameDecoder,
  parseCommand,
  parseGreeting,
  tcpAddress,
} from "../../../tooling/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("encodeGreeting() writes the 64-byte ZMTP 3.0 NULL greeting", () => {
  const greeting = encodeGreeting();
  assert.equal(greeting.length, 64);
  assert.equal(hex(greeting.subarray(0, 12)), "ff00000000000000007f0300");
  assert.equal(new TextDecoder().decode(greeting.subarray(12, 16)), "NULL");
  assert.ok(
    greeting.subarray(16).every((b) => b === 0),
    "mechanism padding, as-server and filler are zero",
  );
  assert.deepEqual(parseGreeting(greeting), {
    major: 3,
    minor: 0,
    mechanism: "NULL",
    asServer: false,
  });
  assert.equal(
    parseGreeting(encodeGreeting({ mechanism: "CURVE", asServer: true })).mechanism,
    "CURVE",
  );
  assert.throws(() => parseGreeting(new Uint8Array(64)), /not a ZMTP 3 greeting/);
});

Deno.test("encodeFrame() writes short and long frames with their flags", async (t) => {
  await t.step("a short last frame", () => {
    assert.equal(hex(encodeFrame(text("ping"))), "0004" + "70696e67");
  });
  await t.step("a short frame with MORE", () => {
    assert.equal(hex(encodeFrame(new Uint8Array(0), { more: true })), "0100");
  });
  await t.step("255 bytes still fit the short form", () => {
    const frame = encodeFrame(new Uint8Array(255));
    assert.equal(frame.length, 2 + 255);
    assert.equal(hex(frame.subarray(0, 2)), "00ff");
  });
  await t.step("256 bytes take the long form: flag 0x02 and an eight-byte size", () => {
    const frame = encodeFrame(new Uint8Array(256), { more: true });
    assert.equal(frame.length, 9 + 256);
    assert.equal(hex(frame.subarray(0, 9)), "03" + "0000000000000100");
  });
  await t.step("the long form on request, for a short body", () => {
    assert.equal(hex(encodeFrame(text("a"), { long: true })), "02" + "0000000000000001" + "61");
  });
  await t.step("a command frame", () => {
    assert.equal(hex(encodeFrame(text("x"), { command: true })), "0401" + "78");
  });
});

Deno.test("encodeCommand() writes READY as libzmq expects it", () => {
  const frame = encodeCommand("READY", { "Socket-Type": "DEALER" });
  const body = "05" + hex(text("READY")) + "0b" + hex(text("Socket-Type")) + "00000006" +
    hex(text("DEALER"));
  assert.equal(hex(frame), "04" + (body.length / 2).toString(16).padStart(2, "0") + body);
  const parsed = parseCommand(frame.subarray(2));
  assert.equal(parsed.name, "READY");
  assert.deepEqual(parsed.properties.get("Socket-Type"), text("DEALER"));
});

Deno.test("parseCommand() reads an ERROR command's reason", () => {
  const body = new Uint8Array([5, ...text("ERROR"), 6, ...text("denied")]);
  const parsed = parseCommand(body);
  assert.equal(parsed.name, "ERROR");
  assert.deepEqual(parsed.properties.get("reason"), text("denied"));
  assert.throws(() => parseCommand(new Uint8Array([9, 1])), /malformed command/);
});

Deno.test("FrameDecoder splits a stream into frames however it arrives", () => {
  const stream = new Uint8Array([
    ...encodeFrame(new Uint8Array(0), { more: true }),
    ...encodeFrame(new Uint8Array(300).fill(7), { more: true }),
    ...encodeFrame(text("pong")),
  ]);
  for (const step of [1, 2, 5, 9, 100, stream.length]) {
    const decoder = new FrameDecoder();
    const frames = [];
    for (let at = 0; at < stream.length; at += step) {
      frames.push(...decoder.push(stream.subarray(at, at + step)));
    }
    assert.equal(decoder.pendingBytes, 0);
    assert.deepEqual(frames.map((f) => [f.more, f.command, f.body.length]), [
      [true, false, 0],
      [true, false, 300],
      [false, false, 4],
    ], `in pieces of ${step}`);
    assert.ok(frames[1]!.body.every((b) => b === 7));
  }
});

Deno.test("tcpAddress() reads tcp:// endpoints", () => {
  assert.deepEqual(tcpAddress("tcp://127.0.0.1:5555"), { hostname: "127.0.0.1", port: 5555 });
  assert.deepEqual(tcpAddress("tcp://[::1]:6000"), { hostname: "::1", port: 6000 });
  assert.throws(() => tcpAddress("ipc:///tmp/x"), TypeError);
});

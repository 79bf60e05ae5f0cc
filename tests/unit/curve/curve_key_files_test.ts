import assert from "node:assert/strict";
import { KeyFileError, keyProblem, parseAllowList } from "../../../lib/curve/key_files.ts";
import {
  readAllowFile,
  readPublicKeyFile,
  readSecretKeyFile,
} from "../../../lib/curve/key_files.ts";
import { Libzmq } from "../../../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../../../lib/zmq/mod.ts";
import { parseZapRequest, zapReply } from "../../../lib/curve/zap_protocol.ts";
import { ZapState } from "../../../lib/curve/zap_state.ts";

const lib = Libzmq.open(bundledLibzmqPath());
const encoder = new TextEncoder();

Deno.test("libzmq's Z85 and CURVE key functions, through the binding", () => {
  // The test vector of ZeroMQ RFC 32/Z85.
  const hello = new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
  assert.equal(lib.z85Encode(hello), "HelloWorld");
  assert.deepEqual(lib.z85Decode("HelloWorld"), hello);
  assert.equal(lib.z85Decode("Hello~orld"), null, "not a Z85 character");
  assert.equal(lib.z85Decode("Hell"), null, "not a multiple of 5");
  assert.equal(lib.z85Decode("%%%%%"), null, "over 2^32 - 1");
  assert.equal(lib.z85Decode("Hello\0orld"), null, "a NUL");
  assert.throws(() => lib.z85Encode(new Uint8Array(3)), /multiple of 4/);
  const { publicKey, secretKey } = lib.curveKeypair();
  assert.equal(lib.curvePublic(secretKey), publicKey);
  assert.equal(lib.z85Decode(secretKey)?.length, 32);
  assert.throws(() => lib.curvePublic(secretKey.slice(1)), /40 Z85 characters/);
});

Deno.test("keyProblem() and parseAllowList() accept keys with comments, and name bad lines", () => {
  const a = lib.curveKeypair().publicKey;
  const b = lib.curveKeypair().publicKey;
  assert.equal(keyProblem(lib, a), undefined);
  assert.equal(keyProblem(lib, a.slice(2)), "38 characters, expected 40 Z85 characters");
  assert.equal(keyProblem(lib, `${a.slice(1)}"`), "a character that is not Z85");
  const text = `# clients\n\n  ${a}   # alice\r\n${b}\n${a}\n#${b}\n`;
  assert.deepEqual(parseAllowList(lib, text, "list"), [a, b], "duplicates once, CRLF too");
  assert.deepEqual(parseAllowList(lib, "# nobody\n", "list"), []);
  assert.throws(
    () => parseAllowList(lib, `${a}\n\n${a}x\n`, "list"),
    (error) =>
      error instanceof KeyFileError &&
      error.message ===
        `list line 3: "${a}x" is not a key: 41 characters, expected 40 Z85 characters`,
  );
  assert.throws(
    () => parseAllowList(lib, "\u0001\u00e9 \n", "list"),
    /^KeyFileError: list line 1: "\?\?" is not a key: 2 characters/,
  );
});

Deno.test("readSecretKeyFile() and readAllowFile() read files, checking their modes", async () => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-keys-" });
  try {
    const { publicKey, secretKey } = lib.curveKeypair();
    const keyFile = `${directory}/server.key`;
    await Deno.writeTextFile(keyFile, `# server\n${secretKey}  # made today\n`, { mode: 0o600 });
    await Deno.chmod(keyFile, 0o600);
    const key = await readSecretKeyFile(lib, keyFile);
    assert.equal(key.publicKey, publicKey);
    assert.deepEqual(key.secretKey, lib.z85Decode(secretKey));
    await Deno.chmod(keyFile, 0o604);
    await assert.rejects(readSecretKeyFile(lib, keyFile), /world-readable \(mode 0604\)/);
    await Deno.chmod(keyFile, 0o620);
    await assert.rejects(readSecretKeyFile(lib, keyFile), /open to group or others \(mode 0620\)/);
    await assert.rejects(readSecretKeyFile(lib, directory), /: not a regular file$/);
    const allowFile = `${directory}/clients.allow`;
    await Deno.writeTextFile(allowFile, `${publicKey}\n`);
    await Deno.chmod(allowFile, 0o664);
    assert.deepEqual(await readAllowFile(lib, allowFile), [publicKey]);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("readPublicKeyFile() reads the one key of a PREFIX.pub, and names what is wrong", async (t) => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-keys-" });
  const { publicKey } = lib.curveKeypair();
  const file = async (name: string, text: string) => {
    await Deno.writeTextFile(`${directory}/${name}`, text);
    return `${directory}/${name}`;
  };
  try {
    await t.step("one key, as keygen writes it, or with comments", async () => {
      assert.equal(await readPublicKeyFile(lib, await file("a.pub", `${publicKey}\n`)), publicKey);
      const commented = await file("b.pub", `# the server\n\n${publicKey}  # made today\n`);
      assert.equal(await readPublicKeyFile(lib, commented), publicKey);
    });
    await t.step("refusals, one line each", async () => {
      const cases: [string, string, RegExp][] = [
        ["empty.pub", "# nothing\n", /: no key in it \(expected a line of 40 Z85 characters\)$/],
        ["two.pub", `${publicKey}\n${publicKey}\n`, / line 2: a second key; the file holds one$/],
        ["short.pub", "abc\n", / line 1: 3 characters, expected 40 Z85 characters$/],
        ["extra.pub", `${publicKey} trailing\n`, / line 1: text after the key$/],
      ];
      for (const [name, text, pattern] of cases) {
        const path = await file(name, text);
        await assert.rejects(readPublicKeyFile(lib, path), (error: unknown) => {
          assert.ok(error instanceof KeyFileError);
          assert.ok(error.message.startsWith(`Cannot read public key "${path}"`), error.message);
          assert.match(error.message, pattern);
          return true;
        });
      }
      await assert.rejects(
        readPublicKeyFile(lib, `${directory}/none.pub`),
        /^KeyFileError: Cannot read public key ".*none\.pub": no such file$/,
      );
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("ZAP requests are read and replies built as RFC 27 says", () => {
  const frames = ["1.0", "7", "geoipmq", "127.0.0.1", "", "CURVE"].map((f) => encoder.encode(f));
  const key = new Uint8Array(32).fill(1);
  const request = parseZapRequest([...frames, key]);
  assert.ok(typeof request !== "string");
  assert.deepEqual(request.requestId, encoder.encode("7"));
  assert.equal(request.domain, "geoipmq");
  assert.equal(request.address, "127.0.0.1");
  assert.equal(request.mechanism, "CURVE");
  assert.deepEqual(request.credentials, [key]);
  assert.match(parseZapRequest(frames.slice(0, 5)) as string, /6 frames or more, got 5/);
  assert.match(parseZapRequest([encoder.encode("2.0"), ...frames.slice(1)]) as string, /not 1\.0/);
  const reply = zapReply(encoder.encode("7"), "200", "OK", "user");
  assert.deepEqual(
    reply.map((frame) => new TextDecoder().decode(frame)),
    ["1.0", "7", "200", "OK", "user", ""],
  );
});

Deno.test("ZapState counts across threads' views and renders Prometheus lines", () => {
  const state = ZapState.create();
  const view = ZapState.fromBuffer(state.buffer);
  view.recordAllowed();
  view.recordRefused();
  view.recordRefused();
  view.setKeyCount(3);
  state.announce(4);
  assert.equal(view.generation, 4);
  assert.deepEqual([state.allowed, state.refused, state.keyCount], [1, 2, 3]);
  assert.equal(
    state.renderPrometheus(),
    [
      "# HELP geoipmq_curve_handshakes_total CURVE handshakes decided by the allow-list, by outcome.",
      "# TYPE geoipmq_curve_handshakes_total counter",
      'geoipmq_curve_handshakes_total{outcome="allowed"} 1',
      'geoipmq_curve_handshakes_total{outcome="refused"} 2',
      "# HELP geoipmq_curve_allowed_keys Client keys on the CURVE allow-list in force.",
      "# TYPE geoipmq_curve_allowed_keys gauge",
      "geoipmq_curve_allowed_keys 3",
      "",
    ].join("\n"),
  );
  assert.throws(() => ZapState.fromBuffer(new SharedArrayBuffer(8)), TypeError);
});

import assert from "node:assert/strict";
import { ConnReader } from "../../../lib/http/conn_reader.ts";
import { BodyError, readRequestBody } from "../../../lib/http/request_body.ts";
import type { RequestHead } from "../../../lib/http/request_head.ts";

const encoder = new TextEncoder();

/** Reads a body sent over a real loopback connection, the client closing after `sent`. */
async function readSent(
  sent: Uint8Array | string,
  framing: RequestHead["body"],
  maxBodyBytes = 64 * 1024,
): Promise<Uint8Array> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  try {
    const bytes = typeof sent === "string" ? encoder.encode(sent) : sent;
    const writing = (async () => {
      let at = 0;
      try {
        while (at < bytes.length) at += await client.write(bytes.subarray(at));
        await client.closeWrite();
      } catch {
        // The reader gave up first.
      }
    })();
    try {
      return await readRequestBody(new ConnReader(server), { framing, maxBodyBytes });
    } finally {
      server.close();
      await writing;
    }
  } finally {
    client.close();
  }
}

async function refusal(
  sent: string | Uint8Array,
  framing: RequestHead["body"],
  maxBodyBytes?: number,
): Promise<{ status: number; message: string }> {
  try {
    await readSent(sent, framing, maxBodyBytes);
  } catch (error) {
    assert.ok(error instanceof BodyError, String(error));
    return { status: error.status, message: error.message };
  }
  assert.fail("read");
}

const CHUNKED = { kind: "chunked" } as const;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("readRequestBody() reads a body of a declared length", async () => {
  assert.equal(text(await readSent("hello", { kind: "length", length: 5 })), "hello");
  assert.deepEqual(await refusal("hel", { kind: "length", length: 5 }), {
    status: 400,
    message: "connection ended inside a request body",
  });
  assert.equal((await refusal("", { kind: "length", length: 11 }, 10)).status, 413);
});

Deno.test("readRequestBody() joins chunks, extensions and trailers", async () => {
  const body = await readSent(
    "3\r\nabc\r\n2 ; x=y\r\nde\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n",
    CHUNKED,
  );
  assert.equal(text(body), "abcde0123456789");
  assert.equal((await readSent("0\r\n\r\n", CHUNKED)).length, 0);
});

Deno.test("readRequestBody() takes 65,536 one-byte chunks into one body of the limit", async () => {
  const body = "1\r\nx\r\n".repeat(65_536) + "0\r\n\r\n";
  assert.equal((await readSent(body, CHUNKED)).length, 65_536);
  assert.deepEqual(await refusal("1\r\nx\r\n".repeat(65_537) + "0\r\n\r\n", CHUNKED), {
    status: 413,
    message: "request body larger than 65536 bytes",
  });
});

Deno.test("readRequestBody() refuses malformed chunks", async (t) => {
  const cases: [string, string][] = [
    ["a size that is not hex", "x\r\n"],
    ["a size of nine digits", "000000001\r\nx\r\n0\r\n\r\n"],
    ["a vertical tab before the size", "\x0b1\r\nx\r\n0\r\n\r\n"],
    ["a sign", "+1\r\nx\r\n0\r\n\r\n"],
    ["data longer than its size", "1\r\nxy\r\n0\r\n\r\n"],
    ["a control character in an extension", "1;a\x01\r\nx\r\n0\r\n\r\n"],
  ];
  for (const [name, sent] of cases) {
    await t.step(name, async () => {
      assert.equal((await refusal(sent, CHUNKED)).status, 400);
    });
  }
});

Deno.test("readRequestBody() bounds chunk framing and trailers", async (t) => {
  await t.step("a stream of extensions with no data", async () => {
    const sent = ("1;" + "e".repeat(1000) + "\r\nx\r\n").repeat(64);
    assert.match((await refusal(sent, CHUNKED)).message, /^chunk framing over \d+ bytes/);
  });
  await t.step("a size line over 1 KiB", async () => {
    assert.deepEqual(await refusal("1;" + "e".repeat(2000) + "\r\n", CHUNKED), {
      status: 400,
      message: "malformed chunk: line too long",
    });
  });
  await t.step("trailers over 64 KiB", async () => {
    const sent = "0\r\n" + "T: 1\r\n".repeat(12_000) + "\r\n";
    assert.equal((await refusal(sent, CHUNKED)).status, 431);
  });
  await t.step("a connection that ends inside a chunk", async () => {
    assert.deepEqual(await refusal("5\r\nab", CHUNKED), {
      status: 400,
      message: "connection ended inside a request body",
    });
  });
});

import assert from "node:assert/strict";
import { encodeWhole, WRITE_BUDGET_BYTES, writeAnswer } from "../../../lib/http/answer_writer.ts";

const decoder = new TextDecoder();

/** Writes one answer on a real loopback connection and reads all the client gets. */
async function written(
  answer: Parameters<typeof writeAnswer>[1]["answer"],
  framing: { head?: boolean; keepAlive?: boolean; chunked?: boolean } = {},
): Promise<string> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  const reading = new Response(client.readable).arrayBuffer();
  await writeAnswer(server, {
    answer,
    framing: {
      head: framing.head ?? false,
      keepAlive: framing.keepAlive ?? false,
      chunked: framing.chunked ?? true,
      pace: () => undefined,
    },
  });
  server.close();
  return decoder.decode(await reading);
}

Deno.test("encodeWhole() frames a body by its length, and HEAD without it", () => {
  const answer = { status: 200, headers: { "content-type": "text/plain" }, body: "héllo" };
  assert.equal(
    decoder.decode(encodeWhole(answer, { head: false, keepAlive: true })),
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nhéllo",
  );
  assert.equal(
    decoder.decode(encodeWhole(answer, { head: true, keepAlive: false })),
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n" +
      "connection: close\r\n\r\n",
  );
});

Deno.test("writeAnswer() writes pieces as chunks that add up to the body", async () => {
  const pieces = Array.from({ length: 40 }, (_, i) => `${i}:${"x".repeat(900)};`);
  const text = await written({ status: 200, headers: {}, body: pieces }, { keepAlive: true });
  const [head, rest] = [
    text.slice(0, text.indexOf("\r\n\r\n")),
    text.slice(text.indexOf("\r\n\r\n") + 4),
  ];
  assert.match(head, /^HTTP\/1\.1 200 OK\r\ntransfer-encoding: chunked$/);
  let body = "";
  let at = 0;
  let chunks = 0;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n", at);
    const size = parseInt(rest.slice(at, lineEnd), 16);
    if (size === 0) break;
    assert.ok(size <= WRITE_BUDGET_BYTES, `a chunk of ${size} bytes`);
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
    chunks++;
  }
  assert.equal(body, pieces.join(""));
  assert.ok(chunks > 1);
  assert.equal(rest.slice(at), "0\r\n\r\n");
});

Deno.test("writeAnswer() gives an HTTP/1.0 client the bytes as they are, then closes", async () => {
  const text = await written({ status: 200, headers: {}, body: ["a", "b", "c"] }, {
    chunked: false,
    keepAlive: true,
  });
  assert.equal(text, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc");
});

import assert from "node:assert/strict";
import { HeadError, parseRequestHead } from "../../../lib/http/request_head.ts";

const encoder = new TextEncoder();

function parse(text: string) {
  return parseRequestHead(encoder.encode(text));
}

function refusal(text: string): { status: number; message: string } {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof HeadError, String(error));
    return { status: error.status, message: error.message };
  }
  assert.fail(`parsed: ${JSON.stringify(text)}`);
}

Deno.test("parseRequestHead() reads the request line, the target and the fields", () => {
  const head = parse("GET /json?ip=1.2.3.4&ip=5.6.7.8 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a:  2 ");
  assert.equal(head.method, "GET");
  assert.equal(head.path, "/json");
  assert.equal(head.query, "ip=1.2.3.4&ip=5.6.7.8");
  assert.equal(head.version, "1.1");
  assert.equal(head.headers.get("host"), "x");
  assert.equal(head.headers.get("x-a"), "1, 2", "repeated fields are joined");
  assert.deepEqual(head.body, { kind: "none" });
  assert.equal(head.keepAlive, true);
  assert.equal(head.expectContinue, false);
});

Deno.test("parseRequestHead() keeps percent escapes and resolves dot segments", () => {
  assert.equal(parse("GET /json/2001%3Adb8%3A%3A1 HTTP/1.1").path, "/json/2001%3Adb8%3A%3A1");
  assert.equal(parse("GET /json/../healthz HTTP/1.1").path, "/healthz");
  assert.equal(parse("GET /json/1.2.3.4 HTTP/1.1").path, "/json/1.2.3.4");
});

Deno.test("parseRequestHead() decides keep-alive by version and Connection", () => {
  assert.equal(parse("GET / HTTP/1.1\r\nConnection: close").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.1\r\nConnection: Upgrade, Close").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.0").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive").keepAlive, true);
});

Deno.test("parseRequestHead() frames the body by Content-Length or chunked", () => {
  assert.deepEqual(parse("POST /json HTTP/1.1\r\nContent-Length: 12").body, {
    kind: "length",
    length: 12,
  });
  assert.deepEqual(parse("POST /json HTTP/1.1\r\nContent-Length: 0").body, { kind: "none" });
  assert.deepEqual(parse("POST /json HTTP/1.1\r\nTransfer-Encoding: Chunked").body, {
    kind: "chunked",
  });
  const expecting = parse("POST /json HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue");
  assert.equal(expecting.expectContinue, true);
});

Deno.test("parseRequestHead() refuses what it does not serve, with the status", () => {
  assert.deepEqual(refusal("GET /\r\n"), { status: 400, message: "malformed request line" });
  assert.equal(refusal("GET / HTTP/2.0").status, 400);
  assert.equal(refusal("GET http://x/ HTTP/1.1").status, 400);
  assert.equal(refusal("GET / HTTP/1.1\r\n folded: value").status, 400);
  assert.equal(refusal("GET / HTTP/1.1\r\nNo colon").status, 400);
  assert.equal(refusal("GET / HTTP/1.1\r\nBad Name: x").status, 400);
  assert.equal(refusal("POST / HTTP/1.1\r\nContent-Length: 1, 1").status, 400);
  assert.equal(refusal("POST / HTTP/1.1\r\nContent-Length: -1").status, 400);
  assert.equal(
    refusal("POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked").status,
    400,
  );
  assert.deepEqual(refusal("POST / HTTP/1.1\r\nTransfer-Encoding: gzip"), {
    status: 501,
    message: 'Transfer-Encoding "gzip" not supported; use chunked',
  });
});

Deno.test("parseRequestHead() takes only spaces and tabs as whitespace around a value", async (t) => {
  await t.step("a vertical tab before chunked is refused, not trimmed", () => {
    assert.deepEqual(refusal("POST / HTTP/1.1\r\nTransfer-Encoding: \x0bchunked"), {
      status: 400,
      message: 'malformed value of header field "Transfer-Encoding"',
    });
  });
  await t.step("a form feed after it too", () => {
    assert.equal(refusal("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\x0c").status, 400);
  });
  await t.step("spaces and tabs around it are whitespace", () => {
    const head = parse("POST / HTTP/1.1\r\nTransfer-Encoding: \t chunked \t");
    assert.deepEqual(head.body, { kind: "chunked" });
  });
  await t.step("a tab inside a value is kept", () => {
    assert.equal(parse("GET / HTTP/1.1\r\nX-A: a\tb").headers.get("x-a"), "a\tb");
  });
});

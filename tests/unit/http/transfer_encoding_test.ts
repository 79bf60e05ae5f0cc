import assert from "node:assert/strict";
import { HeadError, parseRequestHead } from "../../../lib/http/request_head.ts";

const encoder = new TextEncoder();

/** The status a head is refused with, or "parsed" with its framing. */
function outcome(head: string): number | string {
  try {
    return `parsed as ${parseRequestHead(encoder.encode(head)).body.kind}`;
  } catch (error) {
    assert.ok(error instanceof HeadError, String(error));
    return error.status;
  }
}

Deno.test("parseRequestHead() takes chunked with spaces and tabs around it, as HTTP allows", () => {
  for (const value of ["chunked", " chunked", "chunked\t", "\tChunked "]) {
    assert.equal(
      outcome(`POST /json HTTP/1.1\r\nTransfer-Encoding:${value}`),
      "parsed as chunked",
      JSON.stringify(value),
    );
  }
});

Deno.test("parseRequestHead() refuses a Transfer-Encoding with other white space around chunked", () => {
  // Only spaces and tabs surround a field value (RFC 9110 section 5.5); String.trim() also
  // takes vertical tabs and form feeds away.
  for (const value of ["\x0bchunked", "chunked\x0b", "\x0cchunked", "chunked\x0c"]) {
    assert.equal(
      outcome(`POST /json HTTP/1.1\r\nTransfer-Encoding: ${value}`),
      400,
      JSON.stringify(value),
    );
  }
});

/**
 * How the HTTP routes read their query and framing, on the real service process: one
 * rule on every route (`/json/<ip>`, `/geoip/<ip>`, `GET /json?ip=…`, `POST /json`):
 * empty pieces (`?&`, `a=1&&b=2`) are ignored; a repeated `fields=` or `lang=` is a 400
 * naming the parameter; an unknown parameter is a 400 naming it. A `Transfer-Encoding`
 * that is not exactly the token `chunked` (a vertical tab before it) is a 400.
 *
 * @module
 */

import assert from "node:assert/strict";
import { writeAll } from "../../tooling/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { freeLoopbackPort } from "../support/live_service.ts";
import { startOnDatabase } from "../support/service_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LONDON_BODY = JSON.stringify(["81.2.69.160"]);

/** One answer, read whole. */
interface Answer {
  status: number;
  body: string;
}

async function ask(base: string, path: string, body?: string): Promise<Answer> {
  const response = await fetch(
    base + path,
    body === undefined ? {} : { method: "POST", body },
  );
  return { status: response.status, body: await response.text() };
}

/** The `error` of a JSON error body, or the body itself when it is not one. */
function errorOf(answer: Answer): string {
  try {
    return String(JSON.parse(answer.body).error);
  } catch {
    return answer.body;
  }
}

/** Sends raw bytes on a new connection and reads until the server closes it (at most 5 s). */
async function exchange(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 5000);
  const chunks: string[] = [];
  try {
    await writeAll(conn, encoder.encode(request));
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(decoder.decode(buffer.subarray(0, n)));
    }
  } catch {
    // Closed by the timer, or reset by the server.
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed.
    }
  }
  return chunks.join("");
}

Deno.test("every HTTP route reads its query by one rule", async (t) => {
  await withTempFile(cityFixture(), async (path) => {
    const port = freeLoopbackPort();
    await using _service = await startOnDatabase(path, {
      workers: 1,
      flags: ["--http", `127.0.0.1:${port}`],
    });
    const base = `http://127.0.0.1:${port}`;

    await t.step("empty pieces are ignored: ?& answers the whole record", async () => {
      const whole = await ask(base, "/json/81.2.69.160");
      assert.equal(whole.status, 200);
      for (const query of ["?", "?&", "?&&"]) {
        const answer = await ask(base, `/json/81.2.69.160${query}`);
        assert.deepEqual(answer, whole, `/json/81.2.69.160${query}`);
      }
      const tsv = await ask(base, "/geoip/81.2.69.160?&");
      assert.deepEqual(tsv, { status: 200, body: LONDON_TSV });
    });

    await t.step("empty pieces are ignored between parameters", async () => {
      const plain = await ask(base, "/json/81.2.69.160?fields=city.name&lang=de");
      assert.equal(plain.status, 200, plain.body);
      assert.deepEqual(await ask(base, "/json/81.2.69.160?&fields=city.name&&lang=de&"), plain);
      const batch = await ask(base, "/json?ip=81.2.69.160&ip=8.8.8.8");
      assert.equal(batch.status, 200, batch.body);
      assert.deepEqual(await ask(base, "/json?&ip=81.2.69.160&&ip=8.8.8.8&"), batch);
      const posted = await ask(base, "/json", LONDON_BODY);
      assert.equal(posted.status, 200, posted.body);
      assert.deepEqual(await ask(base, "/json?&", LONDON_BODY), posted);
    });

    await t.step("a repeated fields= or lang= is a 400 naming it, on every route", async () => {
      const cases: [string, string, string?][] = [
        ["fields", "/json/81.2.69.160?fields=city.name&fields=country.iso_code"],
        ["lang", "/json/81.2.69.160?fields=city.name&lang=de&lang=en"],
        ["lang", "/geoip/81.2.69.160?lang=de&lang=en"],
        ["fields", "/json?ip=81.2.69.160&fields=city.name&fields=country.iso_code"],
        ["lang", "/json?ip=81.2.69.160&lang=de&lang=en"],
        ["fields", "/json?fields=city.name&fields=country.iso_code", LONDON_BODY],
        ["lang", "/json?lang=de&lang=en", LONDON_BODY],
      ];
      for (const [name, path, body] of cases) {
        const answer = await ask(base, path, body);
        const what = `${body === undefined ? "GET" : "POST"} ${path}: ${answer.body}`;
        assert.equal(answer.status, 400, what);
        assert.ok(errorOf(answer).includes(`"${name}"`), what);
      }
    });

    await t.step("an unknown parameter is a 400 naming it, on every route", async () => {
      const cases: [string, string?][] = [
        ["/json/81.2.69.160?bogus=1"],
        ["/geoip/81.2.69.160?bogus=1"],
        ["/json?ip=81.2.69.160&bogus=1"],
        ["/json?bogus=1", LONDON_BODY],
        ["/json?&bogus=1&&", LONDON_BODY],
      ];
      for (const [path, body] of cases) {
        const answer = await ask(base, path, body);
        const what = `${body === undefined ? "GET" : "POST"} ${path}: ${answer.body}`;
        assert.equal(answer.status, 400, what);
        assert.ok(errorOf(answer).includes('"bogus"'), what);
      }
    });

    await t.step("Transfer-Encoding with a vertical tab before chunked is a 400", async () => {
      for (const coding of ["\x0bchunked", "chunked\x0b", "\x0cchunked"]) {
        const text = await exchange(
          port,
          `POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n` +
            `Connection: close\r\n\r\n${LONDON_BODY.length.toString(16)}\r\n${LONDON_BODY}` +
            "\r\n0\r\n\r\n",
        );
        assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(coding) + ": " + text);
      }
    });
  });
});

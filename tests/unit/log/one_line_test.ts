import assert from "node:assert/strict";
import { Logger, MAX_LINE_CHARS, oneLine } from "../../../lib/log/mod.ts";

/** Every character that may not reach a terminal raw: C0, DEL and C1. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

Deno.test("oneLine() leaves a short printable line as it is", () => {
  const text = 'Cannot open database "/var/lib/GeoIP/GeoLite2-City.mmdb": no such file';
  assert.equal(oneLine(text), text);
  assert.equal(oneLine("Zürich, 東京 🌍"), "Zürich, 東京 🌍");
});

Deno.test("oneLine() escapes C0 and C1 control characters and DEL as \\u00XX", () => {
  assert.equal(oneLine("a\x1b[31mred\x1b[0m"), "a\\u001b[31mred\\u001b[0m");
  assert.equal(
    oneLine("bell\x07 nul\0 tab\t del\x7f"),
    "bell\\u0007 nul\\u0000 tab\\u0009 del\\u007f",
  );
  assert.equal(oneLine("csi\x9b2J osc\x9d"), "csi\\u009b2J osc\\u009d");
  for (let code = 0; code < 0xa0; code++) {
    assert.doesNotMatch(oneLine(`x${String.fromCharCode(code)}y`), CONTROL, `U+${code}`);
  }
});

Deno.test("oneLine() folds every run of line breaks into one space", () => {
  assert.equal(oneLine("one\ntwo\r\nthree\r\rfour"), "one two three four");
  assert.equal(oneLine("a\u2028b\u2029c\u0085d\ve\ff"), "a b c d e f");
});

Deno.test("oneLine() cuts long text to max characters, ending with an ellipsis", () => {
  const cut = oneLine("x".repeat(4096));
  assert.equal(cut.length, MAX_LINE_CHARS);
  assert.ok(cut.endsWith("x…"));
  assert.equal(oneLine("abcdef", 4), "abc…");
  assert.equal(oneLine("abcd", 4), "abcd");
});

Deno.test("oneLine() never cuts an escape or a surrogate pair in two", () => {
  // The escape of ESC would straddle the cut: it is left out whole.
  for (let at = 0; at < 12; at++) {
    const line = oneLine("a".repeat(at) + "\x1b".repeat(10), 12);
    assert.ok(line.length <= 12, line);
    assert.match(line, /^a*(\\u001b)*…$/, line);
  }
  const emoji = oneLine("🌍".repeat(10), 6);
  assert.equal(emoji, "🌍🌍…");
  assert.ok(emoji.isWellFormed());
});

Deno.test("oneLine() makes kilobytes of escape sequences one short, clean line", () => {
  const hostile = "\x1b]0;owned\x07\x1b[2J\r\n".repeat(300);
  const line = oneLine(`Cannot open database "x": ${hostile}`);
  assert.ok(line.length <= MAX_LINE_CHARS);
  assert.doesNotMatch(line, CONTROL);
  assert.ok(!line.includes("\n"));
});

Deno.test("Logger writes every message as one line of at most 300 characters", async (t) => {
  const hostile = `serving ${"\x1b[31mGeoIP2-City\n".repeat(400)} built 2026-01-01`;
  await t.step("text", () => {
    const lines: string[] = [];
    const log = new Logger({ format: "text", write: (line) => lines.push(line) });
    log.error("failed", hostile);
    log.info("ready", "ready on tcp://127.0.0.1:5555");
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.startsWith("geoipmq: error: serving \\u001b[31mGeoIP2-City "));
    assert.ok(lines[0]!.length <= MAX_LINE_CHARS && lines[0]!.length > 290, lines[0]);
    assert.doesNotMatch(lines[0]!, CONTROL);
    assert.equal(lines[1], "geoipmq: ready on tcp://127.0.0.1:5555");
  });
  await t.step("json", () => {
    const lines: string[] = [];
    const log = new Logger({ format: "json", write: (line) => lines.push(line) });
    log.info("ready", hostile, { database_type: "\x9b\x1b[2J".repeat(1000), workers: 2 });
    assert.equal(lines.length, 1);
    const event = JSON.parse(lines[0]!);
    assert.ok(event.message.length <= MAX_LINE_CHARS && event.message.length > 290);
    assert.ok(event.message.endsWith("…"));
    assert.doesNotMatch(event.message, CONTROL);
    assert.ok(event.database_type.length <= MAX_LINE_CHARS);
    assert.doesNotMatch(event.database_type, CONTROL);
    assert.equal(event.workers, 2);
    assert.doesNotMatch(lines[0]!, CONTROL);
  });
});

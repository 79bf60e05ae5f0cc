/**
 * Messages stay one clean line whatever a database carries: a crafted `.mmdb` can hold
 * terminal escape sequences and kilobytes of text in any metadata field, and its file
 * name can hold them too. The real service, refused or serving such a file, writes lines
 * of at most 300 characters with no control character.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LONDON } from "../support/fixtures.ts";
import { buildMmdb, type MmdbValue } from "../../tooling/mod.ts";
import { runService, startOnDatabase } from "../support/service_process.ts";

/** Any C0 or C1 control character, or DEL: what must never reach a terminal raw. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Escape sequences (clear the screen, set the title, red) and line breaks, 4 KB of them. */
const HOSTILE = "\x1b[2J\x1b]0;owned\x07\x1b[31mred\r\n\x9b2J".repeat(150);
/** A file name that would clear the terminal and break the line. */
const HOSTILE_NAME = "geo\x1b[2J\nip.mmdb";

/** A database whose text metadata is hostile; `metadata` adds or replaces fields. */
function hostileDatabase(metadata: Record<string, MmdbValue> = {}): Uint8Array {
  return buildMmdb({
    ipVersion: 6,
    databaseType: `GeoIP2-City${HOSTILE}`,
    languages: ["en", HOSTILE],
    description: { en: HOSTILE, [HOSTILE.slice(0, 50)]: "x" },
    metadata,
  }, [{ network: "81.2.69.160/27", record: LONDON }]);
}

/** Runs `body` with `data` in a file of {@linkcode HOSTILE_NAME} in a fresh directory. */
async function withHostileFile(
  data: Uint8Array,
  body: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "geoipmq-hostile-" });
  try {
    const path = `${dir}/${HOSTILE_NAME}`;
    await Deno.writeFile(path, data);
    await body(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Checks every line of a log: at most 300 characters, no control character. */
function assertCleanLines(lines: readonly string[]): void {
  for (const line of lines) {
    assert.ok(line.length <= 300, `a line of ${line.length} characters: ${line.slice(0, 80)}`);
    assert.doesNotMatch(line, CONTROL, `a control character in ${JSON.stringify(line)}`);
  }
}

Deno.test("a database with hostile metadata is refused at start with one clean line", async () => {
  await withHostileFile(hostileDatabase({ ip_version: HOSTILE }), async (path) => {
    const result = await runService(["--db", path, "--bind", "tcp://127.0.0.1:*"]);
    assert.equal(result.code, 1, result.stderr.slice(0, 2000));
    assert.ok(!result.stderr.includes("\x1b"), "no ESC byte on stderr");
    const lines = result.stderr.split("\n").filter((line) => line !== "");
    assertCleanLines(lines);
    const errors = lines.filter((line) => line.startsWith("geoipmq: error:"));
    assert.equal(errors.length, 1, lines.join("\n"));
    assert.match(
      errors[0]!,
      /^geoipmq: error: Cannot open database ".*geo\\u001b\[2J ip\.mmdb": invalid IP version "\\u001b\[2J\\u001b\]0;owned\\u0007.*\.\.\."$/,
    );
    assert.equal(lines.at(-1), errors[0], "the error is the last line");
  });
});

Deno.test("a valid database with hostile metadata is served, and its lines stay clean", async (t) => {
  await withHostileFile(hostileDatabase(), async (path) => {
    for (const format of ["text", "json"] as const) {
      await t.step(format, async () => {
        await using service = await startOnDatabase(path, {
          workers: 1,
          flags: ["--log-format", format],
        });
        const ready = service.log.find((line) => /ready on|"event":"ready"/.test(line))!;
        if (format === "text") {
          assert.match(
            ready,
            /^geoipmq: ready on tcp:\/\/127\.0\.0\.1:\d+ with 1 worker, serving GeoIP2-City\\u001b\[2J/,
          );
          assertCleanLines([ready]);
        } else {
          assert.doesNotMatch(ready, CONTROL);
          const event = JSON.parse(ready);
          assertCleanLines([event.message, event.database_type, event.database]);
          assert.ok(event.database_type.startsWith("GeoIP2-City\\u001b[2J"));
        }
        const status = await service.stop("SIGTERM");
        assert.equal(status.code, 0, service.log.join("\n"));
        if (format === "text") assertCleanLines(service.log);
        else for (const line of service.log) assert.doesNotMatch(line, CONTROL);
      });
    }
  });
});

Deno.test("a bad flag value with escape sequences is refused with one clean line", async () => {
  const result = await runService(["--workers", `2${HOSTILE}`]);
  assert.equal(result.code, 2);
  assert.ok(!result.stderr.includes("\x1b"), "no ESC byte on stderr");
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  assertCleanLines(lines);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, /^geoipmq: /);
});

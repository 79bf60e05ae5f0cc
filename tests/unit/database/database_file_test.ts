import assert from "node:assert/strict";
import { DatabaseError, readDatabaseFile } from "../../../lib/database/mod.ts";
import { cityFixture, writeTempFile } from "../../support/fixtures.ts";
import { makeFifo, skipWithoutMkfifo } from "../../support/fifo.ts";

/** How long a refusal may take: it must come from `stat`, not from a blocked `open()`. */
const PROMPT_MS = 2000;

/**
 * Reads a path that must be refused, failing (instead of hanging) when the read does not
 * settle within {@linkcode PROMPT_MS}.
 */
async function promptRefusal(path: string, options: { timeoutMs?: number } = {}): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) =>
    timer = setTimeout(() => resolve("hung"), PROMPT_MS)
  );
  const started = performance.now();
  try {
    const outcome = await Promise.race([
      readDatabaseFile(path, options).then(() => "read" as const, (error: unknown) => error),
      hung,
    ]);
    assert.notEqual(outcome, "hung", `reading "${path}" did not settle within ${PROMPT_MS} ms`);
    assert.notEqual(outcome, "read", `"${path}" was read`);
    assert.ok(outcome instanceof DatabaseError, `expected a DatabaseError, got ${outcome}`);
    assert.ok(performance.now() - started < PROMPT_MS);
    assert.equal(outcome.message.includes("\n"), false);
    return outcome.message;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("readDatabaseFile() refuses a FIFO at once, without opening it", async () => {
  if (await skipWithoutMkfifo()) return;
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-fifo-" });
  const path = `${directory}/GeoLite2-City.mmdb`;
  try {
    await makeFifo(path);
    assert.equal(
      await promptRefusal(path),
      `Cannot open database "${path}": not a regular file (a FIFO)`,
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("readDatabaseFile() names what a path is when it is not a regular file", async (t) => {
  await t.step("a directory", async () => {
    const directory = await Deno.makeTempDir();
    try {
      assert.match(await promptRefusal(directory), /: not a regular file \(a directory\)$/);
    } finally {
      await Deno.remove(directory);
    }
  });
  await t.step("a character device", async () => {
    assert.equal(
      await promptRefusal("/dev/zero"),
      `Cannot open database "/dev/zero": not a regular file (a character device)`,
    );
  });
});

Deno.test("readDatabaseFile() reads through a symbolic link to a regular file", async () => {
  const data = cityFixture();
  const target = await writeTempFile(data);
  const link = `${target}.link`;
  try {
    await Deno.symlink(target, link);
    assert.deepEqual(new Uint8Array(await readDatabaseFile(link)), data);
  } finally {
    await Deno.remove(link).catch(() => {});
    await Deno.remove(target);
  }
});

Deno.test("readDatabaseFile() gives up when its time limit has passed", async () => {
  const path = await writeTempFile(cityFixture());
  try {
    assert.equal(
      await promptRefusal(path, { timeoutMs: 0 }),
      `Cannot open database "${path}": not read within 0 ms`,
    );
  } finally {
    await Deno.remove(path);
  }
});

import assert from "node:assert/strict";

const SCRIPTS = new URL("../../scripts/", import.meta.url);

/** The entry points at the top of scripts/ (the folders below hold their parts). */
async function entryPoints(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(SCRIPTS)) {
    if (entry.isFile && entry.name.endsWith(".ts")) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("every script refuses a bad flag with one line and a non-zero exit, no stack trace", async (t) => {
  const names = await entryPoints();
  assert.ok(names.length >= 10, `found only ${names.length} scripts`);
  for (const name of names) {
    await t.step(name, async () => {
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", new URL(name, SCRIPTS).pathname, "--no-such-flag"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const text = new TextDecoder().decode(stderr);
      assert.notEqual(code, 0, `${name} exited 0 on a bad flag`);
      assert.doesNotMatch(text, /Uncaught|\n\s+at /, `${name} printed a stack trace:\n${text}`);
      assert.ok(text.trim().length > 0, `${name} said nothing on a bad flag`);
    });
  }
});

import assert from "node:assert/strict";

const PROBE = new URL("../../scripts/probe_npm_zeromq.ts", import.meta.url).pathname;

Deno.test("scripts/probe_npm_zeromq.ts reports both sides and a verdict that matches its exit code", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", PROBE],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.match(text, /^reply: +npm:zeromq Reply answered [0-3] of 3 \(/m);
  assert.match(text, /^request: npm:zeromq Request sent [0-3] of 3 requests \(/m);
  const verdict = text.match(/^verdict: npm:zeromq (works|does not work) across processes/m);
  assert.ok(verdict, text);
  assert.equal(output.code, verdict[1] === "works" ? 0 : 1, text);
});

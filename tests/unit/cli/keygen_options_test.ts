import assert from "node:assert/strict";
import { DEFAULT_KEY_PREFIX, parseKeygenOptions } from "../../../lib/cli/keygen_options.ts";
import { assertUsageError } from "../../support/usage_error.ts";

Deno.test("parseKeygenOptions() reads --out, --libzmq and --help", () => {
  assert.deepEqual(parseKeygenOptions([], {}), { out: DEFAULT_KEY_PREFIX, libzmq: undefined });
  assert.equal(DEFAULT_KEY_PREFIX, "geoipmq");
  assert.deepEqual(
    parseKeygenOptions(["--out", "/etc/geoipmq/server"], { GEOIPMQ_LIBZMQ: "/l.so" }),
    { out: "/etc/geoipmq/server", libzmq: "/l.so" },
  );
  const flagWins = parseKeygenOptions(["--libzmq=/x.so"], { GEOIPMQ_LIBZMQ: "/l.so" });
  assert.ok(flagWins !== "help");
  assert.equal(flagWins.libzmq, "/x.so");
  assert.equal(parseKeygenOptions(["--help"], {}), "help");
});

Deno.test("parseKeygenOptions() writes relative to INIT_CWD when it is set", () => {
  const env = { INIT_CWD: "/home/ada" };
  assert.deepEqual(parseKeygenOptions(["--out", "keys/server"], env), {
    out: "/home/ada/keys/server",
    libzmq: undefined,
  });
  assert.deepEqual(parseKeygenOptions([], env), { out: "/home/ada/geoipmq", libzmq: undefined });
});

Deno.test("parseKeygenOptions() refuses bad flags with one line each", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["an unknown flag", ["--bind", "tcp://127.0.0.1:1"], /^unknown option --bind \(see --help\)$/],
    ["--out without a value", ["--out"], /^--out needs a value$/],
    ["an empty --out", ["--out", ""], /^--out must not be empty$/],
    ["a stray argument", ["server"], /^unexpected argument "server"$/],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, () => {
      assertUsageError(() => parseKeygenOptions(args, {}), pattern);
    });
  }
});

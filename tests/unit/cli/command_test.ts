import assert from "node:assert/strict";
import { parseCommand, UsageError } from "../../../lib/cli/mod.ts";
import { BROKER_USAGE, KEYGEN_USAGE, QUERY_USAGE, USAGE } from "../../../lib/cli/usage.ts";

Deno.test("parseCommand() picks the subcommand; serve is the default", () => {
  const plain = parseCommand(["--workers", "2"], {});
  assert.equal(plain.name, "serve");
  const serve = parseCommand(["serve", "--workers", "2"], {});
  assert.deepEqual(serve, plain);
  assert.equal(parseCommand([], {}).name, "serve");
  const query = parseCommand(["query", "1.1.1.1"], {});
  assert.ok(query.name === "query");
  assert.deepEqual(query.options.ips, ["1.1.1.1"]);
  const broker = parseCommand(["broker", "--frontend", "tcp://*:1", "--backend", "tcp://*:2"], {});
  assert.equal(broker.name, "broker");
  assert.equal(parseCommand(["keygen"], {}).name, "keygen");
  assert.deepEqual(parseCommand(["--version"], {}), { name: "version" });
});

Deno.test("parseCommand() gives each subcommand's usage for --help", () => {
  assert.deepEqual(parseCommand(["--help"], {}), { name: "help", text: USAGE });
  assert.deepEqual(parseCommand(["serve", "--help"], {}), { name: "help", text: USAGE });
  assert.deepEqual(parseCommand(["query", "--help"], {}), { name: "help", text: QUERY_USAGE });
  assert.deepEqual(parseCommand(["broker", "--help"], {}), { name: "help", text: BROKER_USAGE });
  assert.deepEqual(parseCommand(["keygen", "--help"], {}), { name: "help", text: KEYGEN_USAGE });
});

Deno.test("the usage of geoipmq lists every subcommand and every serve flag", () => {
  for (const command of ["serve", "query", "broker", "keygen"]) {
    assert.match(USAGE, new RegExp(`^  ${command} `, "m"), command);
  }
  for (
    const flag of [
      "--db",
      "--bind",
      "--connect",
      "--workers",
      "--libzmq",
      "--max-request-bytes",
      "--max-addresses",
      "--hwm",
      "--curve-secret-key-file",
      "--curve-allow-file",
      "--cache-mb",
      "--watch",
      "--http",
      "--log-format",
      "--help",
      "--version",
    ]
  ) {
    assert.ok(USAGE.includes(`  ${flag} `), flag);
  }
  for (const flag of ["--curve-server-key-file", "--curve-secret-key-file", "--endpoint"]) {
    assert.ok(QUERY_USAGE.includes(`  ${flag}`), flag);
  }
});

Deno.test("parseCommand() names the subcommand in its usage errors", async (t) => {
  const cases: [string[], string][] = [
    [["query", "--endpoint", "127.0.0.1:5555"], 'query: --endpoint "127.0.0.1:5555" is not'],
    [["broker", "--frontend"], "broker: --frontend needs a value"],
    [["keygen", "--out"], "keygen: --out needs a value"],
    [["--frobnicate"], "unknown option --frobnicate (see --help)"],
    [["serve", "--workers", "0"], "--workers must be from 1 to 256, got 0"],
  ];
  for (const [args, start] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(() => parseCommand(args, {}), (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.ok(error.message.startsWith(start), error.message);
        return true;
      });
    });
  }
});

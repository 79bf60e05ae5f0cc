import assert from "node:assert/strict";
import { parseQueryOptions, type QueryOptions } from "../../../lib/cli/query_options.ts";
import { DEFAULT_BIND } from "../../../lib/cli/serve_options.ts";
import { UsageError } from "../../../lib/cli/errors.ts";

function parse(args: string[], env: Record<string, string> = {}): QueryOptions {
  const options = parseQueryOptions(args, env);
  assert.ok(options !== "help");
  return options;
}

Deno.test("parseQueryOptions() has defaults and reads every flag", () => {
  assert.deepEqual(parse([]), {
    endpoints: [DEFAULT_BIND],
    databases: [],
    languages: ["en"],
    fields: undefined,
    json: false,
    info: false,
    timeoutMs: 2000,
    attempts: 3,
    batch: 100,
    ips: [],
    libzmq: undefined,
    curve: undefined,
  });
  assert.deepEqual(
    parse([
      "--endpoint",
      "tcp://127.0.0.1:1",
      "--endpoint=ipc:///tmp/g",
      "--json",
      "--info",
      "--timeout-ms",
      "250",
      "--attempts",
      "1",
      "--batch",
      "1000",
      "--libzmq",
      "/l.so",
      "--curve-server-key-file",
      "server.pub",
      "--curve-secret-key-file",
      "/k/client.key",
      "81.2.69.160",
      "::1",
    ], { INIT_CWD: "/home/ada" }),
    {
      endpoints: ["tcp://127.0.0.1:1", "ipc:///tmp/g"],
      databases: [],
      languages: ["en"],
      fields: undefined,
      json: true,
      info: true,
      timeoutMs: 250,
      attempts: 1,
      batch: 1000,
      ips: ["81.2.69.160", "::1"],
      libzmq: "/l.so",
      curve: { serverKeyFile: "/home/ada/server.pub", secretKeyFile: "/k/client.key" },
    },
  );
  assert.equal(parseQueryOptions(["--help", "--batch", "0"], {}), "help");
  const local = parse(
    ["--db", "city.mmdb", "--db", "/d/asn.mmdb", "--lang", "de,en", "--fields", "city.name"],
    { INIT_CWD: "/home/ada" },
  );
  assert.deepEqual(local.databases, ["/home/ada/city.mmdb", "/d/asn.mmdb"]);
  assert.deepEqual(local.languages, ["de", "en"]);
  assert.equal(local.fields, "city.name");
});

Deno.test("parseQueryOptions() reads GEOIPMQ_ENDPOINT and GEOIPMQ_LIBZMQ; flags win", () => {
  const env = { GEOIPMQ_ENDPOINT: "tcp://127.0.0.1:1, tcp://127.0.0.1:2", GEOIPMQ_LIBZMQ: "/e.so" };
  assert.deepEqual(parse([], env).endpoints, ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2"]);
  assert.equal(parse([], env).libzmq, "/e.so");
  assert.deepEqual(parse(["--endpoint", "tcp://127.0.0.1:3"], env).endpoints, [
    "tcp://127.0.0.1:3",
  ]);
});

Deno.test("parseQueryOptions() refuses bad flags and values with one line each", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      "an endpoint without a scheme",
      ["--endpoint", "127.0.0.1:5555"],
      {},
      /^--endpoint "127\.0\.0\.1:5555" is not an endpoint like/,
    ],
    [
      "a variable endpoint without a scheme",
      [],
      { GEOIPMQ_ENDPOINT: "localhost:5555" },
      /is not an endpoint/,
    ],
    [
      "an empty endpoint list",
      [],
      { GEOIPMQ_ENDPOINT: " , " },
      /^--endpoint \(GEOIPMQ_ENDPOINT\) names no endpoint$/,
    ],
    [
      "a timeout that is not a number",
      ["--timeout-ms", "soon"],
      {},
      /^--timeout-ms must be a whole number, got "soon"$/,
    ],
    ["zero attempts", ["--attempts", "0"], {}, /^--attempts must be from 1 to 100, got 0$/],
    ["a batch too large", ["--batch", "5000"], {}, /^--batch must be from 1 to 1000, got 5000$/],
    ["an unknown flag", ["--frobnicate"], {}, /^unknown option --frobnicate \(see --help\)$/],
    [
      "a server key without a secret key",
      ["--curve-server-key-file", "s.pub"],
      {},
      /^--curve-server-key-file and --curve-secret-key-file go together/,
    ],
    ["a secret key without a server key", ["--curve-secret-key-file", "c.key"], {}, /go together/],
    [
      "an empty key file",
      ["--curve-server-key-file", "", "--curve-secret-key-file", "c"],
      {},
      /^--curve-server-key-file must not be empty$/,
    ],
  ];
  for (const [name, args, env, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseQueryOptions(args, env), (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.match(error.message, pattern);
        assert.equal(error.message.includes("\n"), false);
        return true;
      });
    });
  }
});

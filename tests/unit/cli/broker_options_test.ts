import assert from "node:assert/strict";
import { parseBrokerOptions } from "../../../lib/cli/broker_options.ts";
import { assertUsageError } from "../../support/usage_error.ts";

Deno.test("parseBrokerOptions() reads flags and GEOIPMQ_BROKER_* variables; flags win", () => {
  const env = {
    GEOIPMQ_BROKER_FRONTEND: "tcp://127.0.0.1:1,tcp://127.0.0.1:2",
    GEOIPMQ_BROKER_BACKEND: "tcp://127.0.0.1:3",
    GEOIPMQ_LIBZMQ: "/e.so",
    GEOIPMQ_MAX_REQUEST_BYTES: "4096",
  };
  assert.deepEqual(parseBrokerOptions([], env), {
    frontend: ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2"],
    backend: ["tcp://127.0.0.1:3"],
    libzmq: "/e.so",
    maxRequestBytes: 4096,
  });
  assert.deepEqual(
    parseBrokerOptions(
      ["--frontend", "tcp://*:5555", "--backend", "ipc:///b", "--libzmq=/f.so"],
      { ...env, GEOIPMQ_MAX_REQUEST_BYTES: undefined },
    ),
    { frontend: ["tcp://*:5555"], backend: ["ipc:///b"], libzmq: "/f.so", maxRequestBytes: 65536 },
  );
  const fromFlag = parseBrokerOptions(["--max-request-bytes", "2048"], env);
  assert.ok(fromFlag !== "help");
  assert.equal(fromFlag.maxRequestBytes, 2048, "the flag wins over the variable");
  assert.equal(parseBrokerOptions(["--help"], {}), "help");
});

Deno.test("parseBrokerOptions() refuses bad flags and values with one line each", async (t) => {
  const both = ["--frontend", "tcp://*:1", "--backend", "tcp://*:2"];
  const cases: [string, string[], RegExp][] = [
    [
      "no front end",
      ["--backend", "tcp://*:2"],
      /^needs --frontend ENDPOINT \(GEOIPMQ_BROKER_FRONTEND\)$/,
    ],
    [
      "no back end",
      ["--frontend", "tcp://*:1"],
      /^needs --backend ENDPOINT \(GEOIPMQ_BROKER_BACKEND\)$/,
    ],
    [
      "a front end without a scheme",
      ["--frontend", "*:1", "--backend", "tcp://*:2"],
      /^--frontend "\*:1" is not an endpoint/,
    ],
    [
      "a back end out of range",
      ["--frontend", "tcp://*:1", "--backend", "tcp://*:99999"],
      /^--backend "tcp:\/\/\*:99999": port out of range$/,
    ],
    ["a stray argument", [...both, "now"], /^unexpected argument "now"$/],
    ["an unknown flag", [...both, "--bind", "x"], /^unknown option --bind \(see --help\)$/],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, () => {
      assertUsageError(() => parseBrokerOptions(args, {}), pattern);
    });
  }
});

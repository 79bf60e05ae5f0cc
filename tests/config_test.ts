import assert from "node:assert/strict";
import {
  checkEndpoint,
  DEFAULT_BIND,
  DEFAULT_CACHE_SIZE,
  parseConfig,
  UsageError,
} from "../lib/config.ts";
import { DEFAULT_LIMITS } from "../lib/protocol.ts";

function usageError(args: string[], env: Record<string, string> = {}): string {
  try {
    parseConfig(args, env);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(args)} to be refused`);
}

Deno.test("parseConfig() has sane defaults", () => {
  const config = parseConfig([], {});
  assert.equal(config.db, undefined);
  assert.deepEqual(config.bind, [DEFAULT_BIND]);
  assert.equal(config.libzmq, undefined);
  assert.equal(config.workers, navigator.hardwareConcurrency);
  assert.equal(config.maxRequestBytes, DEFAULT_LIMITS.maxRequestBytes);
  assert.equal(config.maxAddresses, DEFAULT_LIMITS.maxAddresses);
  assert.equal(config.cacheSize, DEFAULT_CACHE_SIZE);
  assert.equal(config.help, false);
  assert.equal(config.version, false);
});

Deno.test("parseConfig() reads every flag", () => {
  const config = parseConfig([
    "--db=a.mmdb",
    "--bind",
    "tcp://127.0.0.1:1",
    "--bind",
    "ipc:///tmp/g.sock",
    "--libzmq",
    "/x/libzmq.so",
    "--workers",
    "3",
    "--max-request-bytes",
    "1024",
    "--max-addresses",
    "10",
    "--cache-size",
    "0",
  ], {});
  assert.equal(config.db, "a.mmdb");
  assert.deepEqual(config.bind, ["tcp://127.0.0.1:1", "ipc:///tmp/g.sock"]);
  assert.equal(config.libzmq, "/x/libzmq.so");
  assert.equal(config.workers, 3);
  assert.equal(config.maxRequestBytes, 1024);
  assert.equal(config.maxAddresses, 10);
  assert.equal(config.cacheSize, 0);
});

Deno.test("parseConfig() reads every GEOIPMQ_* variable, and flags win over them", () => {
  const env = {
    GEOIPMQ_DB: "env.mmdb",
    GEOIPMQ_BIND: "tcp://127.0.0.1:7001, tcp://[::1]:7002",
    GEOIPMQ_LIBZMQ: "/env/libzmq.so",
    GEOIPMQ_WORKERS: "5",
    GEOIPMQ_MAX_REQUEST_BYTES: "2048",
    GEOIPMQ_MAX_ADDRESSES: "20",
    GEOIPMQ_CACHE_SIZE: "30",
  };
  const fromEnv = parseConfig([], env);
  assert.equal(fromEnv.db, "env.mmdb");
  assert.deepEqual(fromEnv.bind, ["tcp://127.0.0.1:7001", "tcp://[::1]:7002"]);
  assert.equal(fromEnv.libzmq, "/env/libzmq.so");
  assert.equal(fromEnv.workers, 5);
  assert.equal(fromEnv.maxRequestBytes, 2048);
  assert.equal(fromEnv.maxAddresses, 20);
  assert.equal(fromEnv.cacheSize, 30);
  const flagsWin = parseConfig([
    "--db",
    "flag.mmdb",
    "--bind",
    "tcp://127.0.0.1:9",
    "--workers",
    "1",
  ], env);
  assert.equal(flagsWin.db, "flag.mmdb");
  assert.deepEqual(flagsWin.bind, ["tcp://127.0.0.1:9"]);
  assert.equal(flagsWin.workers, 1);
});

Deno.test("parseConfig() refuses bad flags and values with one line each", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["an unknown flag", ["--colour"], {}, /^unknown option --colour \(see --help\)$/],
    ["a flag without its value", ["--db"], {}, /^--db needs a value$/],
    ["a value for a switch", ["--help=yes"], {}, /^--help takes no value$/],
    ["a stray argument", ["serve"], {}, /^unexpected argument "serve"$/],
    ["workers that are not a number", ["--workers", "two"], {}, /whole number, got "two"/],
    ["zero workers", ["--workers", "0"], {}, /from 1 to 256, got 0/],
    ["workers from the environment", [], { GEOIPMQ_WORKERS: "-1" }, /whole number/],
    ["an empty --db", ["--db", ""], {}, /--db \(GEOIPMQ_DB\) must not be empty/],
    ["a bind without a scheme", ["--bind", "127.0.0.1:5555"], {}, /is not an endpoint/],
    ["a bind without a port", ["--bind", "tcp://127.0.0.1"], {}, /is not an endpoint/],
    ["a port out of range", ["--bind", "tcp://127.0.0.1:70000"], {}, /port out of range/],
    ["an empty bind list", [], { GEOIPMQ_BIND: " , " }, /names no endpoint/],
    ["a tiny request limit", ["--max-request-bytes", "1"], {}, /from 16 to/],
  ];
  for (const [name, args, env, pattern] of cases) {
    await t.step(name, () => {
      const message = usageError(args, env);
      assert.match(message, pattern);
      assert.equal(message.includes("\n"), false);
    });
  }
});

Deno.test("checkEndpoint() accepts tcp with a port or *, and ipc", () => {
  for (const endpoint of ["tcp://127.0.0.1:5555", "tcp://*:5555", "tcp://[::1]:*", "ipc:///x"]) {
    checkEndpoint(endpoint);
  }
  assert.throws(() => checkEndpoint("udp://127.0.0.1:1"), UsageError);
  assert.throws(() => checkEndpoint("inproc://x"), UsageError);
});

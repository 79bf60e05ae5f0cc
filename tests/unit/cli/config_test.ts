import assert from "node:assert/strict";
import {
  checkEndpoint,
  DEFAULT_BIND,
  DEFAULT_CACHE_SIZE,
  DEFAULT_KEY_PREFIX,
  parseConfig,
  parseKeygenConfig,
  UsageError,
} from "../../../lib/cli/config.ts";
import { DEFAULT_HWM } from "../../../lib/cli/mod.ts";
import { DEFAULT_LIMITS } from "../../../lib/protocol/mod.ts";

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
  assert.equal(config.cacheChars, 8 * 1024 * 1024);
  assert.equal(config.hwm, DEFAULT_HWM);
  assert.equal(config.hwm, 1000);
  assert.equal(config.curveSecretKeyFile, undefined);
  assert.equal(config.curveAllowFile, undefined);
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
    GEOIPMQ_CACHE_CHARS: "4096",
  };
  const fromEnv = parseConfig([], env);
  assert.equal(fromEnv.db, "env.mmdb");
  assert.deepEqual(fromEnv.bind, ["tcp://127.0.0.1:7001", "tcp://[::1]:7002"]);
  assert.equal(fromEnv.libzmq, "/env/libzmq.so");
  assert.equal(fromEnv.workers, 5);
  assert.equal(fromEnv.maxRequestBytes, 2048);
  assert.equal(fromEnv.maxAddresses, 20);
  assert.equal(fromEnv.cacheSize, 30);
  assert.equal(fromEnv.cacheChars, 4096);
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
    [
      "a value that starts with a dash",
      ["--hwm", "-1"],
      {},
      /^--hwm needs a value; for one that starts with "-", write --hwm=VALUE$/,
    ],
    ["a zero high-water mark", ["--hwm", "0"], {}, /^--hwm must be from 1 to 10000000, got 0$/],
    [
      "a high-water mark from the environment",
      [],
      { GEOIPMQ_HWM: "lots" },
      /^--hwm must be a whole number/,
    ],
    [
      "a CURVE secret key without an allow file",
      ["--curve-secret-key-file", "server.key"],
      {},
      /^--curve-secret-key-file needs --curve-allow-file \(GEOIPMQ_CURVE_ALLOW_FILE\): the public keys of the clients to let in$/,
    ],
    [
      "an allow file without a CURVE secret key",
      [],
      { GEOIPMQ_CURVE_ALLOW_FILE: "clients.allow" },
      /^--curve-allow-file needs --curve-secret-key-file \(GEOIPMQ_CURVE_SECRET_KEY_FILE\)/,
    ],
    [
      "an empty CURVE secret key file",
      ["--curve-secret-key-file", "", "--curve-allow-file", "a"],
      {},
      /^--curve-secret-key-file \(GEOIPMQ_CURVE_SECRET_KEY_FILE\) must not be empty$/,
    ],
    ["keygen after a flag", ["--workers", "1", "keygen"], {}, /^"keygen" must come first/],
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

Deno.test("parseConfig() reads the CURVE and high-water mark flags and variables", () => {
  const flags = parseConfig([
    "--hwm",
    "50",
    "--curve-secret-key-file",
    "/etc/geoipmq/server.key",
    "--curve-allow-file",
    "/etc/geoipmq/clients.allow",
  ], {});
  assert.equal(flags.hwm, 50);
  assert.equal(flags.curveSecretKeyFile, "/etc/geoipmq/server.key");
  assert.equal(flags.curveAllowFile, "/etc/geoipmq/clients.allow");
  const env = {
    GEOIPMQ_HWM: "7",
    GEOIPMQ_CURVE_SECRET_KEY_FILE: "env.key",
    GEOIPMQ_CURVE_ALLOW_FILE: "env.allow",
  };
  const fromEnv = parseConfig([], env);
  assert.equal(fromEnv.hwm, 7);
  assert.equal(fromEnv.curveSecretKeyFile, "env.key");
  assert.equal(fromEnv.curveAllowFile, "env.allow");
  const flagsWin = parseConfig(["--hwm", "9", "--curve-allow-file", "flag.allow"], env);
  assert.equal(flagsWin.hwm, 9);
  assert.equal(flagsWin.curveSecretKeyFile, "env.key");
  assert.equal(flagsWin.curveAllowFile, "flag.allow");
});

Deno.test("parseKeygenConfig() reads --out, --libzmq and --help", () => {
  assert.deepEqual(parseKeygenConfig([], {}), {
    out: DEFAULT_KEY_PREFIX,
    libzmq: undefined,
    help: false,
  });
  assert.equal(DEFAULT_KEY_PREFIX, "geoipmq");
  assert.deepEqual(
    parseKeygenConfig(["--out", "/etc/geoipmq/server"], { GEOIPMQ_LIBZMQ: "/l.so" }),
    {
      out: "/etc/geoipmq/server",
      libzmq: "/l.so",
      help: false,
    },
  );
  assert.equal(parseKeygenConfig(["--libzmq=/x.so"], { GEOIPMQ_LIBZMQ: "/l.so" }).libzmq, "/x.so");
  assert.equal(parseKeygenConfig(["--help"], {}).help, true);
});

Deno.test("parseKeygenConfig() refuses bad flags with one line each", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "an unknown flag",
      ["--bind", "tcp://127.0.0.1:1"],
      /^keygen: unknown option --bind \(see --help\)$/,
    ],
    ["--out without a value", ["--out"], /^keygen: --out needs a value$/],
    ["an empty --out", ["--out", ""], /^keygen: --out must not be empty$/],
    ["a stray argument", ["server"], /^keygen: unexpected argument "server"$/],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, () => {
      try {
        parseKeygenConfig(args, {});
      } catch (error) {
        assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
        assert.match(error.message, pattern);
        return;
      }
      assert.fail(`expected ${JSON.stringify(args)} to be refused`);
    });
  }
});

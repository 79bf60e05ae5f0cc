import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { basename, dirname, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { bundledDatabasePath } from "../../lib/database/mod.ts";
import { compiledBinaryRoot, isEmbeddedPath, libzmqPathForDlopen } from "../../lib/zmq/mod.ts";
import { Libzmq } from "../../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../../lib/zmq/mod.ts";
import { VERSION } from "../../lib/service/mod.ts";
import {
  CANNOT_RUN_HERE,
  type CommandOutput,
  commandOutput,
  type CompilePlan,
  parseCompileArgs,
  planCompile,
  PROJECT_ROOT,
  runtimeDownloadFailure,
  shellQuote,
  startTaskPermissions,
  zeromqManifestPath,
} from "../../tooling/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile } from "../support/fixtures.ts";
import { TestClient } from "../support/test_client.ts";
import { runToExit, spawnService } from "../support/service_process.ts";

const COMPILE_SCRIPT = new URL("../../scripts/compile.ts", import.meta.url).pathname;
const EMBEDDED_LIBZMQ = new URL("../../lib/zmq/mod.ts", import.meta.url).href;
const DENO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Runs `scripts/compile.ts` as `deno task compile` does. */
function runCompileScript(
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandOutput> {
  const inherited = Deno.env.toObject();
  delete inherited.DENORT_BIN;
  return commandOutput(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-run", COMPILE_SCRIPT, ...args],
    cwd: PROJECT_ROOT,
    env: { ...inherited, ...env },
    clearEnv: true,
  });
}

/** The values that follow each occurrence of a flag. */
function flagValues(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => arg === flag ? [args[i + 1]!] : []);
}

/** Every file under a directory. */
function filesUnder(directory: string): string[] {
  return [...Deno.readDirSync(directory)].flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory ? filesUnder(path) : [path];
  });
}

/** The worker modules `lib/` starts, as `new Worker(new URL("./x.ts", import.meta.url))`. */
function workerModules(): string[] {
  const modules = new Set<string>();
  for (const file of filesUnder(join(PROJECT_ROOT, "lib"))) {
    if (!file.endsWith(".ts")) continue;
    const text = Deno.readTextFileSync(file);
    for (
      const match of text.matchAll(/new Worker\(\s*new URL\(\s*"([^"]+)",\s*import\.meta\.url/g)
    ) {
      modules.add(resolve(dirname(file), match[1]!).slice(PROJECT_ROOT.length + 1));
    }
  }
  return [...modules].sort();
}

function isCoveredBy(path: string, excludes: string[]): boolean {
  return excludes.some((excluded) => path === excluded || path.startsWith(excluded + sep));
}

/** Checks what a plan embeds: the target's libzmq, the manifest, the workers, not the rest. */
function assertPlanEmbedsLibzmqOnly(plan: CompilePlan, libzmq: string) {
  const includes = flagValues(plan.args, "--include");
  const excludes = flagValues(plan.args, "--exclude");
  assert.deepEqual(includes, plan.includes);
  assert.deepEqual(excludes, plan.excludes);
  for (const path of [...includes, ...excludes]) {
    assert.ok(
      Deno.statSync(resolve(plan.cwd, path)),
      `${path} is given to deno compile and exists`,
    );
  }
  const manifest = zeromqManifestPath();
  assert.equal(plan.libzmq, libzmq);
  assert.ok(includes.includes(libzmq), "the libzmq addon is included");
  assert.ok(includes.includes(manifest), "the prebuilt manifest is included");
  for (const module of workerModules()) {
    assert.ok(includes.includes(module), `worker module ${module} is included`);
  }
  for (const file of filesUnder(dirname(manifest))) {
    const kept = file === libzmq || file === manifest;
    assert.equal(isCoveredBy(file, excludes), !kept, `${file} ${kept ? "kept" : "excluded"}`);
  }
}

Deno.test("scripts/compile.ts --dry-run prints the deno compile command: permissions, libzmq, workers, no database", async () => {
  const output = join(await Deno.makeTempDir({ prefix: "geoipmq-compile-" }), "geoipmq");
  try {
    const result = await runCompileScript(["--dry-run", "--output", output]);
    assert.equal(result.code, 0, result.stderr);
    const plan = JSON.parse(result.stdout) as CompilePlan;
    assert.equal(plan.program, Deno.execPath());
    assert.equal(plan.cwd, PROJECT_ROOT);
    assert.equal(plan.args[0], "compile");
    assert.equal(plan.args.at(-1), "main.ts");
    assert.deepEqual(flagValues(plan.args, "--output"), [output]);
    assert.equal(plan.target, Deno.build.target);
    assert.ok(!plan.args.includes("--target"), "no --target for this platform");
    assert.ok(!plan.args.includes("--no-check"), "type-checked by default");

    const granted = plan.args.filter((arg) =>
      /^(-A|--allow-|--deny-|--unstable-|--v8-flags=)/.test(arg)
    );
    assert.deepEqual(granted, startTaskPermissions(), "the permissions of deno task start");
    assert.deepEqual(plan.permissions, granted);
    for (const flag of ["--allow-read", "--allow-env", "--allow-ffi", "--allow-sys"]) {
      assert.ok(granted.includes(flag), `${flag} is granted`);
    }
    assert.ok(
      granted.includes("--v8-flags=--max-semi-space-size=1"),
      "the V8 memory flag",
    );
    for (const flag of ["-A", "--allow-all", "--allow-write", "--allow-run"]) {
      assert.ok(!granted.some((arg) => arg.split("=")[0] === flag), `${flag} is not granted`);
    }

    assertPlanEmbedsLibzmqOnly(plan, bundledLibzmqPath());
    assert.deepEqual(plan.database, { path: bundledDatabasePath(), embedded: false });
    assert.ok(flagValues(plan.args, "--exclude").includes(bundledDatabasePath()));
    assert.ok(!flagValues(plan.args, "--include").includes(bundledDatabasePath()));
    assert.doesNotMatch(result.stderr, /^compile: /m, "a dry run runs nothing");
  } finally {
    await Deno.remove(dirname(output), { recursive: true });
  }
});

Deno.test("scripts/compile.ts options: --with-database, --target, --no-check, bad flags", async (t) => {
  await t.step("--with-database includes the GeoLite2-City instead of excluding it", () => {
    const plan = planCompile({ ...parseCompileArgs(["--with-database"]) });
    assert.deepEqual(plan.database, { path: bundledDatabasePath(), embedded: true });
    assert.ok(flagValues(plan.args, "--include").includes(bundledDatabasePath()));
    assert.ok(!flagValues(plan.args, "--exclude").includes(bundledDatabasePath()));
  });
  await t.step("--target picks that platform's prebuilt", () => {
    const target = Deno.build.arch === "x86_64"
      ? "aarch64-unknown-linux-gnu"
      : "x86_64-unknown-linux-gnu";
    const plan = planCompile(parseCompileArgs(["--target", target]));
    assert.deepEqual(flagValues(plan.args, "--target"), [target]);
    const arch = target.startsWith("aarch64") ? "arm64" : "x64";
    assert.match(
      plan.libzmq,
      new RegExp(`/build/linux/${arch}/node/glibc-\\d+-Release/addon\\.node$`),
    );
    assertPlanEmbedsLibzmqOnly(plan, plan.libzmq);
  });
  await t.step("--no-check is passed on", () => {
    assert.ok(planCompile(parseCompileArgs(["--no-check"])).args.includes("--no-check"));
  });
  await t.step("an unknown flag or target exits 2 with one line", async () => {
    for (const args of [["--frobnicate"], ["--target", "sparc-sun-solaris"]]) {
      const result = await runCompileScript(args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr.trim().split("\n").at(-1)!, /^compile: .+/);
      assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
    }
  });
  await t.step("the printed command can be pasted into a shell", () => {
    assert.equal(
      shellQuote(["deno", "compile", "--include", "a b/it's.ts"]),
      `deno compile --include 'a b/it'\\''s.ts'`,
    );
  });
});

/** What `deno compile` 2.9.6 printed on this machine, where dl.deno.land cannot be reached. */
const DOWNLOAD_FAILURE = `\u001b[0m\u001b[32mCompile\u001b[0m main.ts to geoipmq
\u001b[0m\u001b[32mDownload\u001b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
\u001b[0m\u001b[1m\u001b[31merror\u001b[0m: Writing deno compile executable to temporary file 'geoipmq.tmp-2d9e61b02f52e640'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known

Stack backtrace:
   0: <unknown>
`;

Deno.test("scripts/compile.ts recognises deno compile failing to download its runtime, and nothing else", () => {
  assert.equal(
    runtimeDownloadFailure(DOWNLOAD_FAILURE),
    "it must download its runtime, " +
      "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip, and that " +
      "failed (failed to lookup address information: Name or service not known)",
  );
  assert.equal(
    runtimeDownloadFailure("Check main.ts\nTS2322 [ERROR]: Type 'string' is not assignable"),
    undefined,
  );
});

Deno.test("deno compile with the planned flags embeds one libzmq and no database (built on a stand-in runtime)", async () => {
  // DENORT_BIN makes deno compile use the given runtime instead of downloading denort: with
  // the full deno binary the result cannot run geoipmq (it starts a REPL), but its embedded
  // file system is exactly what the real build embeds, so the flags are checked for real.
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-compile-" });
  const output = join(directory, "geoipmq");
  try {
    const result = await runCompileScript(["--output", output, "--no-check"], {
      DENORT_BIN: Deno.execPath(),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^compile: \S+ compile --output /m, "prints the command");
    // Only what deno compile appended to the runtime is searched: the runtime itself is
    // large, and has nothing of ours.
    const runtimeSize = (await Deno.stat(Deno.execPath())).size;
    const binary = Buffer.from((await Deno.readFile(output)).subarray(runtimeSize));
    const libzmq = Deno.readFileSync(bundledLibzmqPath());
    const chunkOf = (bytes: Uint8Array, unlike?: Buffer) => {
      for (const at of [0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]) {
        const start = Math.floor(bytes.length * at);
        const chunk = Buffer.from(bytes.subarray(start, start + 512));
        if (unlike === undefined || unlike.indexOf(chunk) < 0) return chunk;
      }
      throw new Error("no distinctive chunk");
    };
    assert.ok(binary.indexOf(chunkOf(libzmq)) >= 0, "the libzmq addon is embedded");
    const manifest = zeromqManifestPath();
    for (const other of filesUnder(dirname(manifest))) {
      if (other === bundledLibzmqPath() || other === manifest) continue;
      const chunk = chunkOf(Deno.readFileSync(other), Buffer.from(libzmq));
      assert.ok(binary.indexOf(chunk) < 0, `${other} is not embedded`);
    }
    const database = await Deno.open(bundledDatabasePath());
    try {
      const sample = new Uint8Array(512);
      await database.seek(10_000_000, Deno.SeekMode.Start);
      assert.equal(await database.read(sample), 512);
      assert.ok(binary.indexOf(Buffer.from(sample)) < 0, "the database is not embedded");
    } finally {
      database.close();
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("lib/zmq turns the libzmq of a compiled binary into a private real file", async (t) => {
  const source = bundledLibzmqPath();
  const temp = await Deno.makeTempDir({ prefix: "geoipmq-embedded-" });
  // A compiled binary's file system, laid out as deno compile lays it out:
  // <temp dir>/deno-compile-<binary>/.deno_compile_node_modules/localhost/<package>/<version>/…
  const root = join(temp, "deno-compile-geoipmq");
  const embedded = join(
    root,
    ".deno_compile_node_modules",
    "localhost",
    source.slice(source.lastIndexOf(`${sep}zeromq${sep}`) + 1),
  );
  await Deno.mkdir(dirname(embedded), { recursive: true });
  await Deno.copyFile(source, embedded);
  await Deno.mkdir(join(temp, "run"));
  const directory = join(temp, "run", "geoipmq");
  const mode = (path: string) => (Deno.lstatSync(path).mode ?? 0) & 0o777;
  try {
    await t.step("the virtual file system root is found from the main module", () => {
      const program = {
        mainModule: pathToFileURL(join(root, "main.ts")).href,
        execPath: "/usr/local/bin/geoipmq",
        standalone: true,
      };
      assert.equal(compiledBinaryRoot(program), root);
      assert.equal(compiledBinaryRoot({ ...program, standalone: false }), undefined);
      assert.equal(compiledBinaryRoot({ ...program, execPath: "/usr/bin/other" }), undefined);
      assert.equal(
        compiledBinaryRoot({ ...program, mainModule: pathToFileURL(PROJECT_ROOT).href }),
        undefined,
      );
      assert.equal(compiledBinaryRoot(), undefined, "deno test is not a compiled binary");
      assert.ok(isEmbeddedPath(embedded, root));
      assert.ok(!isEmbeddedPath(`${root}-other${sep}x`, root));
    });

    await t.step("a path outside the binary is loaded as it is", () => {
      assert.equal(libzmqPathForDlopen(source), source);
      assert.equal(libzmqPathForDlopen(source, { root, directory }), source);
      assert.equal(libzmqPathForDlopen(embedded, { root: undefined, directory }), embedded);
      assert.throws(() => Deno.lstatSync(directory), Deno.errors.NotFound, "nothing written");
    });

    let extracted = "";
    await t.step("an embedded one is copied to mode 0600 in a 0700 directory and loads", () => {
      extracted = libzmqPathForDlopen(embedded, { root, directory });
      assert.equal(dirname(extracted), directory);
      assert.match(basename(extracted), /^libzmq-[0-9a-f]{32}\.node$/);
      assert.equal(mode(directory), 0o700);
      assert.equal(mode(extracted), 0o600);
      assert.deepEqual(Deno.readFileSync(extracted), Deno.readFileSync(source));
      const lib = Libzmq.open(extracted);
      try {
        assert.equal(lib.version(), "4.3.5");
      } finally {
        lib.close();
      }
    });

    await t.step("again, the same copy is reused untouched", () => {
      const before = Deno.lstatSync(extracted);
      assert.equal(libzmqPathForDlopen(embedded, { root, directory }), extracted);
      const after = Deno.lstatSync(extracted);
      assert.equal(after.ino, before.ino);
      assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
      assert.deepEqual([...Deno.readDirSync(directory)].map((e) => e.name), [
        basename(extracted),
      ], "no temporary file left behind");
    });

    await t.step("a damaged or loosened copy is replaced", () => {
      // Damage a new file at that path: the copy loaded above stays mapped in this
      // process, and writing over a mapped library in place kills it with SIGBUS.
      Deno.removeSync(extracted);
      Deno.writeFileSync(extracted, new TextEncoder().encode("not a library"));
      assert.equal(libzmqPathForDlopen(embedded, { root, directory }), extracted);
      assert.deepEqual(Deno.readFileSync(extracted), Deno.readFileSync(source));
      Deno.chmodSync(extracted, 0o644);
      const loose = Deno.lstatSync(extracted).ino;
      assert.equal(libzmqPathForDlopen(embedded, { root, directory }), extracted);
      assert.equal(mode(extracted), 0o600);
      assert.notEqual(Deno.lstatSync(extracted).ino, loose, "rewritten, not chmodded");
    });

    await t.step("a loose directory is tightened; a symbolic link is refused", () => {
      Deno.chmodSync(directory, 0o755);
      libzmqPathForDlopen(embedded, { root, directory });
      assert.equal(mode(directory), 0o700);
      const link = join(temp, "run", "link");
      Deno.symlinkSync(directory, link);
      assert.throws(
        () => libzmqPathForDlopen(embedded, { root, directory: link }),
        /^Error: Cannot extract the embedded libzmq to .*link: .*link is not a directory$/,
      );
    });

    await t.step("without write permission the path is left to Deno's own extraction", async () => {
      const script = join(temp, "no_write.ts");
      await Deno.writeTextFile(
        script,
        `import { libzmqPathForDlopen } from ${JSON.stringify(EMBEDDED_LIBZMQ)};\n` +
          `console.log(libzmqPathForDlopen(${JSON.stringify(embedded)}, ` +
          `{ root: ${JSON.stringify(root)}, directory: ${
            JSON.stringify(join(temp, "other"))
          } }));\n`,
      );
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--config",
          DENO_CONFIG,
          "--allow-read",
          "--allow-env",
          "--allow-sys",
          script,
        ],
        stdin: "null",
      }).output();
      assert.equal(output.code, 0, decoder.decode(output.stderr));
      assert.equal(decoder.decode(output.stdout).trim(), embedded);
      assert.throws(() => Deno.lstatSync(join(temp, "other")), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
});

Deno.test("deno task compile builds a ./geoipmq that runs (where deno compile can get its runtime)", async () => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-compile-" });
  const binary = join(directory, "geoipmq");
  try {
    const build = await runCompileScript(["--output", binary, "--no-check"]);
    if (build.code !== 0 && build.stderr.includes(CANNOT_RUN_HERE)) {
      const reason = build.stderr.split("\n").find((line) => line.startsWith(CANNOT_RUN_HERE));
      const message = `deno compile cannot get its denort runtime on this machine, so the ` +
        `compiled binary was not built or run:\n${reason}`;
      if (Deno.env.get("GEOIPMQ_REQUIRE_COMPILE") === "1") throw new Error(message);
      console.warn(`\n!!! SKIPPED: ${message} !!!\n`);
      return;
    }
    assert.equal(build.code, 0, build.stderr);

    const run = (args: string[]) => runToExit(args, { executable: binary });
    const version = await run(["--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), `geoipmq ${VERSION}`);
    const help = await run(["--help"]);
    assert.match(help.stdout, /^Usage: geoipmq \[options\]/);

    const noDatabase = await run(["--bind", "tcp://127.0.0.1:*", "--workers", "1"]);
    assert.equal(noDatabase.code, 1, "the GeoLite2-City is not embedded");
    assert.match(noDatabase.stderr, /^geoipmq: .*GeoLite2-City/m);

    await withTempFile(cityFixture(), async (fixture) => {
      const args = ["--db", fixture, "--bind", "tcp://127.0.0.1:*", "--workers", "2"];
      await using service = await spawnService(args, { executable: binary });
      let status: Deno.CommandStatus;
      try {
        const ready = await service.waitForLog(/ready on /);
        assert.match(ready, /\(libzmq 4\.3\.5\)/, "the embedded libzmq");
        await using client = new TestClient();
        assert.equal(client.ask(service.endpoint, "ping"), "pong");
        assert.equal(client.ask(service.endpoint, "geoip 81.2.69.160"), LONDON_TSV);
      } finally {
        status = await service.stop("SIGTERM");
      }
      assert.equal(status.code, 0, service.log.join("\n"));
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

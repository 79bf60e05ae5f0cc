/**
 * The libzmq embedded in a binary built by `deno compile` (`deno task compile`), turned
 * into a real file that `Deno.dlopen` can load.
 *
 * In a compiled binary, npm packages and `--include`d files live in a virtual file system
 * mounted at `<temp dir>/deno-compile-<binary name>/`: `Deno.readFileSync` reads them, but
 * the operating system's loader cannot see them. Since Deno 2.3 (denoland/deno#28934) the
 * runtime copies a library to a temporary file itself when `Deno.dlopen` is given such a
 * path, in the main thread and in workers alike. This module does the copy on its own terms when the binary may write: into a
 * directory private to the user (`$XDG_RUNTIME_DIR/geoipmq`, else
 * `<temp dir>/geoipmq-<uid>`, mode 0700), under a name derived from the library's SHA-256
 * (so every run of every version finds or writes exactly its own copy), written to a
 * temporary name and renamed into place, and checked (owner, type, mode, content) before an
 * existing copy is reused. Lookup workers then get a real path, not a virtual one.
 *
 * When the binary may not write there (the default `deno task compile` grants no
 * `--allow-write`), the virtual path is returned unchanged for Deno's own copy.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { basename, extname, isAbsolute, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** What tells a compiled binary from `deno run`. */
export interface RunningProgram {
  /** `Deno.mainModule`: in a compiled binary, a file URL inside its virtual file system. */
  mainModule: string;
  /** `Deno.execPath()`: in a compiled binary, the binary itself. */
  execPath: string;
  /** `Deno.build.standalone`: true in a compiled binary. */
  standalone: boolean;
}

/** @returns the running program, as {@linkcode compiledBinaryRoot} reads it */
export function runningProgram(): RunningProgram {
  return {
    mainModule: Deno.mainModule,
    execPath: Deno.execPath(),
    standalone: Deno.build.standalone === true,
  };
}

/**
 * Finds the root of a compiled binary's virtual file system: the directory
 * `deno-compile-<binary file name>` that Deno mounts in the temporary directory and that
 * holds the main module. A binary built with `--self-extracting` runs from real files and
 * has no such root.
 *
 * @example
 * ```ts
 * import { compiledBinaryRoot } from "./embedded.ts";
 * compiledBinaryRoot({
 *   mainModule: "file:///tmp/deno-compile-geoipmq/main.ts",
 *   execPath: "/usr/local/bin/geoipmq",
 *   standalone: true,
 * }); // "/tmp/deno-compile-geoipmq"
 * ```
 *
 * @param program the running program (default: this one)
 * @returns the root directory, or undefined when not running from a virtual file system
 */
export function compiledBinaryRoot(program: RunningProgram = runningProgram()): string | undefined {
  if (!program.standalone || !program.mainModule.startsWith("file:")) return undefined;
  const parts = fileURLToPath(program.mainModule).split(sep);
  const at = parts.indexOf(`deno-compile-${basename(program.execPath)}`);
  return at < 1 ? undefined : parts.slice(0, at + 1).join(sep);
}

/**
 * @param path a file path
 * @param root the root from {@linkcode compiledBinaryRoot}, if any
 * @returns whether the path is inside that virtual file system
 */
export function isEmbeddedPath(path: string, root: string | undefined): boolean {
  return root !== undefined && (path === root || path.startsWith(root + sep));
}

/**
 * The preferred directory for the extracted library: `$XDG_RUNTIME_DIR/geoipmq` when
 * `XDG_RUNTIME_DIR` names an existing directory (a per-user directory that the login
 * manager creates and removes), else `<temp dir>/geoipmq-<uid>`.
 *
 * @returns the directory, which may not exist yet
 */
export function extractionDirectory(): string {
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  if (runtime !== undefined && isAbsolute(runtime) && isDirectory(runtime)) {
    return join(runtime, "geoipmq");
  }
  const uid = Deno.build.os === "windows" ? null : Deno.uid();
  return join(tmpdir(), uid === null ? "geoipmq" : `geoipmq-${uid}`);
}

/**
 * Creates a directory only its owner can enter (mode 0700), or checks an existing one: it
 * must be a real directory (not a symbolic link) owned by this user; a looser mode is
 * tightened to 0700.
 *
 * @param directory the directory
 * @throws {Error} when it cannot be created or is not a private directory of this user
 */
export function ensurePrivateDirectory(directory: string): void {
  try {
    Deno.mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const info = Deno.lstatSync(directory);
  if (info.isSymlink || !info.isDirectory) {
    throw new Error(`${directory} is not a directory`);
  }
  if (Deno.build.os === "windows") return;
  if (info.uid !== Deno.uid()) {
    throw new Error(`${directory} belongs to another user (uid ${info.uid})`);
  }
  if (((info.mode ?? 0) & 0o777) !== 0o700) Deno.chmodSync(directory, 0o700);
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Whether `path` is a regular file of this user, mode 0600, holding exactly `digest`. */
function holds(path: string, size: number, digest: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return false;
  }
  if (!info.isFile || info.isSymlink || info.size !== size) return false;
  if (Deno.build.os !== "windows") {
    if (info.uid !== Deno.uid() || ((info.mode ?? 0) & 0o777) !== 0o600) return false;
  }
  return sha256(Deno.readFileSync(path)) === digest;
}

/**
 * Copies a file (typically from a compiled binary's virtual file system) into a private
 * directory under a content-addressed name: `<prefix>-<first 32 hex digits of its
 * SHA-256><extension>`, mode 0600. An existing copy is reused when it is a regular file of
 * this user with mode 0600 and the same content; otherwise the file is written to a
 * temporary name in the same directory and renamed over the target, so no process ever
 * sees a partial library.
 *
 * @param source the file to copy
 * @param directory where to put it; created or checked by {@linkcode ensurePrivateDirectory}
 * @param prefix the start of the file name
 * @returns the path of the copy
 * @throws {Error} when the source cannot be read or the copy cannot be written
 */
export function extractEmbeddedFile(source: string, directory: string, prefix = "libzmq"): string {
  const bytes = Deno.readFileSync(source);
  const digest = sha256(bytes);
  ensurePrivateDirectory(directory);
  const target = join(directory, `${prefix}-${digest.slice(0, 32)}${extname(source)}`);
  if (holds(target, bytes.length, digest)) return target;
  const temporary = join(directory, `.${basename(target)}.${crypto.randomUUID()}.tmp`);
  try {
    Deno.writeFileSync(temporary, bytes, { mode: 0o600, createNew: true });
    if (Deno.build.os !== "windows") Deno.chmodSync(temporary, 0o600);
    Deno.renameSync(temporary, target);
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch {
      // Never written, or already renamed.
    }
    throw error;
  }
  return target;
}

/** Options for {@linkcode libzmqPathForDlopen}; the defaults describe this process. */
export interface LibzmqPathOptions {
  /** The virtual file system root (default: {@linkcode compiledBinaryRoot}). */
  root?: string | undefined;
  /** Where to extract (default: {@linkcode extractionDirectory}). */
  directory?: string;
}

/**
 * The path to give `Deno.dlopen` for a libzmq: a path outside a compiled binary's virtual
 * file system is returned as it is; an embedded one is extracted with
 * {@linkcode extractEmbeddedFile} when this process may write to the extraction directory,
 * and otherwise returned as it is, for Deno's own extraction.
 *
 * @param path the libzmq path, e.g. from `bundledLibzmqPath()`
 * @param options the virtual file system root and the extraction directory
 * @returns a path to load
 * @throws {Error} naming the directory when the extraction fails
 */
export function libzmqPathForDlopen(path: string, options: LibzmqPathOptions = {}): string {
  const root = "root" in options ? options.root : compiledBinaryRoot();
  if (!isEmbeddedPath(path, root)) return path;
  const directory = options.directory ?? extractionDirectory();
  const write = Deno.permissions.querySync({ name: "write", path: directory });
  if (write.state !== "granted") return path;
  try {
    return extractEmbeddedFile(path, directory);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot extract the embedded libzmq to ${directory}: ${reason}`, {
      cause: error,
    });
  }
}

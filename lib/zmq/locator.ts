/**
 * Finds the libzmq that ships inside `npm:zeromq`'s prebuilt addon for the running
 * platform. The addon statically links libzmq and exports its whole C API, so loading it
 * with `Deno.dlopen` needs nothing installed on the host.
 *
 * @module
 */

import zeromqPackage from "zeromq/package.json" with { type: "json" };
import { libzmqPathForDlopen } from "./embedded.ts";
import { Libzmq } from "./library.ts";

/** One entry of the prebuilt addon table in `zeromq/build/manifest.json`. */
interface PrebuiltTarget {
  os: string;
  arch: string;
  libc: string;
  abi: number;
  path: string;
}

/** The npm package the default libzmq comes from, e.g. "zeromq@6.8.0". */
export const BUNDLED_LIBZMQ_PACKAGE = `zeromq@${zeromqPackage.version}`;

/**
 * Reads the prebuilt table of `npm:zeromq`.
 *
 * @param manifestText the text of `build/manifest.json`
 * @returns the targets it lists
 */
export function parsePrebuiltManifest(manifestText: string): PrebuiltTarget[] {
  const manifest = JSON.parse(manifestText) as Record<string, string>;
  const targets: PrebuiltTarget[] = [];
  for (const [key, path] of Object.entries(manifest)) {
    const target = JSON.parse(key) as Partial<PrebuiltTarget>;
    if (
      typeof target.os === "string" && typeof target.arch === "string" &&
      typeof target.libc === "string" && typeof target.abi === "number"
    ) {
      targets.push({
        os: target.os,
        arch: target.arch,
        libc: target.libc,
        abi: target.abi,
        path: path.replaceAll("\\", "/"),
      });
    }
  }
  return targets;
}

/**
 * Picks the prebuilt for a platform: same OS, CPU and C library, newest Node ABI.
 *
 * @param targets the table from {@linkcode parsePrebuiltManifest}
 * @param platform the platform in Node's words (`linux`, `x64`, `glibc`)
 * @returns the relative path of the addon under `build/`, or undefined when none fits
 */
export function choosePrebuilt(
  targets: PrebuiltTarget[],
  platform: { os: string; arch: string; libc: string },
): string | undefined {
  const fitting = targets
    .filter((t) => t.os === platform.os && t.arch === platform.arch && t.libc === platform.libc)
    .sort((a, b) => b.abi - a.abi);
  return fitting[0]?.path;
}

/** @returns the running platform in the words of `zeromq`'s manifest */
export function currentPlatform(): { os: string; arch: string; libc: string } {
  const { os, arch, target } = Deno.build;
  const nodeOs = os === "windows" ? "win32" : os;
  const nodeArch = arch === "x86_64" ? "x64" : arch === "aarch64" ? "arm64" : arch;
  const libc = os === "linux"
    ? (target.endsWith("musl") ? "musl" : "glibc")
    : os === "windows"
    ? "msvc"
    : "libc";
  return { os: nodeOs, arch: nodeArch, libc };
}

/**
 * @returns the file path of the libzmq inside `npm:zeromq`'s prebuilt for this platform
 * @throws {Error} when the package has no prebuilt for this platform
 */
export function bundledLibzmqPath(): string {
  const packageJson = new URL(import.meta.resolve("zeromq/package.json"));
  const buildDirectory = new URL("build/", packageJson);
  const manifestText = Deno.readTextFileSync(new URL("manifest.json", buildDirectory));
  const platform = currentPlatform();
  const relative = choosePrebuilt(parsePrebuiltManifest(manifestText), platform);
  if (relative === undefined) {
    throw new Error(
      `npm:${BUNDLED_LIBZMQ_PACKAGE} has no prebuilt libzmq for ${platform.os}-${platform.arch}-${platform.libc}; pass --libzmq PATH`,
    );
  }
  // Inside a binary from `deno task compile`, the addon sits in a virtual file system.
  return libzmqPathForDlopen(new URL(relative, buildDirectory).pathname);
}

/**
 * Loads libzmq: the given file, or the one inside `npm:zeromq` for this platform.
 *
 * @example
 * ```ts
 * import { openLibzmq } from "./locator.ts";
 * console.log(openLibzmq(undefined).has("curve")); // true
 * ```
 *
 * @param path a libzmq to load, or undefined for the bundled one
 * @returns the loaded library
 * @throws {Error} one line naming the file (and the package it came from) and the reason
 */
export function openLibzmq(path: string | undefined): Libzmq {
  try {
    return Libzmq.open(path ?? bundledLibzmqPath());
  } catch (error) {
    const origin = path === undefined ? ` (from npm:${BUNDLED_LIBZMQ_PACKAGE})` : "";
    throw new Error(`${(error as Error).message}${origin}`, { cause: error });
  }
}

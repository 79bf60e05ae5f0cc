/**
 * The bench's native programs, built from source on the machine that runs it: the C loop
 * (`scripts/baselines/c_baseline/geoip_rep.c`), the load generator (`scripts/baselines/c_load/geoip_load.c`) and the Go peer
 * (`scripts/baselines/go_baseline/geoip_http.go`, offline from Debian's packages). A missing toolchain gives a
 * one-line problem instead of a program.
 *
 * @module
 */

import { childEnvironment } from "./child_environment.ts";
import { type CommandOutput, commandOutput } from "./command_output.ts";

const C_LOOP_SOURCE =
  new URL("../scripts/baselines/c_baseline/geoip_rep.c", import.meta.url).pathname;
const LOAD_SOURCE = new URL("../scripts/baselines/c_load/geoip_load.c", import.meta.url).pathname;
const GO_SOURCE =
  new URL("../scripts/baselines/go_baseline/geoip_http.go", import.meta.url).pathname;
/** The wrk script of the traffic shapes. */
export const WRK_SHAPES_SCRIPT =
  new URL("../scripts/baselines/c_load/wrk_shapes.lua", import.meta.url).pathname;
/** What the C programs need. */
export const C_PACKAGES = "build-essential libzmq3-dev libmaxminddb-dev";
/** What the Go peer needs. */
export const GO_PACKAGES = "golang-go golang-github-oschwald-geoip2-golang-dev";
/** Where Debian's `golang-*-dev` packages put their sources (a GOPATH). */
const DEBIAN_GOPATH = "/usr/share/gocode";

/** A built program, or why it could not be built. */
export type Build = { binary: string } | { problem: string };

/**
 * Runs a command to completion in the clean child environment.
 *
 * @example
 * ```ts
 * const result = await runCommand("true", []);
 * console.log(result?.code); // 0
 * ```
 *
 * @param command the program
 * @param args its arguments
 * @param options more environment variables; an abort signal that kills it
 * @returns its exit code and output; null when the program does not exist
 */
export async function runCommand(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<CommandOutput | null> {
  try {
    return await commandOutput(command, {
      args,
      env: childEnvironment(options.env),
      clearEnv: true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Compiles one C file with `cc -O2`. */
async function buildC(
  spec: { directory: string; name: string; source: string; libraries: string[] },
): Promise<Build> {
  const binary = `${spec.directory}/${spec.name}`;
  const args = ["-O2", "-Wall", "-pthread", "-o", binary, spec.source, ...spec.libraries];
  const result = await runCommand("cc", args);
  if (result === null) return { problem: "no C compiler (`cc` not found)" };
  if (result.code !== 0) {
    const lines = result.stderr.split("\n");
    const first = lines.find((line) => /error|cannot find/i.test(line)) ?? lines[0] ?? "";
    return { problem: `\`cc ${args.join(" ")}\` failed: ${first.trim()}` };
  }
  return { binary };
}

/**
 * Builds the C loop: libzmq REP + libmaxminddb, one thread.
 *
 * @example
 * ```ts ignore
 * const build = await buildCLoop("/tmp");
 * if ("binary" in build) console.log(build.binary); // /tmp/geoip_rep
 * ```
 *
 * @param directory where the binary goes
 * @returns the binary, or why it could not be built
 */
export function buildCLoop(directory: string): Promise<Build> {
  return buildC({
    directory,
    name: "geoip_rep",
    source: C_LOOP_SOURCE,
    libraries: ["-lzmq", "-lmaxminddb"],
  });
}

/**
 * Builds the native load generator (libzmq, a thread per client).
 *
 * @example
 * ```ts ignore
 * const build = await buildLoadGenerator("/tmp");
 * if ("binary" in build) console.log(build.binary); // /tmp/geoip_load
 * ```
 *
 * @param directory where the binary goes
 * @returns the binary, or why it could not be built
 */
export function buildLoadGenerator(directory: string): Promise<Build> {
  return buildC({
    directory,
    name: "geoip_load",
    source: LOAD_SOURCE,
    libraries: ["-lzmq", "-lm"],
  });
}

/**
 * Builds the Go peer offline from Debian's packages (GOPATH mode, no module proxy).
 *
 * @example
 * ```ts ignore
 * const build = await buildGoPeer("/tmp");
 * if ("binary" in build) console.log(build.binary); // /tmp/geoip_http
 * ```
 *
 * @param directory where the binary goes (and Go's cache, when there is no home)
 * @returns the binary, or why it could not be built
 */
export async function buildGoPeer(directory: string): Promise<Build> {
  const binary = `${directory}/geoip_http`;
  const args = ["build", "-o", binary, GO_SOURCE];
  const env = childEnvironment();
  const goEnv: Record<string, string> = {
    GO111MODULE: "off",
    GOPATH: DEBIAN_GOPATH,
    GOFLAGS: "",
    GOPROXY: "off",
    // A cache of its own when there is no home to keep one in.
    ...(env.HOME === undefined && env.GOCACHE === undefined
      ? { GOCACHE: `${directory}/go-cache` }
      : {}),
  };
  const result = await runCommand("go", args, { env: goEnv });
  if (result === null) return { problem: "no Go toolchain (`go` not found)" };
  if (result.code !== 0) {
    const first = result.stderr.split("\n").find((line) => line.trim() !== "") ?? "";
    return {
      problem: `\`go ${args.join(" ")}\` (GOPATH=${DEBIAN_GOPATH}) failed: ${first.trim()}`,
    };
  }
  return { binary };
}

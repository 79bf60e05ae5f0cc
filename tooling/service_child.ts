/**
 * What the scripts that run programs beside geoipmq share: a way to start a program that
 * keeps only its stderr, and the bundled database gunzipped to a file.
 *
 * @module
 */

import { childEnvironment } from "./child_environment.ts";

/**
 * Starts a program in the clean environment of {@linkcode childEnvironment}, with no stdin,
 * stdout thrown away and stderr piped to the caller.
 *
 * @example
 * ```ts
 * import { spawnQuiet } from "./service_child.ts";
 * const child = spawnQuiet(Deno.execPath(), ["--version"]);
 * await child.stderr.cancel();
 * console.log((await child.status).code); // 0
 * ```
 *
 * @param command the program
 * @param args its arguments
 * @returns the running child
 */
export function spawnQuiet(command: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(command, {
    args,
    env: childEnvironment(),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/**
 * Gunzips a file into another (libmaxminddb and the C loop need a plain `.mmdb`).
 *
 * @param source the `.gz` file
 * @param target the file to write
 */
export async function gunzip(source: string, target: string): Promise<void> {
  const input = await Deno.open(source);
  const output = await Deno.open(target, { write: true, create: true, truncate: true });
  await input.readable.pipeThrough(new DecompressionStream("gzip")).pipeTo(output.writable);
}

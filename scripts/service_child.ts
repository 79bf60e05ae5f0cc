/**
 * What the scripts that run geoipmq as a child process share: its flags (those of
 * `deno task start`, read from `deno.json`, so a benchmark or soak runs what operators
 * run), a clean environment for it, a way to start it that keeps only its stderr, its output
 * line by line, and the bundled database gunzipped to a file.
 *
 * @module
 */

import { startTaskPermissions } from "./compile.ts";

/** The `deno run` flags of `deno task start`: permissions and V8 flags. */
export const SERVICE_FLAGS: readonly string[] = startTaskPermissions();

/** @returns the environment for a child, without `GEOIPMQ_*` variables that would change its setup */
export function childEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !name.startsWith("GEOIPMQ_")),
  );
}

/**
 * Starts a program in the clean environment of {@linkcode childEnvironment}, with no stdin,
 * stdout thrown away and stderr piped to the caller.
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

/**
 * Reads a child's output line by line, as it comes; a last line without a line break is
 * dropped.
 *
 * @param stream the child's stdout or stderr
 * @returns the lines, without their line breaks
 */
export async function* textLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    yield* lines;
  }
}

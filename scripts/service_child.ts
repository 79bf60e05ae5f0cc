/**
 * What the scripts that run geoipmq as a child process share: its flags (those of
 * `deno task start`, read from `deno.json`, so a benchmark or soak runs what operators
 * run), a clean environment for it, and the bundled database gunzipped to a file.
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

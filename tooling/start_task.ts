/**
 * The `deno run` flags of `deno task start`, read from `deno.json`, so that every other way
 * of running geoipmq (a compiled binary, a test, a benchmark, a soak) runs it as operators do.
 *
 * @module
 */

const DEFAULT_CONFIG = new URL("../deno.json", import.meta.url);

/**
 * The permission, unstable-feature and V8 flags of the `start` task in `deno.json` (today
 * `--unstable-net --allow-read --allow-env --allow-ffi --allow-sys --allow-net --v8-flags=…`;
 * `--unstable-net` lets several HTTP threads listen on one address).
 *
 * @example
 * ```ts
 * import { startTaskPermissions } from "./start_task.ts";
 * const flags = startTaskPermissions();
 * console.log(flags.includes("--allow-ffi")); // true
 * ```
 *
 * @param configPath the `deno.json` to read (default: the repository's)
 * @returns the `--allow-*`, `--deny-*`, `--unstable-*` and `--v8-flags=` flags of its `start`
 *   task, in order
 * @throws {Error} when it has no `start` task or the task grants no permission
 */
export function startTaskPermissions(configPath: string | URL = DEFAULT_CONFIG): string[] {
  const config = JSON.parse(Deno.readTextFileSync(configPath)) as {
    tasks?: Record<string, string | { command?: string }>;
  };
  const task = config.tasks?.start;
  const command = typeof task === "string" ? task : task?.command;
  const name = configPath instanceof URL ? configPath.pathname : configPath;
  if (command === undefined) throw new Error(`${name} has no "start" task`);
  const flags = command.split(/\s+/).filter((word) =>
    /^--((allow|deny)-[a-z]+(=\S*)?|unstable-[a-z]+|v8-flags=\S+)$/.test(word)
  );
  if (flags.length === 0) throw new Error(`the "start" task of ${name} grants nothing`);
  return flags;
}

/**
 * Where a relative path on the command line points: the directory the user typed the
 * command in. `deno task` runs its command from the project's root but sets `INIT_CWD`
 * to that directory, so a relative path is resolved against `INIT_CWD` when it is set.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import type { Env } from "./values.ts";

/**
 * Resolves a path given by the user against the directory the command was typed in.
 *
 * @example
 * ```ts
 * import { userPath } from "./paths.ts";
 * console.log(userPath("city.mmdb", { INIT_CWD: "/home/ada" })); // "/home/ada/city.mmdb"
 * console.log(userPath("/srv/city.mmdb", { INIT_CWD: "/home/ada" })); // "/srv/city.mmdb"
 * console.log(userPath("city.mmdb", {})); // "city.mmdb"
 * ```
 *
 * @param path the path as given
 * @param env the environment; `INIT_CWD` is the directory the user typed the command in
 * @returns the path: absolute paths unchanged, relative ones joined to `INIT_CWD` when set
 */
export function userPath(path: string, env: Env): string {
  const base = env.INIT_CWD;
  if (base === undefined || base === "" || isAbsolute(path)) return path;
  return resolve(base, path);
}

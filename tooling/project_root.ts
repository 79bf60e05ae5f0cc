/**
 * The repository root, for tools that run commands there or read its files.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository root (holds `main.ts`, `deno.json`, `lib/`), as an absolute path.
 *
 * @example
 * ```ts
 * import { PROJECT_ROOT } from "./project_root.ts";
 * console.log(Deno.statSync(`${PROJECT_ROOT}/main.ts`).isFile); // true
 * ```
 */
export const PROJECT_ROOT: string = resolve(fileURLToPath(new URL("..", import.meta.url)));

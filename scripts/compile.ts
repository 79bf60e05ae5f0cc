#!/usr/bin/env -S deno run --allow-read --allow-env --allow-run
/**
 * `deno task compile`: see `tooling/compile.ts` for what it builds and why.
 *
 * Exit codes: 0 built (or dry run), 1 the build failed, 2 bad arguments.
 *
 * @module
 */

import { compileCommand } from "../tooling/mod.ts";

if (import.meta.main) {
  Deno.exit(await compileCommand(Deno.args));
}

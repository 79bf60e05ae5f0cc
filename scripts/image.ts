#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env --allow-run
/**
 * `deno task image`: see `tooling/image.ts` for what it builds and why.
 *
 * Exit codes: 0 built (or dry run), 1 the build failed, 2 bad arguments.
 *
 * @module
 */

import { imageCommand } from "../tooling/mod.ts";

if (import.meta.main) {
  Deno.exit(await imageCommand(Deno.args));
}

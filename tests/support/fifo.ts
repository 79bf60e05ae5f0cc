/**
 * FIFOs for the tests of a database path that is not a regular file, made with `mkfifo`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { commandWorks, skipForMissingTool } from "./required_tool.ts";

/**
 * Whether a test must be skipped because `mkfifo` is missing; says so loudly when it is.
 *
 * @returns true when the caller should return at once
 */
export async function skipWithoutMkfifo(): Promise<boolean> {
  if (await commandWorks("mkfifo", ["--version"])) return false;
  return skipForMissingTool("mkfifo (coreutils)");
}

/**
 * Makes a FIFO at `path`; the test fails when `mkfifo` does.
 *
 * @param path where the FIFO goes (nothing may be there)
 */
export async function makeFifo(path: string): Promise<void> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success, "mkfifo failed");
}

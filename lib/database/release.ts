/**
 * Frees a replaced database at once, however the process was started. A database lives in
 * a `SharedArrayBuffer`, outside the V8 heap that drives garbage collection, and a lookup
 * worker spends its time in a blocking receive, allocating little: without a full
 * collection in every thread that held it, a replaced copy stayed resident for good (four
 * reloads of a 66 MB GeoLite2-City took a service from 160 to 427 MB).
 *
 * V8 exposes `gc()` only under `--expose-gc`; {@linkcode collectGarbage} gets it at run
 * time instead: the flag is set with `node:v8`'s `setFlagsFromString`, and a new context
 * (`node:vm`), made after that, has `gc` on its global object. Measured: the 66 MB copy's
 * memory returns to the system as soon as the last thread holding it has collected (glibc
 * serves so large a block with its own `mmap`, and unmaps it when it is freed).
 *
 * Weighed and not needed: holding the bytes outside V8 (libc `mmap`/`munmap` through FFI,
 * unmapped once every worker has acknowledged the switch) would free them without any
 * collection, but a view left anywhere would then read unmapped memory and crash the
 * process. `malloc_trim(0)` was not added: a database is a block glibc maps on its own,
 * not part of an arena it could trim, and without it `deno task memory` saw four reloads
 * take VmRSS from 208 MB (after a million lookups) down to 173 MB, no `--expose-gc`.
 *
 * @module
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Runs a full garbage collection of this thread's heap, with or without `--expose-gc`.
 *
 * @example
 * ```ts
 * import { collectGarbage } from "./release.ts";
 * collectGarbage(); // a full collection, even without --v8-flags=--expose-gc
 * ```
 */
export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") {
    exposed();
    return;
  }
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/**
 * Frees what this thread held of a database it no longer serves: call it once the last
 * reference to the replaced database is dropped (after a switch, in every thread).
 */
export function releaseReplacedDatabase(): void {
  collectGarbage();
}

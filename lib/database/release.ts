/**
 * Frees a replaced database at once. A database lives in a SharedArrayBuffer, outside the
 * V8 heap that drives garbage collection, so after a switch the old copy could stay
 * resident for minutes (a soak with a reload every 20 s held up to four extra copies).
 * With `--v8-flags=--expose-gc` (as in `deno task start`), a full collection right after
 * a switch releases it; without the flag this does nothing.
 *
 * @module
 */

/** Runs a full garbage collection when V8 exposes `gc()`. */
export function releaseReplacedDatabase(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === "function") gc();
}

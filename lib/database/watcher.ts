/**
 * Watches a database file for replacement (renamed over, as `geoipupdate` does, or
 * rewritten in place) with Deno's file watcher on its directory, and calls back once the
 * changes have settled.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";

/** Options for {@linkcode watchDatabase}. */
export interface WatchOptions {
  /** Quiet time after the last change before the callback runs (default 1000 ms). */
  debounceMs?: number;
}

/**
 * Calls `onChange` after the file at `path` has been created, written or renamed over,
 * once the changes have stopped for the debounce time.
 *
 * @example
 * ```ts
 * import { watchDatabase } from "./watcher.ts";
 * const directory = await Deno.makeTempDir();
 * const changed = Promise.withResolvers<void>();
 * const watcher = watchDatabase(`${directory}/City.mmdb`, () => changed.resolve(), {
 *   debounceMs: 50,
 * });
 * await Deno.writeTextFile(`${directory}/City.mmdb`, "a new file"); // as geoipupdate would
 * await changed.promise; // the callback ran once the writes settled
 * watcher.close();
 * await Deno.remove(directory, { recursive: true });
 * ```
 *
 * @param path the database file
 * @param onChange what to do
 * @param options the debounce time
 * @returns a handle whose `close()` stops watching
 */
export function watchDatabase(
  path: string,
  onChange: () => void,
  options: WatchOptions = {},
): { close(): void } {
  const file = resolve(path);
  const name = basename(file);
  const watcher = Deno.watchFs(dirname(file), { recursive: false });
  const debounceMs = options.debounceMs ?? 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    try {
      for await (const event of watcher) {
        if (event.kind === "access") continue;
        if (!event.paths.some((changed) => basename(changed) === name)) continue;
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      }
    } catch {
      // Closed.
    }
  })();
  return {
    close() {
      clearTimeout(timer);
      try {
        watcher.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/**
 * The few system calls the service needs that Deno offers no API for under the start
 * task's permissions (`--allow-ffi`, no `--allow-write`): a non-blocking `connect(2)` to a
 * Unix socket (is someone listening at an `ipc://` path?), `unlink(2)` of a socket file,
 * and `getrlimit(2)` for the open-file limit (`/proc/self/limits` needs `--allow-all`;
 * Deno raises the soft limit to the hard one when it starts, nothing needs setting).
 * They come from the C library through
 * the handle libzmq was loaded with, so `Deno.dlopen` is still called in one place.
 * Linux only: elsewhere each call answers as if there were nothing to do.
 *
 * @module
 */

import type { Libzmq } from "./library.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** `sizeof(struct sockaddr_un)` on Linux: a 2-byte family, then 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_MAX = 107;
const EAGAIN = 11;
const RLIMIT_NOFILE = 7;
const EINPROGRESS = 115;

/**
 * Whether a process listens on the Unix socket at `path`: a non-blocking connect that
 * succeeds, or finds the listener's queue full, says yes; refused or missing, no.
 *
 * @example
 * ```ts
 * import { openLibzmq } from "./locator.ts";
 * import { unixListenerAt } from "./system.ts";
 * console.log(unixListenerAt(openLibzmq(undefined), "/nonexistent.sock")); // false
 * ```
 *
 * @param lib the loaded libzmq
 * @param path a socket file's path
 * @returns true when something accepts connections there
 */
export function unixListenerAt(lib: Libzmq, path: string): boolean {
  if (Deno.build.os !== "linux") return false;
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > SUN_PATH_MAX) return false; // libzmq cannot bind it either
  const address = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(bytes, 2);
  const symbols = lib.symbols;
  const fd = symbols.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    if (symbols.connect(fd, address, 2 + bytes.length + 1) === 0) return true;
    const errno = new Deno.UnsafePointerView(symbols.__errno_location()!).getInt32();
    return errno === EAGAIN || errno === EINPROGRESS;
  } finally {
    symbols.close(fd);
  }
}

/**
 * Removes a file (`unlink(2)`), without `--allow-write`.
 *
 * @param lib the loaded libzmq
 * @param path the file
 * @returns whether it was removed
 */
export function unlinkFile(lib: Libzmq, path: string): boolean {
  if (Deno.build.os !== "linux") return false;
  return lib.symbols.unlink(new TextEncoder().encode(path + "\0")) === 0;
}

/**
 * The process's soft limit on open files (`getrlimit(RLIMIT_NOFILE)`).
 *
 * @example
 * ```ts
 * import { openLibzmq } from "./locator.ts";
 * import { openFileLimit } from "./system.ts";
 * const limit = openFileLimit(openLibzmq(undefined));
 * console.log(limit === undefined || limit > 0); // true
 * ```
 *
 * @param lib the loaded libzmq
 * @returns the soft limit, or undefined when it cannot be read (or is unlimited)
 */
export function openFileLimit(lib: Libzmq): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const limits = new BigUint64Array(2);
  if (lib.symbols.getrlimit(RLIMIT_NOFILE, limits) !== 0) return undefined;
  const soft = limits[0]!;
  return soft >= 2n ** 53n ? undefined : Number(soft);
}

/**
 * The few system calls the service needs that Deno offers no API for under the start
 * task's permissions (`--allow-ffi`, no `--allow-write`): a non-blocking `connect(2)` to a
 * Unix socket (is someone listening at an `ipc://` path?), `unlink(2)` of a socket
 * file, a TCP connection's byte counters (`TCP_INFO`) and `shutdown(2)` on a descriptor
 * libzmq owns, glibc's `malloc_trim` to hand freed memory back to the system, and
 * `getrlimit(2)` for the open-file limit (`/proc/self/limits` needs `--allow-all`). (The open-file limit needs nothing: Deno raises its soft limit to the hard one
 * when it starts.) They come from the C library through
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

const IPPROTO_TCP = 6;
const TCP_INFO = 11;
/** `sizeof(struct tcp_info)` as of Linux 6.x is 248 or less; the kernel fills what it has. */
const TCP_INFO_SIZE = 256;
/** Offset of `tcpi_bytes_acked` (u64) in `struct tcp_info`, Linux 4.1+ on 64-bit. */
const TCPI_BYTES_ACKED = 120;
/** Offset of `tcpi_bytes_received` (u64) in `struct tcp_info`, Linux 4.1+ on 64-bit. */
const TCPI_BYTES_RECEIVED = 128;
const SHUT_RDWR = 2;

/**
 * Reads a TCP connection's byte counters from the kernel (`TCP_INFO`).
 *
 * @example
 * ```ts
 * import { openLibzmq } from "./locator.ts";
 * import { TcpCounters } from "./system.ts";
 * const counters = new TcpCounters(openLibzmq(undefined));
 * console.log(counters.read(0)); // null: standard input is not a TCP socket
 * ```
 */
export class TcpCounters {
  readonly #lib: Libzmq;
  readonly #info = new Uint8Array(TCP_INFO_SIZE);
  readonly #view = new DataView(this.#info.buffer);
  readonly #length = new Uint32Array(1);

  /** @param lib the loaded libzmq */
  constructor(lib: Libzmq) {
    this.#lib = lib;
  }

  /**
   * @param fd a socket descriptor
   * @returns the bytes the connection has received (`tcpi_bytes_received`) and the bytes
   *   it sent that the peer has acknowledged (`tcpi_bytes_acked`), or null when it is not
   *   a TCP socket (or not Linux)
   */
  read(fd: number): { received: number; acked: number } | null {
    if (Deno.build.os !== "linux") return null;
    this.#length[0] = TCP_INFO_SIZE;
    const lengthBytes = new Uint8Array(this.#length.buffer);
    if (this.#lib.symbols.getsockopt(fd, IPPROTO_TCP, TCP_INFO, this.#info, lengthBytes) !== 0) {
      return null;
    }
    if (this.#length[0]! < TCPI_BYTES_RECEIVED + 8) return null;
    return {
      received: Number(this.#view.getBigUint64(TCPI_BYTES_RECEIVED, true)),
      acked: Number(this.#view.getBigUint64(TCPI_BYTES_ACKED, true)),
    };
  }
}

/**
 * Shuts a connection down both ways (`shutdown(2)`) without closing its descriptor: the
 * library that owns it (libzmq) sees the connection end and cleans up as usual.
 *
 * @param lib the loaded libzmq
 * @param fd the connection's descriptor
 * @returns whether the call succeeded
 */
export function shutdownConnection(lib: Libzmq, fd: number): boolean {
  if (Deno.build.os !== "linux") return false;
  return lib.symbols.shutdown(fd, SHUT_RDWR) === 0;
}

/**
 * Hands memory that the C heap has freed back to the system (glibc's `malloc_trim(0)`):
 * without it, a large buffer libzmq freed stays in the process's resident set.
 *
 * @param lib the loaded libzmq
 */
export function trimFreedMemory(lib: Libzmq): void {
  if (Deno.build.os !== "linux") return;
  lib.symbols.malloc_trim(0n);
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

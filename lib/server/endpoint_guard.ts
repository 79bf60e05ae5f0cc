/**
 * Keeps a second instance from taking over an `ipc://` endpoint, and removes the socket
 * file the service bound when it stops.
 *
 * libzmq refuses a `tcp://` port in use (EADDRINUSE), but before it binds `ipc://PATH` it
 * unlinks PATH, whatever listens there: a second instance would silently take the path
 * from a running one, whose clients would then reach the newcomer. And since libzmq 4.2.3
 * it no longer unlinks the file when the socket closes (the file may no longer be its
 * own), so a stopped service leaves it behind.
 *
 * Whether a live process listens at PATH is found out by connecting to it, as a client
 * would: a listener accepts (or has its queue full), a stale file refuses. Deno can read
 * neither `/proc/net/unix` nor connect to a Unix socket without `--allow-all` or
 * `--allow-write`, which `deno task start` does not grant; so `socket(2)`, `connect(2)` and
 * `unlink(2)` are called from the C library through FFI, which it grants. That is done
 * on Linux; elsewhere nothing is checked and nothing removed. A socket file that nobody
 * listens on is stale (its service was killed): it is taken over, as libzmq does.
 *
 * @module
 */

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** `sizeof(struct sockaddr_un)` on Linux: a 2-byte family, then 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_MAX = 107;
const EAGAIN = 11;
const EINPROGRESS = 115;

const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/**
 * The file path of an `ipc://` endpoint, or undefined for other transports, the
 * abstract namespace (`ipc://@name`, which libzmq refuses itself when taken) and
 * `ipc://*` (a fresh path libzmq picks).
 *
 * @example
 * ```ts
 * import { ipcPath } from "./endpoint_guard.ts";
 * console.log(ipcPath("ipc:///run/geoipmq.sock")); // "/run/geoipmq.sock"
 * console.log(ipcPath("tcp://127.0.0.1:5555")); // undefined
 * ```
 *
 * @param endpoint a ZeroMQ endpoint
 * @returns the socket file's path, as given
 */
export function ipcPath(endpoint: string): string | undefined {
  if (!endpoint.startsWith("ipc://")) return undefined;
  const path = endpoint.slice("ipc://".length);
  if (path === "" || path === "*" || path.startsWith("@")) return undefined;
  return path;
}

/**
 * Throws when an `ipc://` endpoint's path is a socket that a live process listens on,
 * so a second instance cannot take the path over from the first. Call it before
 * binding; a stale socket file, or a path that does not exist, passes.
 *
 * @example
 * ```ts ignore
 * refuseEndpointsInUse(["ipc:///run/geoipmq.sock"]);
 * // Error: ipc:///run/geoipmq.sock is in use by another process
 * ```
 *
 * @param endpoints the endpoints about to be bound
 * @throws {Error} `ipc://PATH is in use by another process`
 */
export function refuseEndpointsInUse(endpoints: readonly string[]): void {
  withLibc((libc) => {
    for (const endpoint of endpoints) {
      const path = ipcPath(endpoint);
      if (path !== undefined && listenerAt(libc, path)) {
        throw new Error(`${endpoint} is in use by another process`);
      }
    }
  });
}

/**
 * Removes the socket files of `ipc://` endpoints once their sockets are closed, as
 * libzmq no longer does. A path where a process listens again (another instance bound
 * it since) is left alone.
 *
 * @param endpoints the endpoints that were bound, as libzmq reported them
 * @returns the paths removed
 */
export function removeIpcFiles(endpoints: readonly string[]): string[] {
  const removed: string[] = [];
  withLibc((libc) => {
    for (const endpoint of endpoints) {
      const path = ipcPath(endpoint);
      if (path === undefined || listenerAt(libc, path) || !isSocketFile(path)) continue;
      if (libc.symbols.unlink(cString(path)) === 0) removed.push(path);
    }
  });
  return removed;
}

/**
 * Whether a process listens on the Unix socket at `path`: a non-blocking connect that
 * succeeds, or finds the listener's queue full, says yes; refused or missing, no.
 */
function listenerAt(libc: Libc, path: string): boolean {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > SUN_PATH_MAX) return false; // libzmq cannot bind it either
  const address = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(bytes, 2);
  const fd = libc.symbols.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    if (libc.symbols.connect(fd, address, 2 + bytes.length + 1) === 0) return true;
    const errno = new Deno.UnsafePointerView(libc.symbols.__errno_location()!).getInt32();
    return errno === EAGAIN || errno === EINPROGRESS;
  } finally {
    libc.symbols.close(fd);
  }
}

function withLibc(body: (libc: Libc) => void): void {
  if (Deno.build.os !== "linux") return;
  let libc: Libc;
  try {
    libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  } catch {
    return; // not glibc: no check
  }
  try {
    body(libc);
  } finally {
    libc.close();
  }
}

function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text + "\0");
}

function isSocketFile(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

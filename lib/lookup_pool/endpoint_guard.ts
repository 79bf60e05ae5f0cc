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
 * `--allow-write`, which `deno task start` does not grant; so the C library's `connect(2)`
 * and `unlink(2)` are called through FFI (`lib/zmq`'s system calls), which it grants.
 * That is done on Linux; elsewhere nothing is checked and nothing removed. A socket file that nobody
 * listens on is stale (its service was killed): it is taken over, as libzmq does.
 *
 * @module
 */

import { type Libzmq, unixListenerAt, unlinkFile } from "../zmq/mod.ts";

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
 * refuseEndpointsInUse(lib, ["ipc:///run/geoipmq.sock"]);
 * // Error: ipc:///run/geoipmq.sock is in use by another process
 * ```
 *
 * @param lib the loaded libzmq (for the system calls)
 * @param endpoints the endpoints about to be bound
 * @throws {Error} `ipc://PATH is in use by another process`
 */
export function refuseEndpointsInUse(lib: Libzmq, endpoints: readonly string[]): void {
  for (const endpoint of endpoints) {
    const path = ipcPath(endpoint);
    if (path !== undefined && unixListenerAt(lib, path)) {
      throw new Error(`${endpoint} is in use by another process`);
    }
  }
}

/**
 * Removes the socket files of `ipc://` endpoints once their sockets are closed, as
 * libzmq no longer does. A path where a process listens again (another instance bound
 * it since) is left alone.
 *
 * @param lib the loaded libzmq (for the system calls)
 * @param endpoints the endpoints that were bound, as libzmq reported them
 * @returns the paths removed
 */
export function removeIpcFiles(lib: Libzmq, endpoints: readonly string[]): string[] {
  const removed: string[] = [];
  for (const endpoint of endpoints) {
    const path = ipcPath(endpoint);
    if (path === undefined || unixListenerAt(lib, path) || !isSocketFile(path)) continue;
    if (unlinkFile(lib, path)) removed.push(path);
  }
  return removed;
}

function isSocketFile(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

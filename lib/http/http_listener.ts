/**
 * The listening socket of the HTTP server, plain or TLS: opened, opened again on the same
 * port (a new certificate), closed.
 *
 * @module
 */

import type { TlsPem } from "./tls_files.ts";

/** A listener of plain TCP or of TLS connections. */
export type Listener = Deno.Listener<Deno.TcpConn> | Deno.TlsListener;

/** Where and how to listen. */
export interface ListenAt {
  hostname: string;
  /** Listen with `SO_REUSEPORT` (needs `--unstable-net`). */
  reusePort?: boolean;
}

/** How often, and how far apart, a replaced listener's port is asked for again. */
const RELISTEN = { attempts: 50, waitMs: 20 };

/**
 * Closes a listener or connection, which may be closed already.
 *
 * @param closable the thing to close
 */
export function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // Closed already.
  }
}

/**
 * Listens as the options say, on a port, with TLS when given a pair.
 *
 * @param at the address and whether to share the port
 * @param on the port, and the certificate pair for TLS
 * @returns the listener
 */
export function openListener(
  at: ListenAt,
  on: { port: number; tls: TlsPem | undefined },
): Listener {
  const where = {
    hostname: at.hostname,
    port: on.port,
    ...(at.reusePort === true ? { reusePort: true } : {}),
  };
  return on.tls === undefined ? Deno.listen(where) : Deno.listenTls({ ...where, ...on.tls });
}

/**
 * Listens on a port just given up by another listener, asking again for a while when it
 * is not free yet.
 *
 * @param at the address
 * @param on the port, and the certificate pair for TLS
 * @returns the listener
 * @throws {Error} when the port stays taken, or on any other failure
 */
export async function listenAgain(
  at: ListenAt,
  on: { port: number; tls: TlsPem | undefined },
): Promise<Listener> {
  for (let attempt = 1;; attempt++) {
    try {
      return openListener(at, on);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || attempt >= RELISTEN.attempts) {
        throw new Error(`Cannot listen on port ${on.port} again: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, RELISTEN.waitMs));
    }
  }
}

/**
 * A process's resident memory, as the kernel counts it.
 *
 * @module
 */

/**
 * Reads `VmRSS` from `/proc/<pid>/status`.
 *
 * @example
 * ```ts
 * import { residentBytes } from "./resident_memory.ts";
 * console.log(residentBytes(Deno.pid)! > 0); // true
 * ```
 *
 * @param pid the process id
 * @returns its resident memory in bytes, or null once it has exited (or on a system
 *   without `/proc`)
 */
export function residentBytes(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = status.match(/^VmRSS:\s+(\d+) kB/m);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

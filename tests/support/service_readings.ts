/**
 * What tests read of a running service from outside: its resident memory, and the
 * counts of its limits on `/metrics`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { residentBytes } from "../../tooling/mod.ts";

/**
 * @param pid the service's process id
 * @returns the process's resident memory (`VmRSS`) in bytes
 */
export function rssOf(pid: number): number {
  const bytes = residentBytes(pid);
  if (bytes === null) throw new Error(`No VmRSS for process ${pid}: it has exited`);
  return bytes;
}

/**
 * @param port the service's HTTP port
 * @param transport `zmq` or `http`
 * @param limit a limit of `geoipmq_limited_total`, e.g. `outbound_bytes`
 * @returns the value of that `geoipmq_limited_total` series
 */
export async function limitedTotal(
  port: number,
  transport: string,
  limit: string,
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((one) =>
    one.startsWith(`geoipmq_limited_total{transport="${transport}",limit="${limit}"}`)
  );
  assert.ok(line !== undefined, `no geoipmq_limited_total for ${transport}/${limit}`);
  return Number(line.split(" ").at(-1));
}

/**
 * Helpers for tests that drive the real service process through reloads, stops and its
 * HTTP front: databases that differ only in their answers, atomic file replacement,
 * bounded waiting for log lines, a free loopback port.
 *
 * @module
 */

import { buildMmdb } from "../../tooling/mod.ts";
import type { ServiceProcess } from "./service_process.ts";

/** How long a test waits for a condition before it fails (the machine may be busy). */
export const PATIENCE_MS = 15_000;

/** How many extra networks a lettered database has, besides 81.2.69.160/27. */
export const EXTRA_NETWORKS = 10;

/**
 * Addresses with a record in every lettered database: 81.2.69.160, then one address in
 * each of 10.0.0.0/24 ... 10.0.9.0/24.
 */
export const LETTERED_ADDRESSES: readonly string[] = Object.freeze([
  "81.2.69.160",
  ...Array.from({ length: EXTRA_NETWORKS }, (_, i) => `10.0.${i}.1`),
]);

/**
 * A City-like database whose networks are those of every other lettered database, but
 * whose answers name `city`: 81.2.69.160/27 is in city `<city>`, 10.0.i.0/24 in
 * `<city>-i`.
 *
 * @param city e.g. "Alpha"
 * @param buildEpoch the build time, seconds since the epoch
 * @returns the database bytes
 */
export function letteredDatabase(city: string, buildEpoch: number): Uint8Array {
  return buildMmdb({
    ipVersion: 6,
    databaseType: "GeoIP2-City",
    languages: ["en"],
    description: { en: `geoipmq reload fixture ${city}` },
    buildEpoch,
  }, [
    { network: "81.2.69.160/27", record: letteredRecord(city) },
    ...Array.from({ length: EXTRA_NETWORKS }, (_, i) => ({
      network: `10.0.${i}.0/24`,
      record: letteredRecord(`${city}-${i}`),
    })),
  ]);
}

function letteredRecord(name: string) {
  return {
    city: { names: { en: name } },
    country: { iso_code: "GB" },
    location: { latitude: 51.5, longitude: -0.1 },
  };
}

/**
 * The `geoip` answer a lettered database gives for one of {@linkcode LETTERED_ADDRESSES}.
 *
 * @param city the database's city, e.g. "Alpha"
 * @param address one of {@linkcode LETTERED_ADDRESSES}
 * @returns the TSV line
 */
export function letteredTsv(city: string, address: string): string {
  const index = LETTERED_ADDRESSES.indexOf(address);
  if (index < 0) throw new Error(`not a lettered address: ${address}`);
  const name = index === 0 ? city : `${city}-${index - 1}`;
  return `GB\t(null)\t${name}\t(null)\t51.500000\t-0.100000\t(null)\t(null)`;
}

/**
 * Replaces a file the way `geoipupdate` does: writes a temporary file in the same
 * directory, then renames it over the target, so readers see the old or the new file.
 *
 * @param path the file to replace
 * @param data its new content
 */
export async function replaceAtomically(path: string, data: Uint8Array): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(temporary, data);
  await Deno.rename(temporary, path);
}

/**
 * Sleeps (and lets the event loop read the service's output meanwhile).
 *
 * @param ms milliseconds
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls until `probe` returns something other than undefined, up to a time limit.
 *
 * @param what what is awaited, for the failure message
 * @param probe returns the value once the condition holds
 * @param timeoutMs the limit (default {@linkcode PATIENCE_MS})
 * @returns the probe's value
 * @throws {Error} when the time runs out
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs = PATIENCE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(20);
  }
}

/**
 * The service's log lines that match a pattern.
 *
 * @param service the running service
 * @param pattern what to look for
 * @returns the matching lines, oldest first
 */
export function linesMatching(service: ServiceProcess, pattern: RegExp): string[] {
  return service.log.filter((line) => pattern.test(line));
}

/**
 * Waits until the service has logged more than `seen` lines matching `pattern`.
 *
 * @param service the running service
 * @param pattern what to look for
 * @param seen how many such lines there were before
 * @returns the first new matching line
 * @throws {Error} with the log when it does not come within {@linkcode PATIENCE_MS}
 */
export async function waitForNewLine(
  service: ServiceProcess,
  pattern: RegExp,
  seen: number,
): Promise<string> {
  try {
    return await waitFor(`a log line matching ${pattern}`, () => {
      const lines = linesMatching(service, pattern);
      return lines.length > seen ? lines[seen] : undefined;
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}; log:\n${service.log.join("\n")}`);
  }
}

/**
 * Waits for a process to exit, up to a limit.
 *
 * @param exited the process's exit promise
 * @param timeoutMs the limit
 * @returns the status and how long it took, or null when it did not exit in time
 */
export async function exitWithin(
  exited: Promise<Deno.CommandStatus>,
  timeoutMs: number,
): Promise<{ status: Deno.CommandStatus; ms: number } | null> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) =>
    timer = setTimeout(() => resolve(null), timeoutMs)
  );
  try {
    const status = await Promise.race([exited, timeout]);
    return status === null ? null : { status, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
 *
 * @returns the port
 */
export function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * The value of one sample of a Prometheus text exposition.
 *
 * @param text the exposition
 * @param sample the metric name with its labels, exactly as written, e.g.
 *   `geoipmq_requests_total{verb="geoip",outcome="ok"}`
 * @returns the value
 * @throws {Error} when the sample is missing or appears more than once
 */
export function metricValue(text: string, sample: string): number {
  const values = text.split("\n")
    .filter((line) => line.startsWith(sample + " "))
    .map((line) => Number(line.slice(sample.length + 1)));
  if (values.length !== 1) {
    throw new Error(`expected one sample ${sample}, found ${values.length}:\n${text}`);
  }
  return values[0]!;
}

const RELOAD_OUTCOME = /reloaded: serving |reload failed, still serving the old database/;

/**
 * Sends SIGHUP and waits until the reload it asks for has been logged (in either log
 * format). Once the main thread has handled a signal it has also set up its SIGTERM and
 * SIGINT handling, which `main.ts` does only after it logs "ready": a test that stops the
 * service with a signal and expects a clean exit calls this first.
 *
 * @param service the running service
 */
export async function settleAfterReady(service: ServiceProcess): Promise<void> {
  const seen = linesMatching(service, RELOAD_OUTCOME).length;
  Deno.kill(service.pid, "SIGHUP");
  await waitForNewLine(service, RELOAD_OUTCOME, seen);
}

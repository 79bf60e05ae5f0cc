/**
 * Runs `main.ts` as a real child process for tests, through the project's one spawner
 * (`tooling/service_process.ts`): it is ready once it answers, and its "ready" line is
 * in {@linkcode ServiceProcess.log} by then, since tests read it.
 *
 * @module
 */

import {
  runToExit,
  serviceFlags,
  type ServiceOutput,
  type ServiceProbe,
  ServiceProcess,
  spawnService,
} from "../../tooling/mod.ts";

export { runToExit, ServiceProcess, spawnService };

/** The flags the service runs with: those of `deno task start`, read from `deno.json`. */
export const SERVICE_PERMISSIONS: readonly string[] = serviceFlags();

/** Options for {@linkcode startService}. */
export interface StartServiceOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long to wait until it answers (default 60 s: the bundled database is 66 MB). */
  timeoutMs?: number;
  /** Where and how to ask whether it is ready (needed for `--connect` alone, and CURVE). */
  probe?: string | ServiceProbe;
}

/**
 * Starts `main.ts` with arguments and waits until it answers and has logged that it is ready.
 *
 * @param args the service's command-line arguments
 * @param options environment, time limit, where to ask
 * @returns the running process
 * @throws {Error} with the service's output when it exits or times out before ready
 */
export async function startService(
  args: string[],
  options: StartServiceOptions = {},
): Promise<ServiceProcess> {
  const service = await spawnService(args, options);
  try {
    await service.waitForLog(/ready on|"event":"ready"/);
  } catch (error) {
    await service.stop("SIGKILL");
    throw error;
  }
  return service;
}

/**
 * Runs `main.ts` to completion (for flag errors, `--help`, start-up failures).
 *
 * @param args the service's command-line arguments
 * @param env extra environment variables
 * @returns exit code, stdout and stderr
 */
export function runService(
  args: string[],
  env: Record<string, string> = {},
): Promise<ServiceOutput> {
  return runToExit(args, { env });
}

/** Options for {@linkcode startOnDatabase}. */
export interface DatabaseServiceOptions extends StartServiceOptions {
  /** `--workers` (default: the service's own). */
  workers?: number;
  /** More flags, after `--db`, `--bind` and `--workers`. */
  flags?: string[];
}

/**
 * Starts the service on a database file, bound to a free loopback port.
 *
 * @example
 * ```ts ignore
 * await using service = await startOnDatabase(path, { workers: 2, flags: ["--hwm", "10"] });
 * ```
 *
 * @param path the `.mmdb` to serve
 * @param options workers, more flags, environment, time limit
 * @returns the running process
 */
export function startOnDatabase(
  path: string,
  options: DatabaseServiceOptions = {},
): Promise<ServiceProcess> {
  const { workers, flags = [], ...start } = options;
  const workerFlags = workers === undefined ? [] : ["--workers", String(workers)];
  return startService(
    ["--db", path, "--bind", "tcp://127.0.0.1:*", ...workerFlags, ...flags],
    start,
  );
}

/** The service's last line after a clean stop, with what its drain answered. */
export const STOPPED_LINE =
  /^geoipmq: stopped \(\d+ requests? in flight answered, \d+ left unanswered\)$/;

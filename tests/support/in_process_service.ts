/**
 * Starts the service in the test's own process, the way `geoipmq` starts it
 * (`startService`), on a fixture database written to a temporary file, with small limits
 * and a silent log (its lines are kept for assertions).
 *
 * @module
 */

import { Logger } from "../../lib/log/mod.ts";
import { type Service, type ServiceOptions, startService } from "../../lib/service/mod.ts";
import { cityFixture, writeTempFile } from "./fixtures.ts";

/** Options of {@linkcode startInProcess}: any service option, plus test hooks. */
export type InProcessOptions = Partial<ServiceOptions> & {
  /** The database bytes to serve (default: the City fixture); ignored when `db` is set. */
  fixture?: Uint8Array;
  /** A lookup worker module to run instead of the real one. */
  workerModule?: URL;
  /** How long workers have to reach a database switch. */
  switchTimeoutMs?: number;
};

/** A service running in this process; dispose it to stop it and remove its files. */
export interface InProcessService extends AsyncDisposable {
  /** The running service. */
  service: Service;
  /** Its log lines so far. */
  log: string[];
  /** The first endpoint bound. */
  endpoint: string;
}

/**
 * @param options service options over the test defaults (two workers, 4 KiB and 100
 *   addresses per request, a loopback port picked by the system)
 * @returns the running service
 */
export async function startInProcess(options: InProcessOptions = {}): Promise<InProcessService> {
  const temporary = options.db === undefined
    ? await writeTempFile(options.fixture ?? cityFixture())
    : undefined;
  const lines: string[] = [];
  const settings: ServiceOptions = {
    db: options.db ?? [temporary!],
    languages: options.languages ?? ["en"],
    bind: options.bind ?? ["tcp://127.0.0.1:*"],
    connect: options.connect ?? [],
    libzmq: options.libzmq,
    workers: options.workers ?? 2,
    maxRequestBytes: options.maxRequestBytes ?? 4096,
    maxAddresses: options.maxAddresses ?? 100,
    hwm: options.hwm ?? 1000,
    curveSecretKeyFile: options.curveSecretKeyFile,
    curveAllowFile: options.curveAllowFile,
    cacheMb: options.cacheMb ?? 16,
    watch: options.watch ?? false,
    http: options.http,
  };
  const cleanUp = () => temporary === undefined ? undefined : Deno.remove(temporary);
  let service: Service;
  try {
    service = await startService(settings, {
      log: new Logger({ write: (line) => lines.push(line) }),
      ...(options.workerModule === undefined ? {} : { workerModule: options.workerModule }),
      ...(options.switchTimeoutMs === undefined
        ? {}
        : { switchTimeoutMs: options.switchTimeoutMs }),
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return {
    service,
    log: lines,
    endpoint: service.endpoints[0] ?? "",
    async [Symbol.asyncDispose]() {
      await service.stop();
      await cleanUp();
    },
  };
}

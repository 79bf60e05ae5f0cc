/**
 * A reload's two ends on the main thread: re-reading and checking every database file
 * before the switch, and the lines that say how the reload ended after it.
 *
 * @module
 */

import { GeoDatabase, sameKind } from "../database/mod.ts";
import type { Logger } from "../log/mod.ts";
import { describeDatabase } from "./service_log.ts";

/** The databases a reload would serve, and how many of the files were refused. */
export interface ReopenedDatabases {
  /** In `--db` order: each new database, or the old one where its file was refused. */
  next: GeoDatabase[];
  /** How many files were refused (each with its line). */
  refused: number;
}

/**
 * Re-reads every database file. Each new file is checked on its own: one that cannot be
 * used, or is of another kind than the one it would replace (change kinds by
 * restarting), is refused with a log line and the old one stays; the others switch.
 *
 * @param paths the database files, in `--db` order
 * @param options the databases now serving (in the same order), and where to log
 * @returns what to switch to
 */
export async function reopenDatabases(
  paths: readonly string[],
  options: { current: readonly GeoDatabase[]; log: Logger },
): Promise<ReopenedDatabases> {
  const { current, log } = options;
  const next: GeoDatabase[] = [];
  let refused = 0;
  // With several databases, each line names the one it is about: the others may switch.
  const several = paths.length > 1;
  const failedOf = (path: string) => several ? `of "${path}" failed` : "failed";
  const stillServing = several ? "still serving its old version" : "still serving the old database";
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    const old = current[i]!;
    let replacement: GeoDatabase;
    try {
      replacement = await GeoDatabase.open(path);
    } catch (error) {
      refused++;
      next.push(old);
      log.error(
        "reload-failed",
        `reload ${failedOf(path)}, ${stillServing}: ${(error as Error).message}`,
        { database: path },
      );
      continue;
    }
    const was = old.metadata.databaseType;
    const is = replacement.metadata.databaseType;
    if (!sameKind(was, is)) {
      refused++;
      next.push(old);
      log.error(
        "reload-refused",
        `reload refused, ${stillServing}: "${path}" is now a ${is} database ` +
          `where a ${was} one was; restart to change the kind of a database`,
        { database: path, database_type: is, was },
      );
      continue;
    }
    next.push(replacement);
  }
  return { next, refused };
}

/**
 * Says which databases a committed switch replaced, and which kept their old version.
 *
 * @param log where to log
 * @param databases the databases that served before the switch and those serving now,
 *   in `--db` order
 */
export function logReloaded(
  log: Logger,
  databases: { current: readonly GeoDatabase[]; next: readonly GeoDatabase[] },
): void {
  const { current, next } = databases;
  const switched = next.filter((database, i) => database !== current[i]);
  const kept = next.filter((database, i) => database === current[i]);
  const serving = `serving ${switched.map(describeDatabase).join("; ")}`;
  if (kept.length === 0) {
    log.info("reloaded", `reloaded: ${serving}`, {
      database: switched.map((database) => database.source).join(","),
      build_epoch: switched[0]?.metadata.buildEpoch,
    });
    return;
  }
  log.warn(
    "reloaded-partly",
    `reloaded ${switched.length} of ${next.length} databases: ${serving}; still serving ` +
      `the old version of ${kept.map((database) => `"${database.source}"`).join(", ")}`,
    {
      database: switched.map((database) => database.source).join(","),
      kept: kept.map((database) => database.source).join(","),
      build_epoch: switched[0]?.metadata.buildEpoch,
    },
  );
}

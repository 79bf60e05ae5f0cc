/**
 * The log lines about the location database's record schema, at start and after each
 * reload: which vendor schema is read in GeoIP2's names, and a warning when `geoip` finds
 * no field in a sample of the records.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import type { GeoipResponder } from "../lookup/mod.ts";

/**
 * Logs what the responder found of its location database's schema: an `info` line for a
 * vendor schema that is mapped, a `warn` line when `geoip` would answer only `(null)`;
 * nothing for a GeoIP2 database that answers.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { Logger } from "../log/mod.ts";
 * import { GeoipResponder } from "../lookup/mod.ts";
 * import { DEFAULT_LIMITS } from "../protocol/mod.ts";
 * import { logLocationSchema } from "./schema_log.ts";
 * const database = await GeoDatabase.open(bundledDatabasePath());
 * const server = { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() };
 * const responder = new GeoipResponder(database, { limits: DEFAULT_LIMITS, server });
 * const lines: string[] = [];
 * logLocationSchema(new Logger({ write: (line) => lines.push(line) }), responder);
 * console.log(lines.length); // 0
 * ```
 *
 * @param log where to log
 * @param responder the responder of the moment
 */
export function logLocationSchema(log: Logger, responder: GeoipResponder): void {
  const { schema, warning } = responder.locationSchema;
  const database = responder.database.source;
  if (schema !== "geoip2") {
    log.info(
      "record-schema",
      `"${database}" holds ${schema} records: geoip, get and ?fields= read them in ` +
        "GeoIP2's names, json answers them as stored",
      { database, record_schema: schema },
    );
  }
  if (warning !== undefined) {
    log.warn("no-geoip-fields", warning, { database, record_schema: schema });
  }
}

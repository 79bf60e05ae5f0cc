/**
 * The `info` reply: what the database says of itself, the server's facts, the request
 * limits and the caches' counts.
 *
 * @module
 */

import type { CacheStats } from "./answer_cache.ts";
import type { ResponderOptions } from "./responder_options.ts";
import type { ResponderDatabases } from "./responder_databases.ts";

/** The caches `info` reports, by reply format (`merged` only with several databases). */
export interface CacheReport {
  maxBytes: number;
  geoip: CacheStats;
  json: CacheStats;
  merged?: CacheStats;
  get: CacheStats;
}

/**
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { DEFAULT_LIMITS } from "../protocol/mod.ts";
 * import { ResponderDatabases } from "./responder_databases.ts";
 * import { responderInfo } from "./responder_info.ts";
 * const databases = new ResponderDatabases([await GeoDatabase.open(bundledDatabasePath())]);
 * const none = { hits: 0, misses: 0, entries: 0, bytes: 0 };
 * const info = responderInfo(databases, {
 *   options: { limits: DEFAULT_LIMITS, server: { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: 0 } },
 *   cache: { maxBytes: 0, geoip: none, json: none, get: none },
 * });
 * console.log(info.database_type, info.max_addresses); // "GeoLite2-City" 1000
 * ```
 *
 * @param databases what the responder answers from
 * @param parts the responder's options, and its caches' counts
 * @returns the facts `info` replies with
 */
export function responderInfo(
  databases: ResponderDatabases,
  parts: { options: ResponderOptions; cache: CacheReport },
): Record<string, unknown> {
  const { options, cache } = parts;
  const database = databases.location;
  const m = database.metadata;
  const server = options.server;
  const schema = databases.schema;
  const brokers = server.brokers?.();
  return {
    database_type: m.databaseType,
    build_epoch: new Date(m.buildEpoch * 1000).toISOString(),
    ip_version: m.ipVersion,
    node_count: m.nodeCount,
    record_size: m.recordSize,
    binary_format_version: m.binaryFormatVersion,
    languages: m.languages,
    description: m.description,
    database_path: database.source,
    database_bytes: database.bytes.length,
    record_schema: schema.schema,
    ...(schema.warning === undefined ? {} : { warnings: [schema.warning] }),
    version: server.version,
    worker: options.worker ?? 0,
    libzmq_version: server.libzmqVersion,
    started_at: new Date(server.startedAt).toISOString(),
    uptime_seconds: Math.floor((Date.now() - server.startedAt) / 1000),
    max_request_bytes: options.limits.maxRequestBytes,
    max_addresses: options.limits.maxAddresses,
    cache: {
      max_bytes: cache.maxBytes,
      geoip: cache.geoip,
      json: cache.json,
      ...(cache.merged === undefined ? {} : { merged: cache.merged }),
      get: cache.get,
    },
    ...(databases.list.length === 1 ? {} : {
      databases: databases.list.map((database) => ({
        path: database.source,
        database_type: database.metadata.databaseType,
        build_epoch: new Date(database.metadata.buildEpoch * 1000).toISOString(),
        node_count: database.metadata.nodeCount,
      })),
    }),
    reloads: server.reloads?.() ?? { success: 0, failure: 0 },
    ...(brokers === undefined || brokers.endpoints === 0 ? {} : { brokers }),
  };
}

/**
 * The log lines the service writes about what happens to it: CURVE turned on, endpoints
 * others can reach, the lookup pool's events (connections cut or stalled, workers
 * failed or replaced), the broker link, refused CURVE clients.
 *
 * @module
 */

import type { Refusal } from "../curve/mod.ts";
import type { GeoDatabase } from "../database/mod.ts";
import { type Logger } from "../log/mod.ts";
import type { BrokerLinkEvent, WorkerLifeEvent } from "../lookup_pool/mod.ts";
import { formatMib } from "../protocol/mod.ts";
import { isLoopbackEndpoint } from "../zmq/mod.ts";
import type { CurveSetup } from "./startup_loaders.ts";

/**
 * @param log where to log
 * @param curve the key and allow-list the start-up read
 */
export function logCurveOn(log: Logger, curve: CurveSetup): void {
  log.info("curve", `CURVE on: server public key ${curve.key.publicKey}`, {
    public_key: curve.key.publicKey,
  });
  log.info(
    "curve-allow-list",
    `CURVE allow-list: ${clientKeys(curve.allowList.length)} from ${curve.allowFile}`,
    { keys: curve.allowList.length, file: curve.allowFile },
  );
}

/**
 * Warns of every bound endpoint other hosts can reach, when CURVE is off.
 *
 * @param log where to log
 * @param endpoints the endpoints bound
 */
export function logExposedEndpoints(log: Logger, endpoints: readonly string[]): void {
  for (const endpoint of endpoints) {
    if (isLoopbackEndpoint(endpoint)) continue;
    log.warn(
      "exposed",
      `${endpoint} is reachable from other hosts and CURVE is off: ` +
        "anyone who can reach it can use it",
      { endpoint },
    );
  }
}

/**
 * Warns when HTTP listens where other hosts can reach it.
 *
 * @param log where to log
 * @param url the URL HTTP is served at, e.g. `http://[::1]:8080`
 */
export function logExposedHttp(log: Logger, url: string): void {
  if (isLoopbackEndpoint(url.replace(/^https?:/, "tcp:"))) return;
  log.warn(
    "exposed",
    `${url} is reachable from other hosts and HTTP has no access control ` +
      "(CURVE covers ZeroMQ only): anyone who can reach it can use it",
    { http: url },
  );
}

/**
 * @param log where to log
 * @param event what happened in the lookup pool
 */
export function logWorkerEvent(log: Logger, event: WorkerLifeEvent): void {
  if (event.type === "connection-cut") {
    log.warn(
      "connection-cut",
      `cut a ZeroMQ connection holding ${formatMib(event.bytes)} of requests not yet taken ` +
        `(--max-inbound-mb)`,
      { ...event },
    );
  } else if (event.type === "connection-stalled") {
    log.warn(
      "connection-stalled",
      `a ZeroMQ peer left ${formatMib(event.bytes)} of replies unread and read none of them ` +
        "since the last look (--max-outbound-mb): its requests are dropped until it reads",
      { ...event },
    );
  } else if (event.type === "connection-reading") {
    log.info("connection-reading", "a stalled ZeroMQ peer reads again: answering it", {
      ...event,
    });
  } else if (event.type === "replaced") {
    log.warn("worker-replaced", `lookup worker ${event.worker} replaced`, { ...event });
  } else if (event.type === "failed") {
    log.error("worker-failed", `lookup worker ${event.worker} failed: ${event.message}`, {
      ...event,
    });
  }
}

/**
 * @param log where to log
 * @param event a connection to a broker lost or back
 */
export function logBrokerEvent(log: Logger, event: BrokerLinkEvent): void {
  if (event.type === "lost") {
    log.warn(
      "broker-lost",
      `connection to the broker at ${event.address} lost: reconnecting`,
      { ...event },
    );
  } else {
    log.info("broker-back", `connected to the broker at ${event.address} again`, { ...event });
  }
}

/**
 * @param log where to log
 * @param refusal a CURVE client not on the allow-list
 */
export function logRefusal(log: Logger, refusal: Refusal): void {
  const from = refusal.address === "" ? "" : ` from ${refusal.address}`;
  const held = refusal.held === 0
    ? ""
    : ` (${refusal.held} more refusals of this key since its last line)`;
  log.warn(
    "curve-refused",
    `CURVE client refused: key ${refusal.key}${from} is not on the allow-list${held}`,
    { key: refusal.key, address: refusal.address, held: refusal.held },
  );
}

/**
 * @param count how many client keys
 * @returns e.g. `1 client key`, `3 client keys`
 */
export function clientKeys(count: number): string {
  return count === 1 ? "1 client key" : `${count} client keys`;
}

/**
 * @param database an open database
 * @returns e.g. `GeoLite2-City built 2026-09-18 from /var/lib/GeoIP/GeoLite2-City.mmdb`
 */
export function describeDatabase(database: GeoDatabase): string {
  const built = new Date(database.metadata.buildEpoch * 1000).toISOString().slice(0, 10);
  return `${database.metadata.databaseType} built ${built} from ${database.source}`;
}

/**
 * An HTTP worker: a Web Worker that serves the HTTP face beside the main thread's, on the
 * same address (`SO_REUSEPORT`: the kernel spreads new connections among the threads).
 * Lookups are answered here, by its own responder over the database bytes shared with
 * the main thread; `/healthz` and `/metrics` are asked of the main thread, which knows
 * the lookup workers, the brokers and CURVE.
 *
 * It speaks the service's worker channel (`lib/worker`): one {@linkcode HttpWorkerSetup},
 * then {@linkcode HttpWorkerUpdate}s: new databases after a reload, answers to its
 * questions, and the stop.
 *
 * @module
 */

import { GeoDatabase, releaseReplacedDatabase } from "../database/mod.ts";
import {
  CorsPolicy,
  type HttpRoutesLimits as HttpFaceLimits,
  startHttpRoutes as startHttpFace,
  type TlsPem,
  TrustedProxies,
} from "../http/mod.ts";
import { GeoipResponder, RateLimiter, type ServerInfo } from "../lookup/mod.ts";
import { ServiceMetrics } from "../metrics/mod.ts";
import type { RequestLimits } from "../protocol/mod.ts";
import { serveWorker, type WorkerPort } from "../worker/mod.ts";
import type { DatabaseBytes } from "./database_switch.ts";

/** The message that starts an HTTP worker. */
export interface HttpWorkerSetup {
  /** The address the main thread listens on (its port actually bound). */
  hostname: string;
  port: number;
  /** The databases to serve first, in `--db` order. */
  databases: DatabaseBytes[];
  /** Languages for names (`--lang`), most preferred first. */
  languages: readonly string[];
  /** Request bounds. */
  limits: RequestLimits;
  /** What `info` says about the server (without its functions). */
  server: Pick<ServerInfo, "version" | "libzmqVersion" | "startedAt">;
  /** What this worker's caches of rendered answers may hold together, in bytes. */
  cache: { maxBytes: number };
  /** Most addresses in one batch. */
  maxAddresses: number;
  /** This thread's share of the connection cap, and the deadlines. */
  httpLimits: HttpFaceLimits;
  /** Requests per second per peer IP address; 0: no limit. */
  rateLimit: number;
  /** The rate limiter's buckets, shared by every thread (`RateLimiter.table`). */
  rateTable?: SharedArrayBuffer;
  /** The {@linkcode ServiceMetrics} buffer. */
  metrics: SharedArrayBuffer;
  /** The origins browsers may call from (`--http-cors-origin`); none: no CORS. */
  cors?: string[];
  /** The CIDR blocks of trusted proxies (`--http-trusted-proxy`). */
  trustedProxies?: string[];
  /** The TLS certificate chain and key; none: plain HTTP. */
  tls?: TlsPem;
}

/** What the main thread sends a running HTTP worker. */
export type HttpWorkerUpdate =
  | { generation: number; type: "databases"; databases: DatabaseBytes[] }
  | { generation: number; type: "answer"; id: number; health?: Health; metrics?: string }
  | { generation: number; type: "tls"; pem: TlsPem }
  | { generation: number; type: "stop" };

/** What an HTTP worker asks the main thread. */
export interface HttpWorkerQuestion {
  /** Echoed in the answer. */
  id: number;
  /** `health` for `/healthz`, `metrics` for `/metrics`. */
  about: "health" | "metrics";
}

/** Whether the service can answer, as `/healthz` says it. */
export interface Health {
  ok: boolean;
  reason: string;
}

/**
 * Serves HTTP until told to stop, then drains its connections like the main thread's face.
 *
 * @param setup what the main thread sent first
 * @param port the channel to the main thread
 */
export async function serveHttp(
  setup: HttpWorkerSetup,
  port: WorkerPort<HttpWorkerUpdate, HttpWorkerQuestion>,
): Promise<void> {
  const metrics = ServiceMetrics.fromBuffer(setup.metrics, { version: setup.server.version });
  const server: ServerInfo = {
    ...setup.server,
    reloads: () => metrics.reloads(),
    brokers: () => metrics.brokers(),
  };
  const responderFor = (databases: readonly DatabaseBytes[]) =>
    new GeoipResponder(
      databases.map((database) =>
        GeoDatabase.fromBytes(database.bytes, database.source, { checked: true })
      ),
      { limits: setup.limits, server, cache: setup.cache, languages: setup.languages },
    );
  let responder = responderFor(setup.databases);
  // Keep no reference to the first databases beyond their responder.
  setup.databases = [];
  type Answer = { health?: Health; metrics?: string };
  const waiting = new Map<number, (answer: Answer) => void>();
  let asked = 0;
  let stopping = false;
  const ask = (about: "health" | "metrics"): Promise<Answer> => {
    if (stopping) return Promise.resolve({});
    const id = ++asked;
    const answer = new Promise<Answer>((resolve) => waiting.set(id, resolve));
    port.emit({ id, about });
    return answer;
  };
  const limiter = setup.rateLimit > 0
    ? new RateLimiter({
      perSecond: setup.rateLimit,
      ...(setup.rateTable === undefined ? {} : { table: setup.rateTable }),
    })
    : undefined;
  const face = startHttpFace({
    hostname: setup.hostname,
    port: setup.port,
    reusePort: true,
    responder: () => responder,
    maxAddresses: setup.maxAddresses,
    limits: setup.httpLimits,
    metrics,
    ...(setup.cors === undefined ? {} : { cors: CorsPolicy.parse(setup.cors) }),
    ...(setup.trustedProxies === undefined
      ? {}
      : { trustedProxies: TrustedProxies.parse(setup.trustedProxies) }),
    ...(setup.tls === undefined ? {} : { tls: setup.tls }),
    ...(limiter === undefined ? {} : {
      rateLimiter: {
        allow: (peer: string, nowMs: number) => {
          if (limiter.allow(peer, nowMs)) return true;
          metrics.recordLimited("rate", "http");
          return false;
        },
        retryAfterSeconds: (peer: string, nowMs: number) => limiter.retryAfterSeconds(peer, nowMs),
      },
    }),
    health: () =>
      ask("health").then((answer) =>
        answer.health ?? { ok: false, reason: "the service is stopping" }
      ),
    renderMetrics: () => ask("metrics").then((answer) => answer.metrics ?? ""),
  });
  port.ready();
  for (;;) {
    const update = await port.nextUpdate();
    if (update.type === "answer") {
      const { health, metrics: text } = update;
      waiting.get(update.id)?.({
        ...(health === undefined ? {} : { health }),
        ...(text === undefined ? {} : { metrics: text }),
      });
      waiting.delete(update.id);
    } else if (update.type === "tls") {
      // The main thread put the same pair in force already: it is good.
      let done = true;
      try {
        await face.replaceTls(update.pem);
      } catch {
        done = false;
      }
      port.applied(update.generation, done);
      continue;
    } else if (update.type === "databases") {
      responder = responderFor(update.databases);
      update.databases = [];
      releaseReplacedDatabase();
    } else {
      stopping = true;
      for (const resolve of waiting.values()) resolve({});
      waiting.clear();
      await face.shutdown();
      port.applied(update.generation, true);
      return;
    }
    port.applied(update.generation, true);
  }
}

serveWorker(serveHttp);

/**
 * The service's HTTP: the main thread's listener and, with `--http-threads` above 1, the
 * HTTP workers on the same address; their TLS pair, re-read on each reload; their stop.
 *
 * @module
 */

import type { GeoDatabase } from "../database/mod.ts";
import { type HttpRoutes, readTlsFiles, type TlsPem } from "../http/mod.ts";
import { type Health, HttpThreads, type HttpWorkerSetup } from "../http_threads/mod.ts";
import { startHttpThread } from "../http_threads/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { GeoipResponder, RateLimiter, ThreadLookupSetup } from "../lookup/mod.ts";
import type { ServiceMetrics } from "../metrics/mod.ts";
import { withTimeout } from "../worker/mod.ts";
import { FileReloader } from "./file_reloader.ts";
import { logExposedHttp } from "./service_log.ts";

/** How long a stop waits for HTTP requests in flight. */
const HTTP_STOP_TIMEOUT_MS = 3000;

/** Where and how the service serves HTTP. */
export interface ServiceHttpOptions {
  /** Where to listen (port 0 picks one, which the HTTP workers then share). */
  address: { hostname: string; port: number };
  /** Threads serving HTTP: the main thread, and `threads - 1` HTTP workers. */
  threads: number;
  /** What each thread is held to, and CORS and the trusted proxies. */
  listen: Pick<HttpWorkerSetup, "maxAddresses" | "httpLimits" | "cors" | "trustedProxies">;
  /** The PEM files to serve HTTPS with; none: plain HTTP. */
  tlsFiles?: { certFile: string; keyFile: string };
  /** What every HTTP worker builds its lookups from. */
  lookups: ThreadLookupSetup;
  /** Where to log. */
  log: Logger;
}

/** What the main thread's HTTP answers with. */
export interface ServiceHttpHooks {
  /** The main thread's responder of the moment. */
  responder: () => GeoipResponder;
  /** The databases now serving, for the HTTP workers' first responders. */
  databases: readonly GeoDatabase[];
  /** The service's counters. */
  metrics: ServiceMetrics;
  /** The main thread's rate limiter, or null without a rate limit. */
  rateLimiter: RateLimiter | null;
  /** `/healthz`, for every thread. */
  health: () => Health;
  /** `/metrics`, for every thread. */
  renderMetrics: () => string;
}

/** The service's running HTTP; see {@linkcode ServiceHttp.start}. */
export class ServiceHttp {
  /** Re-reads the TLS pair, or undefined for plain HTTP. */
  readonly tlsReloader: FileReloader | undefined;
  readonly #listener: HttpRoutes;
  readonly #log: Logger;
  #threads: HttpThreads | undefined;

  private constructor(listener: HttpRoutes, options: ServiceHttpOptions) {
    this.#listener = listener;
    this.#log = options.log;
    const { tlsFiles } = options;
    this.tlsReloader = tlsFiles === undefined
      ? undefined
      : new FileReloader(() => this.#reloadTls(tlsFiles));
  }

  /**
   * Starts serving HTTP on the main thread, and with `threads` above 1 in HTTP workers too,
   * each with its share of the connection cap; warns when other hosts can reach it.
   *
   * @param options where and how
   * @param hooks what it answers with
   * @returns the running HTTP
   * @throws what reading the TLS files, listening or starting a worker threw; nothing is
   *   left running
   */
  static async start(options: ServiceHttpOptions, hooks: ServiceHttpHooks): Promise<ServiceHttp> {
    const tls = options.tlsFiles === undefined ? undefined : await readTlsFiles(options.tlsFiles);
    const threads = Math.max(1, options.threads);
    const listener = startHttpThread({
      ...options.address,
      ...options.listen,
      ...(tls === undefined ? {} : { tls }),
      reusePort: threads > 1,
    }, hooks);
    const http = new ServiceHttp(listener, options);
    if (threads > 1) {
      try {
        http.#threads = await HttpThreads.start(threads - 1, {
          ...options.lookups,
          ...options.listen,
          // Port 0 asked for any port: the workers listen on the one the main thread got.
          ...listener.addr,
          databases: hooks.databases,
          ...(tls === undefined ? {} : { tls }),
          metrics: hooks.metrics.buffer,
        }, { health: hooks.health, metrics: hooks.renderMetrics });
      } catch (error) {
        await http.stop();
        throw error;
      }
    }
    logExposedHttp(options.log, http.url);
    return http;
  }

  /** Where HTTP is served (the port actually bound). */
  get addr(): { hostname: string; port: number } {
    return this.#listener.addr;
  }

  /** The URL HTTP is served at (`https://` with TLS). */
  get url(): string {
    return formatHttp(this.#listener.addr, { tls: this.tlsReloader !== undefined });
  }

  /** Why not every HTTP worker runs, or undefined when they all do. */
  threadsHealth(): Health | undefined {
    const threads = this.#threads;
    if (threads === undefined || threads.alive === threads.count) return undefined;
    return { ok: false, reason: `${threads.count - threads.alive} HTTP workers are not running` };
  }

  /**
   * Puts new databases in force in every HTTP worker (the main thread asks the service
   * for its responder on each request).
   *
   * @param databases the databases now serving, in `--db` order
   */
  async switchDatabases(databases: readonly GeoDatabase[]): Promise<void> {
    await this.#threads?.switchDatabases(databases);
  }

  /** Stops serving HTTP on every thread; a request held open gets a few seconds. */
  async stop(): Promise<void> {
    await Promise.all([
      withTimeout(this.#listener.shutdown(), HTTP_STOP_TIMEOUT_MS),
      this.#threads?.stop(HTTP_STOP_TIMEOUT_MS),
    ]);
  }

  /**
   * Re-reads the TLS certificate and key and puts them in force on every HTTP thread for
   * new connections; on failure the old pair stays.
   */
  async #reloadTls(files: { certFile: string; keyFile: string }): Promise<void> {
    let pem: TlsPem;
    try {
      pem = await readTlsFiles(files);
      await this.#listener.replaceTls(pem);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#log.error(
        "tls-refused",
        `TLS certificate not reloaded, the old one stays: ${reason}`,
        { cert: files.certFile, key: files.keyFile },
      );
      return;
    }
    await this.#threads?.replaceTls(pem);
    this.#log.info("tls-reloaded", `TLS certificate reloaded from ${files.certFile}`, {
      cert: files.certFile,
      key: files.keyFile,
    });
  }
}

/**
 * @example
 * ```ts
 * import { formatHttp } from "./service_http.ts";
 * console.log(formatHttp({ hostname: "::1", port: 8080 })); // http://[::1]:8080
 * console.log(formatHttp({ hostname: "127.0.0.1", port: 8443 }, { tls: true }));
 * // https://127.0.0.1:8443
 * ```
 *
 * @param addr a listening address
 * @param options whether it serves TLS
 * @returns its URL, e.g. `http://127.0.0.1:8080`, `http://[::1]:8080` or, with TLS,
 *   `https://127.0.0.1:8443`
 */
export function formatHttp(
  addr: { hostname: string; port: number },
  options: { tls?: boolean } = {},
): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${options.tls === true ? "https" : "http"}://${host}:${addr.port}`;
}

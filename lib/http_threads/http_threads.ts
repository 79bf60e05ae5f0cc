/**
 * The HTTP workers beside the main thread's HTTP (`--http-threads`): started on the
 * address the main thread bound, told of each database switch, answered when they ask
 * for `/healthz` or `/metrics`, and stopped (each drains its connections) with the
 * service.
 *
 * @module
 */

import type { GeoDatabase } from "../database/mod.ts";
import type { TlsPem } from "../http/mod.ts";
import { withTimeout, WorkerHandle } from "../worker/mod.ts";
import { sharedDatabases } from "../lookup/mod.ts";
import type {
  Health,
  HttpWorkerQuestion,
  HttpWorkerSetup,
  HttpWorkerUpdate,
} from "./http_worker.ts";

/** What the main thread answers the HTTP workers' questions with. */
export interface HttpThreadAnswers {
  /** `/healthz`. */
  health: () => Health;
  /** `/metrics`. */
  metrics: () => string;
}

type Handle = WorkerHandle<HttpWorkerSetup, HttpWorkerUpdate, HttpWorkerQuestion>;

/**
 * The running HTTP workers.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { ServiceMetrics } from "../metrics/mod.ts";
 * import { HttpThreads } from "./http_threads.ts";
 * const metrics = ServiceMetrics.create({ version: "1.0.0" });
 * const threads = await HttpThreads.start(1, {
 *   hostname: "127.0.0.1",
 *   port: 0, // a worker alone: any port
 *   databases: [await GeoDatabase.open(bundledDatabasePath())],
 *   languages: ["en"],
 *   limits: { maxRequestBytes: 65536, maxAddresses: 100 },
 *   server: { version: "1.0.0", libzmqVersion: "4.3.5", startedAt: Date.now() },
 *   cache: { maxBytes: 0 },
 *   ratePerSecond: 0,
 *   maxAddresses: 100,
 *   httpLimits: {},
 *   metrics: metrics.buffer,
 * }, { health: () => ({ ok: true, reason: "" }), metrics: () => "" });
 * console.log(threads.count, threads.alive); // 1 1
 * await threads.stop(3000);
 * ```
 */
export class HttpThreads {
  readonly #handles: Handle[] = [];
  readonly #generations = new Map<Handle, number>();

  private constructor() {}

  /**
   * Starts the workers and resolves once each listens.
   *
   * @param count how many HTTP workers (besides the main thread)
   * @param setup what each one gets (the main thread's actual port included)
   * @param answers what `/healthz` and `/metrics` say
   * @returns the running workers
   * @throws {Error} when one cannot start (the others are ended)
   */
  static async start(
    count: number,
    setup: Omit<HttpWorkerSetup, "databases"> & { databases: readonly GeoDatabase[] },
    answers: HttpThreadAnswers,
  ): Promise<HttpThreads> {
    const threads = new HttpThreads();
    const module = new URL("./http_worker.ts", import.meta.url);
    const first = sharedDatabases(setup.databases);
    for (let i = 1; i <= count; i++) {
      const handle: Handle = WorkerHandle.spawn(
        module,
        { ...setup, databases: first },
        {
          name: `HTTP worker ${i}`,
          onEvent: (question) => threads.#answer(handle, question, answers),
        },
      );
      threads.#handles.push(handle);
    }
    try {
      await Promise.all(threads.#handles.map((handle) => handle.ready));
    } catch (error) {
      for (const handle of threads.#handles) handle.terminate();
      throw error;
    }
    return threads;
  }

  /** How many HTTP workers were started. */
  get count(): number {
    return this.#handles.length;
  }

  /** How many HTTP workers run. */
  get alive(): number {
    return this.#handles.filter((handle) => handle.alive).length;
  }

  /**
   * Puts new databases in force in every HTTP worker.
   *
   * @param databases the databases now serving, in `--db` order
   * @returns a promise that settles once each has switched (or ended)
   */
  async switchDatabases(databases: readonly GeoDatabase[]): Promise<void> {
    await Promise.all(this.#handles.map((handle) =>
      handle.update({
        generation: this.#next(handle),
        type: "databases",
        databases: sharedDatabases(databases),
      })
    ));
  }

  /**
   * Puts a new TLS certificate and key in force in every HTTP worker, for new connections.
   *
   * @param pem the certificate chain and key (already checked by the main thread)
   * @returns a promise that settles once each has switched (or ended)
   */
  async replaceTls(pem: TlsPem): Promise<void> {
    await Promise.all(
      this.#handles.map((handle) =>
        handle.update({ generation: this.#next(handle), type: "tls", pem })
      ),
    );
  }

  /**
   * Stops every worker: each stops accepting, lets requests in flight finish, and ends.
   *
   * @param timeoutMs how long to wait before ending them at once
   */
  async stop(timeoutMs: number): Promise<void> {
    await withTimeout(
      Promise.all(this.#handles.map(async (handle) => {
        await handle.update({ generation: this.#next(handle), type: "stop" });
        await handle.stopped;
      })),
      timeoutMs,
    );
    for (const handle of this.#handles) handle.terminate();
  }

  #next(handle: Handle): number {
    const generation = (this.#generations.get(handle) ?? 0) + 1;
    this.#generations.set(handle, generation);
    return generation;
  }

  #answer(handle: Handle, question: HttpWorkerQuestion, answers: HttpThreadAnswers): void {
    const generation = this.#next(handle);
    if (question.about === "health") {
      handle.update({ generation, type: "answer", id: question.id, health: answers.health() });
    } else {
      handle.update({ generation, type: "answer", id: question.id, metrics: answers.metrics() });
    }
  }
}

/**
 * An HTTP worker: a Web Worker that serves HTTP beside the main thread, on the
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

import { releaseReplacedDatabase } from "../database/mod.ts";
import type { TlsPem } from "../http/mod.ts";
import { type DatabaseBytes, threadLookups, type ThreadLookupSetup } from "../lookup/mod.ts";
import { serveWorker, type WorkerPort } from "../worker/mod.ts";
import { type HttpListenSetup, startHttpThread } from "./start_http_thread.ts";

/** The message that starts an HTTP worker. */
export interface HttpWorkerSetup extends ThreadLookupSetup, HttpListenSetup {
  /** The databases to serve first, in `--db` order. */
  databases: DatabaseBytes[];
  /** The `ServiceMetrics` buffer. */
  metrics: SharedArrayBuffer;
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
 * Serves HTTP until told to stop, then drains its connections like the main thread's.
 *
 * @param setup what the main thread sent first
 * @param port the channel to the main thread
 */
export async function serveHttp(
  setup: HttpWorkerSetup,
  port: WorkerPort<HttpWorkerUpdate, HttpWorkerQuestion>,
): Promise<void> {
  const lookups = threadLookups(setup, { metrics: setup.metrics });
  let responder = lookups.responderFor(setup.databases);
  // Keep no reference to the first databases beyond their responder.
  setup.databases = [];
  const questions = new MainThreadQuestions(port);
  const listener = startHttpThread({ ...setup, reusePort: true }, {
    responder: () => responder,
    metrics: lookups.metrics,
    rateLimiter: lookups.rateLimiter,
    health: () =>
      questions.ask("health").then((answer) =>
        answer.health ?? { ok: false, reason: "the service is stopping" }
      ),
    renderMetrics: () => questions.ask("metrics").then((answer) => answer.metrics ?? ""),
  });
  port.ready();
  for (;;) {
    const update = await port.nextUpdate();
    if (update.type === "answer") {
      questions.answer(update);
    } else if (update.type === "tls") {
      port.applied(update.generation, await replaceTls(listener, update.pem));
      continue;
    } else if (update.type === "databases") {
      responder = lookups.responderFor(update.databases);
      update.databases = [];
      releaseReplacedDatabase();
    } else {
      questions.close();
      await listener.shutdown();
      port.applied(update.generation, true);
      return;
    }
    port.applied(update.generation, true);
  }
}

/** An answer from the main thread. */
type Answer = { health?: Health; metrics?: string };

/** The questions an HTTP worker has asked the main thread and not yet had answered. */
class MainThreadQuestions {
  readonly #port: WorkerPort<HttpWorkerUpdate, HttpWorkerQuestion>;
  readonly #waiting = new Map<number, (answer: Answer) => void>();
  #asked = 0;
  #closed = false;

  constructor(port: WorkerPort<HttpWorkerUpdate, HttpWorkerQuestion>) {
    this.#port = port;
  }

  /** Asks the main thread; once closed, the answer is empty at once. */
  ask(about: "health" | "metrics"): Promise<Answer> {
    if (this.#closed) return Promise.resolve({});
    const id = ++this.#asked;
    const answer = new Promise<Answer>((resolve) => this.#waiting.set(id, resolve));
    this.#port.emit({ id, about });
    return answer;
  }

  /** Hands an answer to whoever asked. */
  answer(update: { id: number; health?: Health; metrics?: string }): void {
    const { health, metrics } = update;
    this.#waiting.get(update.id)?.({
      ...(health === undefined ? {} : { health }),
      ...(metrics === undefined ? {} : { metrics }),
    });
    this.#waiting.delete(update.id);
  }

  /** Answers every question still open with nothing, and every later one at once. */
  close(): void {
    this.#closed = true;
    for (const resolve of this.#waiting.values()) resolve({});
    this.#waiting.clear();
  }
}

/**
 * @param listener this thread's HTTP listener
 * @param pem the pair the main thread put in force already (so it is good)
 * @returns whether this thread took it
 */
async function replaceTls(
  listener: { replaceTls(pem: TlsPem): Promise<void> },
  pem: TlsPem,
): Promise<boolean> {
  try {
    await listener.replaceTls(pem);
    return true;
  } catch {
    return false;
  }
}

serveWorker(serveHttp);

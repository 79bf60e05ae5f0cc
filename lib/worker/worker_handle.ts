/**
 * The main thread's side of a worker: spawn it with its setup, know when it is ready,
 * send it updates and learn whether each was taken, watch for its end or failure, and
 * terminate it. Written once for every kind of worker.
 *
 * @module
 */

import type { FromWorker, ToWorker, Update } from "./messages.ts";

/** Options for {@linkcode WorkerHandle.spawn}. */
export interface SpawnOptions<Event> {
  /** The worker's name, for debuggers and error messages. */
  name: string;
  /** Called on the main thread for each event the worker emits. */
  onEvent?: (event: Event) => void;
}

/** How a worker took an update. */
export type UpdateOutcome = "taken" | "kept" | "stopped";

/**
 * One running worker as the main thread sees it.
 *
 * @example
 * ```ts
 * import { WorkerHandle } from "./worker_handle.ts";
 * const source = `
 *   import { serveWorker } from "${new URL("./worker_port.ts", import.meta.url)}";
 *   serveWorker(async (setup, port) => {
 *     port.ready();
 *     const update = await port.nextUpdate();
 *     port.emit(setup.greeting + " " + update.generation);
 *     port.applied(update.generation, true);
 *   });`;
 * const module = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
 * const events: string[] = [];
 * const handle = WorkerHandle.spawn<{ greeting: string }, { generation: number }, string>(
 *   new URL(module), { greeting: "hello" }, { name: "example", onEvent: (e) => events.push(e) },
 * );
 * await handle.ready;
 * console.log(await handle.update({ generation: 1 })); // "taken"
 * await handle.stopped;
 * console.log(events); // ["hello 1"]
 * handle.terminate();
 * ```
 */
export class WorkerHandle<Setup, U extends Update, Event> {
  /** Settles once the worker says it is ready; rejects if it fails first. */
  readonly ready: Promise<void>;
  /** Settles when the worker has ended, cleanly or not. */
  readonly stopped: Promise<void>;
  /** Settles with the reason if the worker fails. */
  readonly failed: Promise<string>;
  readonly #worker: Worker;
  readonly #name: string;
  readonly #waiting = new Map<number, (outcome: UpdateOutcome) => void>();
  readonly #end: (failure?: string) => void;
  #alive = true;

  private constructor(worker: Worker, name: string, onEvent: (event: Event) => void) {
    this.#worker = worker;
    this.#name = name;
    const ready = Promise.withResolvers<void>();
    const stopped = Promise.withResolvers<void>();
    const failed = Promise.withResolvers<string>();
    this.ready = ready.promise;
    this.stopped = stopped.promise;
    this.failed = failed.promise;
    // Nobody need wait for `ready` to learn of a failure: that is what `failed` is for.
    this.ready.catch(() => {});
    const end = this.#end = (failure?: string) => {
      if (!this.#alive) return;
      this.#alive = false;
      if (failure !== undefined) {
        ready.reject(new Error(failure));
        failed.resolve(failure);
      } else {
        ready.reject(new Error(`${name} stopped before it was ready`));
      }
      stopped.resolve();
      for (const settle of this.#waiting.values()) settle("stopped");
      this.#waiting.clear();
    };
    worker.onmessage = (message: MessageEvent<FromWorker<Event>>) => {
      const data = message.data;
      switch (data.type) {
        case "ready":
          ready.resolve();
          break;
        case "applied":
          this.#waiting.get(data.generation)?.(data.taken ? "taken" : "kept");
          this.#waiting.delete(data.generation);
          break;
        case "event":
          onEvent(data.event);
          break;
        case "stopped":
          end();
          break;
        case "failed":
          end(`${name} failed: ${data.message}`);
          break;
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      end(`${name} failed: ${event.message}`);
    };
  }

  /**
   * Starts a worker and sends it its setup.
   *
   * @param module the worker's module, which calls `serveWorker`
   * @param setup the first message it gets
   * @param options its name and where its events go
   * @returns the handle; await {@linkcode WorkerHandle.ready}
   */
  static spawn<Setup, U extends Update, Event>(
    module: URL,
    setup: Setup,
    options: SpawnOptions<Event>,
  ): WorkerHandle<Setup, U, Event> {
    const worker = new Worker(module, { type: "module", name: options.name });
    const handle = new WorkerHandle<Setup, U, Event>(
      worker,
      options.name,
      options.onEvent ?? (() => {}),
    );
    handle.#post({ type: "setup", setup });
    return handle;
  }

  /** Whether the worker is still running. */
  get alive(): boolean {
    return this.#alive;
  }

  /** The worker's name. */
  get name(): string {
    return this.#name;
  }

  /**
   * Sends an update.
   *
   * @param update the change, with its generation
   * @returns a promise of how the worker took it: `taken`, `kept` (it kept what it had),
   *   or `stopped` (it ended first)
   */
  update(update: U): Promise<UpdateOutcome> {
    if (!this.#alive) return Promise.resolve("stopped");
    const outcome = new Promise<UpdateOutcome>((resolve) =>
      this.#waiting.set(update.generation, resolve)
    );
    this.#post({ type: "update", update });
    return outcome;
  }

  /** Ends the worker at once. */
  terminate(): void {
    this.#worker.terminate();
    this.#end();
  }

  #post(message: ToWorker<Setup, U>): void {
    this.#worker.postMessage(message);
  }
}

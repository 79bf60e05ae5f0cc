/**
 * The worker's side of the channel: take the setup, say when ready, wait for updates,
 * acknowledge each, emit events; and report the end of the work, or its failure, to the
 * main thread. Written once for every kind of worker.
 *
 * @module
 */

import type { FromWorker, ToWorker, Update } from "./messages.ts";

/** What a worker's body uses to talk to the main thread. */
export interface WorkerPort<U extends Update, Event> {
  /** Says the worker is serving. */
  ready(): void;
  /**
   * Acknowledges an update.
   *
   * @param generation the update's generation
   * @param taken whether it was put in force (false: the worker kept what it had)
   */
  applied(generation: number, taken: boolean): void;
  /** @param event something for the main thread's `onEvent` */
  emit(event: Event): void;
  /** @returns the next update the main thread sent, waiting for it if none is queued */
  nextUpdate(): Promise<U>;
}

/**
 * Runs a worker's body with its setup once the main thread sends it, when this module
 * runs inside a Web Worker (elsewhere it does nothing, so the module can be imported by
 * tests). When the body returns, the main thread is told the worker stopped; when it
 * throws, that it failed, with the error's message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkerHandle } from "./mod.ts";
 * // A worker's module, here a Blob; usually a file such as my_worker.ts.
 * const source = `
 *   import { serveWorker } from "${import.meta.resolve("./mod.ts")}";
 *   serveWorker(async (setup, port) => {
 *     port.ready();
 *     const update = await port.nextUpdate();
 *     port.applied(update.generation, true);
 *     throw new Error(setup.reason);
 *   });`;
 * const module = new URL(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
 * const handle = WorkerHandle.spawn<{ reason: string }, { generation: number }, never>(
 *   module, { reason: "disk full" }, { name: "example" },
 * );
 * await handle.ready;
 * assert.equal(await handle.update({ generation: 1 }), "taken");
 * assert.equal(await handle.failed, "example failed: disk full"); // the name, then the message
 * handle.terminate();
 * ```
 *
 * @param body the worker's work
 */
export function serveWorker<Setup, U extends Update, Event>(
  body: (setup: Setup, port: WorkerPort<U, Event>) => Promise<void>,
): void {
  // deno-lint-ignore no-explicit-any
  const scope = globalThis as any;
  if (typeof scope.WorkerGlobalScope === "undefined") return;
  const post = (message: FromWorker<Event>) => scope.postMessage(message);
  const queued: U[] = [];
  let waiting: ((update: U) => void) | undefined;
  const port: WorkerPort<U, Event> = {
    ready: () => post({ type: "ready" }),
    applied: (generation, taken) => post({ type: "applied", generation, taken }),
    emit: (event) => post({ type: "event", event }),
    nextUpdate: () =>
      new Promise<U>((resolve) => {
        const next = queued.shift();
        if (next !== undefined) resolve(next);
        else waiting = resolve;
      }),
  };
  scope.onmessage = (event: MessageEvent<ToWorker<Setup, U>>) => {
    const message = event.data;
    if (message.type === "update") {
      if (waiting === undefined) {
        queued.push(message.update);
      } else {
        const resolve = waiting;
        waiting = undefined;
        resolve(message.update);
      }
      return;
    }
    body(message.setup, port).then(
      () => post({ type: "stopped" }),
      (error) =>
        post({ type: "failed", message: error instanceof Error ? error.message : String(error) }),
    );
  };
}

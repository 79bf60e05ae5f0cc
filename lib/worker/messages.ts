/**
 * The messages between the main thread and a worker thread, for every kind of worker
 * (lookup workers, the ZAP handler): one setup message, then updates that each carry a
 * generation; the worker answers with its lifecycle (ready, applied, stopped, failed)
 * and its own events.
 *
 * @module
 */

/** A change the main thread sends a running worker; acknowledged by its generation. */
export interface Update {
  /** Counts up from 1 with each update; the worker acknowledges this number. */
  generation: number;
}

/** What the main thread posts to a worker. */
export type ToWorker<Setup, U extends Update> =
  | { type: "setup"; setup: Setup }
  | { type: "update"; update: U };

/** What a worker posts to the main thread. */
export type FromWorker<Event> =
  | { type: "ready" }
  | { type: "applied"; generation: number; taken: boolean }
  | { type: "event"; event: Event }
  | { type: "stopped" }
  | { type: "failed"; message: string };

/**
 * How often a worker blocked in a foreign call (a receive with a timeout) comes back to
 * look at what the main thread has asked of it, in milliseconds.
 */
export const CONTROL_POLL_MS = 200;

/**
 * The database switch, in one place: one generation, one timeout, one verdict.
 *
 * 1. The main thread posts every live worker the new databases (already opened and
 *    checked), then announces the switch's generation through the {@linkcode LoopControl}.
 * 2. Each worker's loop leaves at its next look at the control, takes the message,
 *    prepares a responder for the new databases, and arrives at the barrier.
 * 3. When every worker has arrived, the main thread commits: all switch together, so once
 *    any reply comes from the new databases, no later one comes from the old. When one
 *    has not arrived within {@linkcode SWITCH_TIMEOUT_MS} (or died meanwhile), it aborts:
 *    every worker keeps the old databases, and the switch is a failure.
 * 4. Each worker acknowledges the generation, saying whether it switched.
 *
 * @module
 */

import type { GeoDatabase } from "../database/mod.ts";
import type { Update, WorkerHandle, WorkerPort } from "../worker/mod.ts";
import type { LoopControl } from "./loop_control.ts";

/** How long every worker has to reach the barrier of a switch. */
export const SWITCH_TIMEOUT_MS = 10_000;

/** One database of an update: its bytes, already checked, and where they came from. */
export interface DatabaseBytes {
  /** The database file's bytes, in a `SharedArrayBuffer`. */
  bytes: Uint8Array<SharedArrayBuffer>;
  /** Where it came from. */
  source: string;
}

/** The databases to serve from a switch's generation on, in `--db` order. */
export interface DatabaseUpdate extends Update {
  /** Each database, already opened and checked on the main thread. */
  databases: DatabaseBytes[];
}

/** How a switch ended. */
export interface SwitchOutcome {
  /** The switch's generation. */
  generation: number;
  /** Whether every worker now serves the new databases (else every one kept the old). */
  committed: boolean;
  /** Why it was not committed; empty when it was. */
  reason: string;
}

/** A worker taking part in switches. */
// deno-lint-ignore no-explicit-any
export type SwitchParticipant = WorkerHandle<any, DatabaseUpdate, any>;

/**
 * @param databases open databases whose bytes are in `SharedArrayBuffer`s, in `--db` order
 * @param generation the switch it belongs to (0: the first databases of a worker)
 * @returns the message that carries them to a worker
 */
export function databaseUpdate(
  databases: readonly GeoDatabase[],
  generation: number,
): DatabaseUpdate {
  return {
    generation,
    databases: databases.map((database) => ({
      bytes: database.bytes as Uint8Array<SharedArrayBuffer>,
      source: database.source,
    })),
  };
}

/**
 * Main thread: runs one switch over the live workers.
 *
 * @param control the loops' shared control
 * @param options the workers, the databases, and the timeout (default
 *   {@linkcode SWITCH_TIMEOUT_MS})
 * @returns how it ended, once every worker has answered or the timeout has passed
 */
export async function runSwitch(
  control: LoopControl,
  options: {
    workers: readonly SwitchParticipant[];
    databases: readonly GeoDatabase[];
    timeoutMs?: number;
  },
): Promise<SwitchOutcome> {
  const { workers } = options;
  const generation = control.generation + 1;
  const update = databaseUpdate(options.databases, generation);
  const acknowledged = workers.map((worker) => worker.update(update));
  if (control.announceSwitch() !== generation) {
    throw new Error("two database switches ran at once");
  }
  const deadline = Date.now() + (options.timeoutMs ?? SWITCH_TIMEOUT_MS);
  while (
    control.arrivals < workers.length && workers.every((worker) => worker.alive) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const arrived = control.arrivals;
  const dead = workers.filter((worker) => !worker.alive);
  const committed = arrived >= workers.length && dead.length === 0;
  control.decide(generation, committed);
  if (!committed) {
    const reason = dead.length > 0
      ? `${dead.map((worker) => worker.name).join(", ")} ended during the switch`
      : `${workers.length - arrived} of ${workers.length} workers did not reach the switch ` +
        `within ${options.timeoutMs ?? SWITCH_TIMEOUT_MS} ms`;
    return { generation, committed, reason };
  }
  // Every worker arrived and switches now; each acknowledges at once (one that dies
  // after arriving is replaced by a worker on the new databases).
  await Promise.all(acknowledged);
  return { generation, committed: true, reason: "" };
}

/**
 * Worker: takes part in the switch its loop has just seen announced: skips updates of
 * switches it missed, prepares what it would serve, waits for the verdict and
 * acknowledges it.
 *
 * @param control the loops' shared control
 * @param port the worker's channel
 * @param prepare makes ready to serve a database (e.g. opens it and builds a responder)
 * @returns the generation now acknowledged, and what was prepared when the switch was
 *   committed (undefined when the worker keeps what it serves)
 */
export async function takeSwitch<T>(
  control: LoopControl,
  port: WorkerPort<DatabaseUpdate, unknown>,
  prepare: (update: DatabaseUpdate) => T,
): Promise<{ generation: number; prepared: T | undefined }> {
  let update = await port.nextUpdate();
  while (update.generation < control.generation) {
    port.applied(update.generation, false);
    update = await port.nextUpdate();
  }
  const prepared = prepare(update);
  const commit = control.arriveAndAwaitVerdict(update.generation);
  port.applied(update.generation, commit);
  return { generation: update.generation, prepared: commit ? prepared : undefined };
}

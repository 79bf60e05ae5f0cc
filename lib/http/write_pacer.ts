/**
 * Turns of the event loop between the pieces of long answers, shared by a server's
 * connections.
 *
 * @module
 */

/** How long connections may keep the event loop before one lets it turn, ms. */
const TURN_MS = 5;
/** Queued connections that write one piece each per turn of the event loop. */
const PACE_BATCH = 32;

/**
 * Lets the event loop turn (accepts, reads, timers) between the pieces of long answers.
 * A write the socket takes at once resolves without a turn, so connections whose
 * answers fill the socket buffers of clients that never read would otherwise keep
 * every other client waiting. After {@linkcode TURN_MS} without a turn, or whenever
 * others already wait, a connection queues; each turn lets {@linkcode PACE_BATCH} of
 * the queue go on, in order, for one piece each.
 */
export class WritePacer {
  /** When paced connections last let the event loop turn. */
  #lastTurn = performance.now();
  /** Connections waiting for their turn to write the next piece of an answer. */
  readonly #paced: (() => void)[] = [];
  #pacing = false;

  /** @returns undefined to go on at once, or a promise that settles at this one's turn */
  pace(): Promise<void> | undefined {
    if (this.#paced.length === 0 && performance.now() - this.#lastTurn < TURN_MS) {
      return undefined;
    }
    const turn = Promise.withResolvers<void>();
    this.#paced.push(turn.resolve);
    this.#schedulePaced();
    return turn.promise;
  }

  #schedulePaced(): void {
    if (this.#pacing) return;
    this.#pacing = true;
    setTimeout(() => {
      this.#pacing = false;
      this.#lastTurn = performance.now();
      for (const resume of this.#paced.splice(0, PACE_BATCH)) resume();
      if (this.#paced.length > 0) this.#schedulePaced();
    }, 0);
  }
}

/**
 * What the main thread tells the workers' request loops while they block in libzmq: a
 * database generation to switch to, and a request to stop. It lives in a
 * `SharedArrayBuffer`, read with `Atomics` between requests and at every receive timeout
 * (a loop wakes at least every {@linkcode CONTROL_POLL_MS}), since a worker blocked in a
 * foreign call cannot take a message.
 *
 * A switch is a barrier: every worker prepares the new database, then waits until all
 * have, then all switch. So once any reply comes from the new database, no later reply
 * comes from the old one.
 *
 * @module
 */

/** How often an idle request loop looks at the control, in milliseconds. */
export const CONTROL_POLL_MS = 200;

const GENERATION = 0;
const ARRIVED = 1;
const STOP = 2;
const SLOTS = 3;

/**
 * The shared control of the request loops.
 *
 * @example
 * ```ts
 * import { LoopControl } from "./loop_control.ts";
 * const control = LoopControl.create();
 * const seen = control.generation;
 * control.announceSwitch();
 * console.log(control.generation !== seen); // true: loops leave to switch
 * ```
 */
export class LoopControl {
  /** The shared memory, to hand to workers. */
  readonly buffer: SharedArrayBuffer;
  readonly #slots: Int32Array;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#slots = new Int32Array(buffer);
  }

  /** @returns a new control, generation 0, not stopping */
  static create(): LoopControl {
    return new LoopControl(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
  }

  /**
   * @param buffer a {@linkcode LoopControl.buffer} from another thread
   * @returns a view of the same control
   */
  static fromBuffer(buffer: SharedArrayBuffer): LoopControl {
    return new LoopControl(buffer);
  }

  /** The database generation the loops should serve. */
  get generation(): number {
    return Atomics.load(this.#slots, GENERATION);
  }

  /** Whether the loops should stop taking requests. */
  get stopping(): boolean {
    return Atomics.load(this.#slots, STOP) === 1;
  }

  /**
   * Main thread: asks the loops to switch database. Post each worker its new database
   * first; a loop leaves for it at its next look at the control.
   *
   * @returns the new generation
   */
  announceSwitch(): number {
    Atomics.store(this.#slots, ARRIVED, 0);
    const generation = Atomics.add(this.#slots, GENERATION, 1) + 1;
    Atomics.notify(this.#slots, ARRIVED);
    return generation;
  }

  /** Main thread: asks the loops to stop taking requests. */
  announceStop(): void {
    Atomics.store(this.#slots, STOP, 1);
    Atomics.notify(this.#slots, ARRIVED);
  }

  /**
   * Worker: says this worker is ready to switch, and waits until all are.
   *
   * @param workers how many workers take part
   * @param timeoutMs how long to wait for the others
   * @returns true when all arrived; false on a time-out (switch anyway) or a stop
   */
  arriveAndWait(workers: number, timeoutMs: number): boolean {
    const slots = this.#slots;
    Atomics.add(slots, ARRIVED, 1);
    Atomics.notify(slots, ARRIVED);
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const arrived = Atomics.load(slots, ARRIVED);
      if (arrived >= workers) return true;
      if (this.stopping) return false;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(slots, ARRIVED, arrived, Math.min(left, CONTROL_POLL_MS));
    }
  }
}

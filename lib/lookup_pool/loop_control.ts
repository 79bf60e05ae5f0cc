/**
 * What the main thread tells the workers' request loops while they block in libzmq: a
 * database switch to take part in, and a request to stop. It lives in a
 * `SharedArrayBuffer`, read with `Atomics` between requests and at every receive timeout
 * (a loop wakes at least every {@linkcode CONTROL_POLL_MS}), since a worker blocked in a
 * foreign call cannot take a message.
 *
 * The switch protocol itself is in `database_switch.ts`; this is its shared memory: the
 * generation announced, how many workers have arrived at the barrier, and the verdict.
 *
 * @module
 */

import { CONTROL_POLL_MS } from "../worker/mod.ts";

const GENERATION = 0;
const ARRIVED = 1;
const VERDICT = 2;
const STOP = 3;
const DRAIN_ANSWERED = 4;
const DRAIN_DROPPED = 5;
const RECONNECT = 6;
const SLOTS = 7;

/**
 * The shared control of the request loops.
 *
 * @example
 * ```ts
 * import { LoopControl } from "./loop_control.ts";
 * const control = LoopControl.create();
 * const generation = control.announceSwitch();
 * console.log(generation); // 1: loops leave to take part
 * control.decide(generation, true);
 * console.log(control.arriveAndAwaitVerdict(generation)); // true: switch
 * ```
 */
export class LoopControl {
  /** The shared memory, to hand to workers. */
  readonly buffer: SharedArrayBuffer;
  readonly #slots: Int32Array<SharedArrayBuffer>;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#slots = new Int32Array(buffer);
  }

  /** @returns a new control: generation 0, not stopping */
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

  /** The generation of the last switch announced (0 before any). */
  get generation(): number {
    return Atomics.load(this.#slots, GENERATION);
  }

  /** How many workers have arrived at the barrier of the switch announced last. */
  get arrivals(): number {
    return Atomics.load(this.#slots, ARRIVED);
  }

  /** Whether the loops should stop taking requests. */
  get stopping(): boolean {
    return Atomics.load(this.#slots, STOP) === 1;
  }

  /**
   * Main thread: announces a switch; each loop leaves for it at its next look at the
   * control. Post each worker the new databases first.
   *
   * @returns the switch's generation
   */
  announceSwitch(): number {
    Atomics.store(this.#slots, ARRIVED, 0);
    Atomics.store(this.#slots, VERDICT, 0);
    return Atomics.add(this.#slots, GENERATION, 1) + 1;
  }

  /**
   * Main thread: settles a switch; every worker waiting at the barrier goes on, and one
   * that arrives later finds the verdict there.
   *
   * @param generation the switch's generation
   * @param commit true: every worker takes the new databases; false: every worker keeps
   *   the ones it serves
   */
  decide(generation: number, commit: boolean): void {
    Atomics.store(this.#slots, VERDICT, commit ? generation : -generation);
    Atomics.notify(this.#slots, VERDICT);
  }

  /**
   * Main thread: asks the router worker to connect again to every `--connect` endpoint (after libzmq
   * gave one up: it does not reconnect after a protocol error).
   */
  askReconnect(): void {
    Atomics.add(this.#slots, RECONNECT, 1);
  }

  /** @returns how many reconnects have been asked so far */
  get reconnects(): number {
    return Atomics.load(this.#slots, RECONNECT);
  }

  /** Main thread: asks the loops to stop taking requests. */
  announceStop(): void {
    Atomics.store(this.#slots, STOP, 1);
    Atomics.notify(this.#slots, VERDICT);
  }

  /**
   * Router worker: records how its drain on a stop ended.
   *
   * @param answered requests already received that were answered
   * @param dropped requests left unanswered when the drain's time ran out
   */
  recordDrain(answered: number, dropped: number): void {
    Atomics.store(this.#slots, DRAIN_ANSWERED, answered);
    Atomics.store(this.#slots, DRAIN_DROPPED, dropped);
  }

  /** How the drain on a stop ended: requests answered, and left unanswered. */
  get drained(): { answered: number; dropped: number } {
    return {
      answered: Atomics.load(this.#slots, DRAIN_ANSWERED),
      dropped: Atomics.load(this.#slots, DRAIN_DROPPED),
    };
  }

  /**
   * Worker: arrives at the barrier of a switch, ready to serve the new databases, and
   * blocks until the main thread decides it (or a stop is asked, or a later switch is
   * announced meanwhile).
   *
   * @param generation the switch's generation
   * @returns true to take the new databases; false to keep the ones served
   */
  arriveAndAwaitVerdict(generation: number): boolean {
    const slots = this.#slots;
    Atomics.add(slots, ARRIVED, 1);
    while (true) {
      const verdict = Atomics.load(slots, VERDICT);
      if (verdict === generation) return true;
      if (verdict === -generation) return false;
      if (this.stopping || this.generation !== generation) return false;
      Atomics.wait(slots, VERDICT, verdict, CONTROL_POLL_MS);
    }
  }
}

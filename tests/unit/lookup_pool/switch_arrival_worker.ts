/**
 * A stand-in for a lookup worker at a database switch, for the switch's unit tests: told a
 * generation, it arrives at the barrier of the shared {@linkcode LoopControl} (blocking,
 * as a lookup worker does) and answers the verdict it got.
 *
 * @module
 */

import { LoopControl } from "../../../lib/lookup_pool/loop_control.ts";

/** This thread's scope, as a worker sees it. */
const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<{ control: SharedArrayBuffer; generation: number }>) => void;
  postMessage: (verdict: boolean) => void;
};

scope.onmessage = (event) => {
  const control = LoopControl.fromBuffer(event.data.control);
  scope.postMessage(control.arriveAndAwaitVerdict(event.data.generation));
};

/**
 * A stand-in for a lookup worker at a database switch, for the switch's unit tests: told a
 * generation, it waits for the switch to be announced, then arrives at the barrier of the
 * shared {@linkcode LoopControl} (blocking, as a lookup worker does) and answers the
 * verdict it got. It says `ready` once loaded.
 *
 * @module
 */

import { LoopControl } from "../../../lib/lookup_pool/loop_control.ts";

/** This thread's scope, as a worker sees it. */
const scope = globalThis as unknown as {
  onmessage: (
    event: MessageEvent<{ control: SharedArrayBuffer; generation: number }>,
  ) => Promise<void>;
  postMessage: (message: boolean | "ready") => void;
};

scope.onmessage = async (event) => {
  const control = LoopControl.fromBuffer(event.data.control);
  const { generation } = event.data;
  // A lookup worker takes the update only once its loop has seen the switch announced
  // (the announcement starts the count of arrivals afresh): so does this one.
  while (control.generation < generation) await new Promise((resolve) => setTimeout(resolve, 1));
  scope.postMessage(control.arriveAndAwaitVerdict(generation));
};
scope.postMessage("ready");

import assert from "node:assert/strict";
import { LoopControl } from "../../../lib/lookup_pool/loop_control.ts";

Deno.test("LoopControl starts at generation 0, not stopping, nothing drained", () => {
  const control = LoopControl.create();
  assert.equal(control.generation, 0);
  assert.equal(control.arrivals, 0);
  assert.equal(control.stopping, false);
  assert.equal(control.reconnects, 0);
  assert.deepEqual(control.drained, { answered: 0, dropped: 0 });
});

Deno.test("LoopControl numbers each switch announced and counts arrivals afresh", () => {
  const control = LoopControl.create();
  assert.equal(control.announceSwitch(), 1);
  control.decide(1, true);
  assert.equal(control.arriveAndAwaitVerdict(1), true);
  assert.equal(control.arrivals, 1);
  assert.equal(control.announceSwitch(), 2);
  assert.equal(control.arrivals, 0, "a new switch starts with no one at the barrier");
});

Deno.test("LoopControl's verdict is per generation: an aborted switch is not taken", () => {
  const control = LoopControl.create();
  const generation = control.announceSwitch();
  control.decide(generation, false);
  assert.equal(control.arriveAndAwaitVerdict(generation), false);
});

Deno.test("LoopControl lets no one wait at a barrier that a stop or a later switch ended", () => {
  const stopped = LoopControl.create();
  const generation = stopped.announceSwitch();
  stopped.announceStop();
  assert.equal(stopped.stopping, true);
  assert.equal(stopped.arriveAndAwaitVerdict(generation), false);

  const overtaken = LoopControl.create();
  const first = overtaken.announceSwitch();
  overtaken.announceSwitch();
  assert.equal(overtaken.arriveAndAwaitVerdict(first), false);
});

Deno.test("LoopControl is one memory for every view of it", () => {
  const control = LoopControl.create();
  const worker = LoopControl.fromBuffer(control.buffer);
  control.announceSwitch();
  control.askReconnect();
  control.askReconnect();
  worker.recordDrain(41, 2);
  assert.equal(worker.generation, 1);
  assert.equal(worker.reconnects, 2);
  assert.deepEqual(control.drained, { answered: 41, dropped: 2 });
});

import assert from "node:assert/strict";
import {
  type DatabaseUpdate,
  runSwitch,
  type SwitchParticipant,
  takeSwitch,
} from "../../../lib/lookup_pool/database_switch.ts";
import { LoopControl } from "../../../lib/lookup_pool/loop_control.ts";
import type { UpdateOutcome, WorkerPort } from "../../../lib/worker/mod.ts";

/**
 * A participant in a switch: what the switch asks of a lookup worker's handle. One that
 * arrives does so from a real thread, started (and loaded) before the switch, blocking at
 * the barrier like a lookup worker.
 */
class Participant {
  readonly name: string;
  alive = true;
  readonly updates: DatabaseUpdate[] = [];
  readonly verdicts: boolean[] = [];
  readonly #control: LoopControl;
  readonly #thread: Worker | undefined;
  readonly #loaded: Promise<void>;
  #answered: (verdict: boolean) => void = () => {};

  private constructor(name: string, control: LoopControl, arrives: boolean) {
    this.name = name;
    this.#control = control;
    if (!arrives) {
      this.#loaded = Promise.resolve();
      return;
    }
    const thread = new Worker(new URL("./switch_arrival_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#thread = thread;
    this.#loaded = new Promise((resolve) => {
      thread.onmessage = (event: MessageEvent<boolean | "ready">) => {
        if (event.data === "ready") return resolve();
        this.verdicts.push(event.data);
        this.#answered(event.data);
      };
    });
  }

  /** @returns a participant whose thread, if it arrives, is loaded */
  static async start(name: string, control: LoopControl, arrives: boolean): Promise<Participant> {
    const participant = new Participant(name, control, arrives);
    await participant.#loaded;
    return participant;
  }

  update(update: DatabaseUpdate): Promise<UpdateOutcome> {
    this.updates.push(update);
    const thread = this.#thread;
    if (thread === undefined) return new Promise(() => {});
    return new Promise((resolve) => {
      this.#answered = (verdict) => resolve(verdict ? "taken" : "kept");
      thread.postMessage({ control: this.#control.buffer, generation: update.generation });
    });
  }

  get asParticipant(): SwitchParticipant {
    return this as unknown as SwitchParticipant;
  }

  [Symbol.dispose](): void {
    this.#thread?.terminate();
  }
}

Deno.test("runSwitch() commits when every worker reaches the barrier", async () => {
  const control = LoopControl.create();
  using a = await Participant.start("lookup worker 0", control, true);
  using b = await Participant.start("lookup worker 1", control, true);
  const outcome = await runSwitch(control, {
    workers: [a.asParticipant, b.asParticipant],
    databases: [],
    timeoutMs: 10_000,
  });
  assert.deepEqual(outcome, { generation: 1, committed: true, reason: "" });
  assert.equal(control.generation, 1);
  assert.deepEqual(a.verdicts, [true]);
  assert.deepEqual(b.verdicts, [true]);
  assert.deepEqual(a.updates.map((update) => update.generation), [1]);
});

Deno.test("runSwitch() aborts when a worker does not arrive in time, and says how many", async () => {
  const control = LoopControl.create();
  using arrives = await Participant.start("lookup worker 0", control, true);
  using late = await Participant.start("lookup worker 1", control, false);
  const outcome = await runSwitch(control, {
    workers: [arrives.asParticipant, late.asParticipant],
    databases: [],
    timeoutMs: 1000,
  });
  assert.equal(outcome.committed, false);
  assert.equal(outcome.generation, 1);
  assert.equal(outcome.reason, "1 of 2 workers did not reach the switch within 1000 ms");
  // The one that arrived is told to keep what it serves.
  while (arrives.verdicts.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(arrives.verdicts, [false]);
});

Deno.test("runSwitch() aborts at once when a worker ends during the switch", async () => {
  const control = LoopControl.create();
  using dead = await Participant.start("lookup worker 2", control, false);
  dead.alive = false;
  const started = Date.now();
  const outcome = await runSwitch(control, {
    workers: [dead.asParticipant],
    databases: [],
    timeoutMs: 10_000,
  });
  assert.deepEqual(outcome, {
    generation: 1,
    committed: false,
    reason: "lookup worker 2 ended during the switch",
  });
  assert.ok(Date.now() - started < 5_000, "not held up until the timeout");
});

Deno.test("runSwitch() numbers switches one after another", async () => {
  const control = LoopControl.create();
  using worker = await Participant.start("lookup worker 0", control, true);
  const first = await runSwitch(control, { workers: [worker.asParticipant], databases: [] });
  const second = await runSwitch(control, { workers: [worker.asParticipant], databases: [] });
  assert.deepEqual([first.generation, second.generation], [1, 2]);
  assert.deepEqual(worker.verdicts, [true, true]);
});

/** A worker's channel holding updates already sent, recording what it acknowledges. */
function portWith(updates: DatabaseUpdate[]) {
  const applied: [number, boolean][] = [];
  const port: WorkerPort<DatabaseUpdate, unknown> = {
    ready: () => {},
    emit: () => {},
    applied: (generation, taken) => applied.push([generation, taken]),
    nextUpdate: () => {
      const update = updates.shift();
      return update === undefined ? new Promise(() => {}) : Promise.resolve(update);
    },
  };
  return { port, applied };
}

Deno.test("takeSwitch() skips the updates of switches it missed and takes the last", async () => {
  const control = LoopControl.create();
  control.announceSwitch();
  control.decide(1, false);
  const generation = control.announceSwitch();
  control.decide(generation, true);
  const { port, applied } = portWith([
    { generation: 1, databases: [] },
    { generation: 2, databases: [] },
  ]);
  const prepared: number[] = [];
  const taken = await takeSwitch(control, port, (update) => {
    prepared.push(update.generation);
    return `responder for ${update.generation}`;
  });
  assert.deepEqual(taken, { generation: 2, prepared: "responder for 2" });
  assert.deepEqual(prepared, [2], "nothing is prepared for a switch already over");
  assert.deepEqual(applied, [[1, false], [2, true]]);
});

Deno.test("takeSwitch() drops what it prepared when the switch is aborted", async () => {
  const control = LoopControl.create();
  const generation = control.announceSwitch();
  control.decide(generation, false);
  const { port, applied } = portWith([{ generation, databases: [] }]);
  const taken = await takeSwitch(control, port, () => "new responder");
  assert.deepEqual(taken, { generation: 1, prepared: undefined });
  assert.deepEqual(applied, [[1, false]]);
});

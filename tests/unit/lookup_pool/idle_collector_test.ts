import assert from "node:assert/strict";
import {
  IDLE_COLLECT_INTERVAL_MS,
  IdleCollector,
} from "../../../lib/lookup_pool/idle_collector.ts";

Deno.test("an idle worker collects once after work, and at most once per interval", () => {
  let now = 10_000;
  let collections = 0;
  const idle = new IdleCollector({ collect: () => collections++, now: () => now });
  idle.rest();
  assert.equal(collections, 0, "nothing served: nothing to collect");
  idle.worked();
  idle.worked();
  idle.rest();
  assert.equal(collections, 1, "the first idle moment after work collects");
  idle.rest();
  now += 5 * IDLE_COLLECT_INTERVAL_MS;
  idle.rest();
  assert.equal(collections, 1, "idle without new work: no second collection");
  idle.worked();
  now += IDLE_COLLECT_INTERVAL_MS / 2;
  idle.worked();
  idle.rest();
  assert.equal(collections, 2, "new work after a long rest collects at once");
  idle.worked();
  now += IDLE_COLLECT_INTERVAL_MS / 2;
  idle.rest();
  assert.equal(collections, 2, "too soon after the last collection");
  now += IDLE_COLLECT_INTERVAL_MS / 2;
  idle.rest();
  assert.equal(collections, 3, "the work kept waiting is collected once the interval is over");
});

Deno.test("the default collection is a real full collection: a dropped object is gone", async () => {
  let target: object | undefined = { payload: new Uint8Array(1024) };
  const weak = new WeakRef(target);
  target = undefined;
  await new Promise((resolve) => setTimeout(resolve, 0)); // a WeakRef holds during its job
  const idle = new IdleCollector();
  idle.worked();
  idle.rest();
  assert.equal(weak.deref(), undefined);
});

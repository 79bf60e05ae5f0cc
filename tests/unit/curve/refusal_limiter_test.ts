import assert from "node:assert/strict";
import { RefusalLimiter } from "../../../lib/curve/refusal_limiter.ts";

Deno.test("RefusalLimiter logs a key at most once per window, saying how many it held back", () => {
  const limiter = new RefusalLimiter({ windowMs: 10_000 });
  assert.equal(limiter.note("A", 0), 0);
  assert.equal(limiter.note("A", 1), null);
  assert.equal(limiter.note("A", 9_999), null);
  assert.equal(limiter.note("B", 5_000), 0, "another key has its own window");
  assert.equal(limiter.note("A", 10_000), 2, "two refusals were held back");
  assert.equal(limiter.note("A", 15_000), null);
  assert.equal(limiter.note("A", 40_000), 1);
  assert.equal(limiter.note("B", 40_000), 0);
});

Deno.test("RefusalLimiter bounds the lines per window and the keys it remembers", () => {
  const limiter = new RefusalLimiter({ windowMs: 10_000, maxLinesPerWindow: 3, maxKeys: 2 });
  assert.deepEqual(["A", "B", "C", "D"].map((key) => limiter.note(key, 0)), [0, 0, 0, null]);
  assert.equal(limiter.note("D", 10_000), 0, "a new window has room again");
  // Only two keys are remembered (C and D): A, forgotten, may get a line again.
  assert.equal(limiter.note("A", 10_001), 0);
  assert.equal(limiter.note("D", 10_002), null, "D is remembered");
  const many = new RefusalLimiter({ maxLinesPerWindow: 100_000, maxKeys: 1000 });
  for (let i = 0; i < 5000; i++) assert.equal(many.note(`key-${i}`, i), 0);
  assert.equal(many.note("key-4999", 5000), null, "the newest keys are remembered");
  assert.equal(many.note("key-0", 5000), 0, "the oldest were forgotten");
});

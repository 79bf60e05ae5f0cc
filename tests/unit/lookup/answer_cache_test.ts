import assert from "node:assert/strict";
import { AnswerCache } from "../../../lib/lookup/answer_cache.ts";
import {
  BYTES_OVERHEAD_BYTES,
  CacheBudget,
  ENTRY_OVERHEAD_BYTES,
  entryCost,
  stringCost,
} from "../../../lib/lookup/cache_budget.ts";

Deno.test("AnswerCache renders a record once and counts hits and misses", () => {
  const cache = new AnswerCache(new CacheBudget(1024 * 1024));
  let renders = 0;
  const render = () => `answer ${++renders}`;
  assert.equal(cache.get(1, render), "answer 1");
  assert.equal(cache.get(1, render), "answer 1");
  assert.equal(cache.get(2, render), "answer 2");
  assert.equal(cache.get(1, render), "answer 1");
  const bytes = 2 * entryCost(1, "answer 1");
  assert.deepEqual(cache.stats(), { hits: 2, misses: 2, entries: 2, bytes });
});

Deno.test("entryCost() counts two bytes a character beyond Latin-1, and a buffer's overhead", () => {
  assert.equal(stringCost("a".repeat(16)), 32);
  assert.equal(stringCost("é".repeat(16)), 32, "é is Latin-1: one byte");
  assert.equal(stringCost("東".repeat(16)), 48, "two bytes a character");
  assert.equal(entryCost(7, "a".repeat(16)), ENTRY_OVERHEAD_BYTES + 32);
  assert.equal(entryCost("a".repeat(16), "b"), ENTRY_OVERHEAD_BYTES + 32 + 24);
  assert.equal(entryCost(7, new Uint8Array(60)), ENTRY_OVERHEAD_BYTES + BYTES_OVERHEAD_BYTES + 64);
});

Deno.test("AnswerCache holds no more than its budget, dropping the oldest entries", () => {
  const cost = entryCost(1, "abcd");
  const cache = new AnswerCache(new CacheBudget(2 * cost + 10));
  cache.get(1, () => "abcd");
  cache.get(2, () => "efgh");
  cache.get(3, () => "ijkl"); // three do not fit: the oldest goes
  assert.deepEqual(cache.stats().entries, 2);
  assert.equal(cache.get(1, () => "one again"), "one again", "1 was dropped");
  assert.equal(cache.get(3, () => "not rendered"), "ijkl", "3 was kept");
  const long = "x".repeat(3 * cost);
  assert.equal(cache.get(4, () => long), long, "larger than the budget: answered");
  assert.equal(cache.peek(4), undefined, "larger than the budget: not kept");
  for (let key = 10; key < 1000; key++) cache.get(key, () => "abc");
  assert.ok(cache.stats().bytes <= 2 * cost + 10);
  assert.equal(cache.stats().entries, 2);
});

Deno.test("Caches on one budget share it: the oldest entry of either goes first", () => {
  const budget = new CacheBudget(3 * entryCost(1, "abcd"));
  const first = new AnswerCache(budget);
  const second = new AnswerCache(budget);
  first.get(1, () => "abcd");
  first.get(2, () => "efgh");
  second.get(1, () => "ijkl");
  assert.equal(budget.used, 3 * entryCost(1, "abcd"));
  second.get(2, () => "mnop"); // the oldest of all, first's 1, goes
  assert.equal(first.stats().entries, 1);
  assert.equal(first.peek(1), undefined);
  assert.equal(first.peek(2), "efgh");
  assert.equal(second.stats().entries, 2);
  assert.equal(budget.used, first.stats().bytes + second.stats().bytes);
  for (let key = 10; key < 2000; key++) second.get(key, () => "abcd");
  assert.equal(first.stats().entries, 0, "one cache in use gets the whole budget");
  assert.equal(second.stats().entries, 3);
});

Deno.test("AnswerCache with a zero budget only renders", () => {
  const cache = new AnswerCache(new CacheBudget(0));
  let renders = 0;
  cache.get(1, () => String(++renders));
  cache.get(1, () => String(++renders));
  assert.equal(renders, 2);
  assert.deepEqual(cache.stats(), { hits: 0, misses: 2, entries: 0, bytes: 0 });
});

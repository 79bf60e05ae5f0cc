import assert from "node:assert/strict";
import { AnswerCache } from "../../../lib/lookup/answer_cache.ts";

Deno.test("AnswerCache renders a record once and counts hits and misses", () => {
  const cache = new AnswerCache({ maxEntries: 10, maxChars: 1000 });
  let renders = 0;
  const render = () => `answer ${++renders}`;
  assert.equal(cache.get(1, render), "answer 1");
  assert.equal(cache.get(1, render), "answer 1");
  assert.equal(cache.get(2, render), "answer 2");
  assert.equal(cache.get(1, render), "answer 1");
  assert.deepEqual(cache.stats(), { hits: 2, misses: 2, entries: 2, chars: 16 });
});

Deno.test("AnswerCache drops the oldest entry at its entry bound", () => {
  const cache = new AnswerCache({ maxEntries: 2, maxChars: 1000 });
  cache.get(1, () => "one");
  cache.get(2, () => "two");
  cache.get(3, () => "three");
  assert.equal(cache.stats().entries, 2);
  assert.equal(cache.get(1, () => "one again"), "one again", "1 was dropped");
  assert.equal(cache.get(3, () => "not rendered"), "three", "3 was kept");
});

Deno.test("AnswerCache holds no more characters than its bound", () => {
  const cache = new AnswerCache({ maxEntries: 100, maxChars: 10 });
  cache.get(1, () => "abcd");
  cache.get(2, () => "efgh");
  cache.get(3, () => "ijkl"); // 12 > 10: the oldest goes
  assert.deepEqual(cache.stats().chars, 8);
  assert.equal(cache.get(4, () => "x".repeat(11)), "x".repeat(11), "too long: answered");
  assert.equal(cache.stats().entries, 2, "too long: not kept");
  for (let key = 10; key < 1000; key++) cache.get(key, () => "abc");
  assert.ok(cache.stats().chars <= 10);
});

Deno.test("AnswerCache with no entries allowed only renders", () => {
  const cache = new AnswerCache({ maxEntries: 0, maxChars: 1000 });
  let renders = 0;
  cache.get(1, () => String(++renders));
  cache.get(1, () => String(++renders));
  assert.equal(renders, 2);
  assert.deepEqual(cache.stats(), { hits: 0, misses: 2, entries: 0, chars: 0 });
});

import assert from "node:assert/strict";
import { AnswerCache } from "../../../lib/lookup/answer_cache.ts";
import { CacheBudget, entryCost } from "../../../lib/lookup/cache_budget.ts";
import { RecordAnswers } from "../../../lib/lookup/record_answers.ts";
import { ReplyBuffer } from "../../../lib/lookup/reply_buffer.ts";

const decoder = new TextDecoder();

/** Looks a record up: its kept answer, or undefined after keeping `render(offset)`. */
function lookup(answers: RecordAnswers, offset: number, out: ReplyBuffer): string | undefined {
  out.reset();
  if (answers.copyInto(offset, out)) return decoder.decode(out.view());
  out.appendText(`answer ${offset}`);
  answers.keep(offset, { out, from: 0 });
  return undefined;
}

Deno.test("RecordAnswers keeps an answer per record and counts hits and misses", () => {
  const answers = new RecordAnswers(new CacheBudget(64 * 1024), { averageBytes: 16 });
  const out = new ReplyBuffer();
  assert.equal(lookup(answers, 7, out), undefined);
  assert.equal(lookup(answers, 7, out), "answer 7");
  assert.equal(lookup(answers, 8, out), undefined);
  out.reset();
  out.appendText("prefix ");
  assert.ok(answers.copyInto(8, out), "copied after what the buffer holds");
  assert.equal(decoder.decode(out.view()), "prefix answer 8");
  const stats = answers.stats();
  assert.deepEqual({ ...stats, bytes: 0 }, { hits: 2, misses: 2, entries: 2, bytes: 0 });
  assert.ok(stats.bytes > 0 && stats.bytes <= 32 * 1024, "one generation: half the budget");
});

Deno.test("RecordAnswers stays within its budget and keeps what is asked again", () => {
  const budget = new CacheBudget(16 * 1024);
  const answers = new RecordAnswers(budget, { averageBytes: 16 });
  const out = new ReplyBuffer();
  lookup(answers, 1, out);
  for (let offset = 2; offset < 10_000; offset++) {
    lookup(answers, offset, out);
    // Record 1 is asked again and again: it moves on with every generation.
    assert.equal(lookup(answers, 1, out), "answer 1", `after ${offset}`);
    assert.ok(budget.used <= budget.limit, `${budget.used} > ${budget.limit}`);
    assert.ok(answers.stats().bytes <= budget.limit);
  }
  assert.equal(lookup(answers, 9_999, out), "answer 9999", "the newest are kept");
  assert.equal(lookup(answers, 2, out), undefined, "the oldest were dropped");
});

Deno.test("RecordAnswers shares its budget with other caches, oldest first", () => {
  const budget = new CacheBudget(16 * 1024);
  const answers = new RecordAnswers(budget, { averageBytes: 16 });
  const lines = new AnswerCache<string>(budget);
  const out = new ReplyBuffer();
  lookup(answers, 1, out);
  const fill = Math.ceil(budget.limit / entryCost(1, "x".repeat(40)));
  for (let key = 0; key < fill; key++) lines.get(key, () => "x".repeat(40));
  assert.equal(answers.stats().entries, 0, "its generation was the oldest: dropped");
  assert.ok(budget.used <= budget.limit);
  assert.equal(lookup(answers, 1, out), undefined);
  assert.equal(lookup(answers, 1, out), "answer 1", "it starts a generation again");
  assert.ok(budget.used <= budget.limit);
});

Deno.test("RecordAnswers keeps nothing on a zero or tiny budget, nor an answer too long", () => {
  const out = new ReplyBuffer();
  for (const limit of [0, 1000]) {
    const answers = new RecordAnswers(new CacheBudget(limit), { averageBytes: 16 });
    lookup(answers, 1, out);
    assert.equal(lookup(answers, 1, out), undefined, `budget ${limit}`);
    assert.equal(answers.stats().bytes, 0);
  }
  const answers = new RecordAnswers(new CacheBudget(64 * 1024), { averageBytes: 16 });
  out.reset();
  out.appendText("y".repeat(20_000));
  answers.keep(3, { out, from: 0 });
  out.reset();
  assert.equal(answers.copyInto(3, out), false, "longer than an eighth of a generation");
});

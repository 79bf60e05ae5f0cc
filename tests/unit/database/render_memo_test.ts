import assert from "node:assert/strict";
import { DataSection, DataSectionError, ValueWriter } from "../../../lib/database/mod.ts";
import { ReplyBuffer } from "../../../lib/lookup/mod.ts";

const decoder = new TextDecoder();

/** An array of one element, and a pointer (under 2048) to a value. */
const ARRAY_OF_ONE = [0x01, 0x04];
const pointer = (target: number) => [0x20 | (target >> 8), target & 0xff];

/** Writes one value of a data section as JSON, or returns what it threw. */
function json(writer: ValueWriter, section: DataSection, offset: number): string | Error {
  const sink = new ReplyBuffer(16);
  try {
    section.start();
    writer.begin(sink);
    writer.json(offset);
    writer.end();
    return decoder.decode(sink.view());
  } catch (error) {
    return error as Error;
  }
}

Deno.test("a value kept by the JSON memo is copied only where it may nest as deep", () => {
  // At 0, a value shared through pointers: [[[1]]], its arrays two deep below it. At 8, a
  // record of one array holding a pointer to it; then records where the pointer lies 29
  // and 30 arrays deep: at 30 its innermost array is at depth 32, one more than allowed.
  const shared = [...ARRAY_OF_ONE, ...ARRAY_OF_ONE, ...ARRAY_OF_ONE, 0xa1, 0x01];
  const shallow = [...ARRAY_OF_ONE, ...pointer(0)];
  const nested = (depth: number) => [...Array(depth).fill(ARRAY_OF_ONE).flat(), ...pointer(0)];
  const bytes = new Uint8Array([...shared, ...shallow, ...nested(29), ...nested(30)]);
  const at29 = shared.length + shallow.length;
  const at30 = at29 + nested(29).length;
  const section = new DataSection(bytes, 0);
  const plain = new ValueWriter(section);
  const memoized = new ValueWriter(section);
  memoized.memoize(64 * 1024);
  assert.equal(json(memoized, section, shared.length), "[[[[1]]]]");
  assert.equal(json(memoized, section, shared.length), "[[[[1]]]]", "copied");
  const deep29 = json(plain, section, at29);
  assert.equal(typeof deep29, "string");
  assert.equal(json(memoized, section, at29), deep29);
  assert.ok(json(plain, section, at30) instanceof DataSectionError);
  const refused = json(memoized, section, at30);
  assert.ok(refused instanceof DataSectionError, String(refused));
  assert.match(refused.message, /nest deeper than 32/);
});

Deno.test("a value copied from the JSON memo counts its values against the record's budget", () => {
  // An array of 200 pointers to one array of 120 numbers at 0: 200 × 121 values, over the
  // 20,000 a record may read. Without the memo each copy is read again and the budget
  // runs out; with it, each copy is charged what its rendering read.
  const numbers = [0x1d, 0x04, 120 - 29, ...Array(120).fill([0xa1, 0x01]).flat()];
  const record = numbers.length;
  const bytes = new Uint8Array([
    ...numbers,
    ...[0x1d, 0x04, 200 - 29],
    ...Array(200).fill(pointer(0)).flat(),
  ]);
  const section = new DataSection(bytes, 0);
  const plain = new ValueWriter(section);
  const memoized = new ValueWriter(section);
  memoized.memoize(64 * 1024);
  const unmemoized = json(plain, section, record);
  assert.ok(unmemoized instanceof DataSectionError, String(unmemoized));
  const copied = json(memoized, section, record);
  assert.ok(copied instanceof DataSectionError, String(copied));
  assert.match(copied.message, /more than 20000 values/);
});

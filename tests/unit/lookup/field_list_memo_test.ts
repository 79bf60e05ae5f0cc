import assert from "node:assert/strict";
import {
  FIELD_LIST_KEPT_MAX_CHARS,
  FIELD_LIST_MEMO_BYTES,
  FieldListMemo,
} from "../../../lib/lookup/field_list_memo.ts";

/**
 * A valid field list of `count` distinct paths (at most 64), each padded to about `width`
 * characters, `tag` making it distinct from others.
 */
function fieldList(tag: number, count: number, width = 16): string {
  return Array.from({ length: count }, (_, i) => `city.names.x${tag}y${i}`.padEnd(width, "z"))
    .join(",");
}

Deno.test("FieldListMemo keeps a list once parsed, and refusals too", () => {
  const memo = new FieldListMemo();
  const parsed = memo.parse("city.name,location.latitude");
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.map((path) => path.text), ["city.name", "location.latitude"]);
  assert.equal(memo.parse("city.name,location.latitude"), parsed);
  const refused = memo.parse("city..name");
  assert.equal(refused.ok, false);
  assert.equal(memo.parse("city..name"), refused);
  assert.equal(memo.kept, 2);
});

Deno.test("FieldListMemo never holds more than its budget, however many lists it meets", () => {
  const memo = new FieldListMemo();
  for (let tag = 0; tag < 3000; tag++) {
    const text = fieldList(tag, 64, 60); // about 3.9 KB: kept
    assert.ok(text.length <= FIELD_LIST_KEPT_MAX_CHARS);
    assert.ok(memo.parse(text).ok);
    assert.ok(memo.bytes <= FIELD_LIST_MEMO_BYTES, `${memo.bytes} bytes after ${tag + 1} lists`);
  }
  assert.ok(memo.kept > 0 && memo.kept < 3000, `${memo.kept} lists kept`);
});

Deno.test("FieldListMemo parses a long list for each request and keeps none of it", () => {
  const memo = new FieldListMemo();
  const text = fieldList(1, 64, 120); // about 7.7 KB
  assert.ok(text.length > FIELD_LIST_KEPT_MAX_CHARS);
  const first = memo.parse(text);
  assert.ok(first.ok && first.value.length === 64);
  assert.notEqual(memo.parse(text), first);
  assert.equal(memo.kept, 0);
  assert.equal(memo.bytes, 0);
});

Deno.test("FieldListMemo drops the least recently used list first", () => {
  const small = fieldList(0, 1);
  const memo = new FieldListMemo(3 * (2 * small.length + 160));
  const a = memo.parse(fieldList(1, 1));
  memo.parse(fieldList(2, 1));
  memo.parse(fieldList(3, 1));
  assert.equal(memo.parse(fieldList(1, 1)), a, "used again: now the most recent");
  memo.parse(fieldList(4, 1)); // drops list 2, the least recently used
  assert.equal(memo.parse(fieldList(1, 1)), a);
  assert.equal(memo.kept, 3);
});

Deno.test("FieldListMemo refuses a list of made-up long paths before splitting it", () => {
  const memo = new FieldListMemo();
  const parsed = memo.parse(fieldList(1, 64, 1000)); // about 64 KB
  assert.deepEqual(parsed, {
    ok: false,
    reason: "field list longer than 8256 characters (at most 64 fields of 128)",
  });
  assert.equal(memo.kept, 0);
  const one = memo.parse(`city.names.${"x".repeat(200)}`);
  assert.equal(one.ok, false);
  assert.match(one.ok ? "" : one.reason, /longer than 128 characters$/);
});

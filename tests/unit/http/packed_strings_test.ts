import assert from "node:assert/strict";
import { PackedStrings } from "../../../lib/http/packed_strings.ts";

Deno.test("PackedStrings gives back every item as it was, empty and multibyte ones too", () => {
  const items = ["81.2.69.160", "", "2001:db8::1", "ミュンヘン", "a\nb", "🙂x", ""];
  const packed = PackedStrings.of(items);
  assert.equal(packed.length, items.length);
  assert.deepEqual(Array.from({ length: packed.length }, (_, i) => packed.at(i)), items);
  assert.equal(packed.at(-1), undefined);
  assert.equal(packed.at(items.length), undefined);
  assert.equal(PackedStrings.of([]).length, 0);
});

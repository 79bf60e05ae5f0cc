import assert from "node:assert/strict";
import { DataSection } from "../../../lib/database/data_section.ts";
import { ValueWriter } from "../../../lib/database/value_writer.ts";
import { formatFixed6 } from "../../../lib/protocol/mod.ts";

/** What `ValueWriter.fixed6` writes for a number. */
function fixed6(writer: ValueWriter, value: number): string {
  const sink = { bytes: new Uint8Array(64), length: 0, room: (_extra: number) => sink.bytes };
  writer.begin(sink);
  writer.fixed6(value);
  writer.end();
  return new TextDecoder().decode(sink.bytes.subarray(0, sink.length));
}

Deno.test("ValueWriter.fixed6() writes what formatFixed6() makes, ties and signs included", () => {
  const writer = new ValueWriter(new DataSection(new Uint8Array(1), 0));
  const edges = [
    0,
    -0,
    1,
    -1,
    0.5,
    1e-7,
    -1e-7,
    5e-7,
    -5e-7,
    0.0000015,
    0.0000025,
    51.5967,
    -0.1593,
    179.9999995,
    -180,
    999999.9999999,
    1e6,
    -1e6,
    123456.789,
    2 ** 40 + 0.5,
    1e21,
    -1e300,
    0.1 + 0.2,
    37.7749,
    -122.4194,
  ];
  for (const value of edges) assert.equal(fixed6(writer, value), formatFixed6(value), `${value}`);
  let seed = 1;
  for (let i = 0; i < 200_000; i++) {
    seed = (seed * 16807) % 2147483647;
    const value = (seed / 2147483647 - 0.5) * 400;
    for (const v of [value, Math.round(value * 1e4) / 1e4, Math.round(value * 2e6) / 2e6]) {
      assert.equal(fixed6(writer, v), formatFixed6(v), `${v}`);
    }
  }
});

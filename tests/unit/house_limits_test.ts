import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { checkSizeLimits, formatSizeViolation } from "../../tooling/house_limits.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

Deno.test("no file in lib/ is over 450 lines and no function in lib/ or scripts/ over 80", async () => {
  const violations = await checkSizeLimits(ROOT);
  assert.deepEqual(violations.map(formatSizeViolation), [], "over the limits: cut it");
});

import assert from "node:assert/strict";
import { userPath } from "../../../lib/cli/paths.ts";

Deno.test("userPath() resolves a relative path against INIT_CWD when it is set", async (t) => {
  await t.step("relative, with INIT_CWD: joined to it", () => {
    assert.equal(userPath("city.mmdb", { INIT_CWD: "/home/ada" }), "/home/ada/city.mmdb");
    assert.equal(userPath("./keys/c.key", { INIT_CWD: "/home/ada/" }), "/home/ada/keys/c.key");
    assert.equal(userPath("../x.pub", { INIT_CWD: "/home/ada/work" }), "/home/ada/x.pub");
  });
  await t.step("absolute: unchanged", () => {
    assert.equal(userPath("/srv/city.mmdb", { INIT_CWD: "/home/ada" }), "/srv/city.mmdb");
  });
  await t.step("without INIT_CWD, or an empty one: unchanged", () => {
    assert.equal(userPath("city.mmdb", {}), "city.mmdb");
    assert.equal(userPath("city.mmdb", { INIT_CWD: "" }), "city.mmdb");
  });
});

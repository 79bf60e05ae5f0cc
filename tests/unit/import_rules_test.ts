import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkImportRules,
  formatViolation,
  type ImportViolation,
} from "../../tooling/import_rules.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Whether a file of the repository exists. */
function exists(path: string): boolean {
  try {
    Deno.statSync(join(ROOT, path));
    return true;
  } catch {
    return false;
  }
}

/** Writes a tree of files to a temporary directory and checks it. */
async function checkTree(files: Record<string, string>): Promise<ImportViolation[]> {
  const root = await Deno.makeTempDir({ prefix: "geoipmq-imports-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, path), text);
    }
    return await checkImportRules(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** A tree that keeps every rule, in every form of reference the checker reads. */
const CLEAN: Record<string, string> = {
  "main.ts": 'import { b } from "./lib/b/mod.ts";\nexport { b };\n',
  "lib/a/mod.ts": 'export { inner } from "./inner.ts";\n',
  "lib/a/inner.ts": [
    '// import { no } from "../b/inner.ts";',
    '/* export * from "../b/inner.ts"; */',
    'const text = `import { no } from "../b/inner.ts"`;',
    'const pattern = /from "..\\/b\\/inner.ts"/;',
    "const quoted = 'import \"../b/inner.ts\"';",
    'export const inner = () => new Worker(new URL("./worker.ts", import.meta.url));',
    "export { pattern, quoted, text };",
    "",
  ].join("\n"),
  "lib/a/worker.ts": "self.onmessage = () => {};\n",
  "lib/b/mod.ts": 'import { inner } from "../a/mod.ts";\nexport const b = inner;\n',
  "lib/b/inner.ts": "export const no = 1;\n",
  "lib/protocol/mod.ts": 'export * from "../a/mod.ts";\n',
  "lib/service/mod.ts":
    'import "../protocol/mod.ts";\nexport const s = await import("../b/mod.ts");\n',
  "tests/unit/a/inner_test.ts": 'import { inner } from "../../../lib/a/inner.ts";\ninner;\n',
  "tests/service/b_test.ts": 'import { b } from "../../lib/b/mod.ts";\nb;\n',
  "scripts/tool.mjs": 'import { b } from "../lib/b/mod.ts";\nimport "node:util";\nb;\n',
  "scripts/bench.ts": 'import { harness } from "../tooling/mod.ts";\nharness;\n',
  "scripts/baselines/loop.c": "int main(void) { return 0; }\n",
  "tooling/mod.ts": 'export { harness } from "./harness.ts";\n',
  "tooling/harness.ts": [
    'import { b } from "../lib/b/mod.ts";',
    'export const harness = [b, new URL("../scripts/baselines/loop.c", import.meta.url)];',
    "",
  ].join("\n"),
  "tests/unit/harness_test.ts": 'import { harness } from "../../tooling/harness.ts";\nharness;\n',
  "tests/service/bench_test.ts": [
    'import { harness } from "../../tooling/mod.ts";',
    'const script = new URL("../../scripts/bench.ts", import.meta.url);',
    "export { harness, script };",
    "",
  ].join("\n"),
};

Deno.test("checkImportRules() passes a tree that keeps the rules", async () => {
  assert.deepEqual(await checkTree(CLEAN), []);
});

Deno.test("checkImportRules() catches an import past a folder's mod.ts", async (t) => {
  await t.step("from main.ts, with its line", async () => {
    const violations = await checkTree({
      ...CLEAN,
      "main.ts": '// first line\nimport { no } from "./lib/b/inner.ts";\nno;\n',
    });
    assert.deepEqual(violations, [{
      rule: "entry",
      file: "main.ts",
      line: 2,
      message: "import of lib/b/inner.ts: outside lib/b/ only lib/b/mod.ts may be imported",
    }]);
  });
  await t.step("from another folder's unit tests", async () => {
    const violations = await checkTree({
      ...CLEAN,
      "tests/unit/b/a_test.ts": 'export { inner } from "../../../lib/a/inner.ts";\n',
    });
    assert.deepEqual(violations.map(formatViolation), [
      "tests/unit/b/a_test.ts:1: [entry] import of lib/a/inner.ts: outside lib/a/ only " +
      "lib/a/mod.ts may be imported",
    ]);
  });
  const kinds = [
    {
      name: "by a dynamic import from a script",
      file: "scripts/tool.mjs",
      text: 'const { no } = await import("../lib/b/inner.ts");\nno;\n',
      reference: "dynamic import of lib/b/inner.ts",
    },
    {
      name: "by new URL(…) to a Worker module of another folder",
      file: "lib/b/mod.ts",
      text: 'export const w = new Worker(new URL("../a/worker.ts", import.meta.url));\n',
      reference: "new URL of lib/a/worker.ts",
    },
  ];
  for (const { name, file, text, reference } of kinds) {
    await t.step(name, async () => {
      const violations = await checkTree({ ...CLEAN, [file]: text });
      assert.deepEqual(violations.map((v) => [v.rule, v.file, v.message.split(":")[0]]), [
        ["entry", file, reference],
      ]);
    });
  }
});

Deno.test("checkImportRules() reports a loop of lib folders once, with each step", async () => {
  const violations = await checkTree({
    ...CLEAN,
    "lib/a/mod.ts": 'export { inner } from "./inner.ts";\nimport "../c/mod.ts";\n',
    "lib/c/mod.ts": 'import "../b/mod.ts";\n',
  });
  assert.deepEqual(violations.map(formatViolation), [
    "lib/a/mod.ts:2: [cycle] lib folders import each other in a loop: " +
    "lib/a → lib/c → lib/b → lib/a (lib/a/mod.ts:2, lib/c/mod.ts:1, lib/b/mod.ts:1)",
  ]);
});

Deno.test("checkImportRules() catches a lower folder importing a higher one", async () => {
  const violations = await checkTree({
    ...CLEAN,
    "lib/http/mod.ts": "export const h = 1;\n",
    "lib/zmq/mod.ts": 'import { h } from "../http/mod.ts";\nexport const z = h;\n',
    "lib/database/mod.ts": 'import type { s } from "../service/mod.ts";\nexport type D = s;\n',
  });
  assert.deepEqual(violations.map(formatViolation), [
    "lib/database/mod.ts:1: [layer] lib/database must not import lib/service (lib/service/mod.ts)",
    "lib/zmq/mod.ts:1: [layer] lib/zmq must not import lib/http (lib/http/mod.ts)",
  ]);
});

Deno.test({
  name: "the repository keeps its import rules",
  // The folders' mod.ts entry points are what the rules are about; without them every import
  // from outside a folder breaks the first rule.
  ignore: !exists("lib/zmq/mod.ts"),
  async fn() {
    const violations = await checkImportRules(ROOT);
    assert.equal(
      violations.length,
      0,
      `${violations.length} broken import rules:\n${violations.map(formatViolation).join("\n")}`,
    );
  },
});

Deno.test("checkImportRules() keeps lib/, tooling/, tests/ and scripts/ apart", async (t) => {
  const cases = [
    {
      name: "lib/ importing tooling/",
      file: "lib/b/inner.ts",
      text: 'import "../../tooling/mod.ts";\nexport const no = 1;\n',
      message: "import of tooling/mod.ts: lib/ and main.ts must not import tooling/",
    },
    {
      name: "main.ts importing tests/",
      file: "main.ts",
      text: 'import "./tests/service/bench_test.ts";\n',
      message: "import of tests/service/bench_test.ts: lib/ and main.ts must not import tests/",
    },
    {
      name: "lib/ importing scripts/ dynamically",
      file: "lib/b/inner.ts",
      text: 'export const no = await import("../../scripts/bench.ts");\n',
      message: "dynamic import of scripts/bench.ts: lib/ and main.ts must not import scripts/",
    },
    {
      name: "tooling/ importing tests/",
      file: "tooling/harness.ts",
      text: 'export { harness } from "../tests/service/bench_test.ts";\n',
      message: "import of tests/service/bench_test.ts: tooling/ must not import tests/",
    },
    {
      name: "tooling/ importing scripts/",
      file: "tooling/harness.ts",
      text: 'import "../scripts/bench.ts";\nexport const harness = 1;\n',
      message: "import of scripts/bench.ts: tooling/ must not import scripts/",
    },
    {
      name: "tests/ importing scripts/",
      file: "tests/service/bench_test.ts",
      text: 'import "../../scripts/bench.ts";\n',
      message: "import of scripts/bench.ts: tests/ must not import scripts/",
    },
    {
      name: "scripts/ importing tests/",
      file: "scripts/bench.ts",
      text: 'import "../tests/service/bench_test.ts";\n',
      message: "import of tests/service/bench_test.ts: scripts/ must not import tests/",
    },
  ];
  for (const { name, file, text, message } of cases) {
    await t.step(name, async () => {
      const violations = await checkTree({ ...CLEAN, [file]: text });
      assert.deepEqual(violations.map((v) => [v.rule, v.file, v.line, v.message]), [
        ["tree", file, 1, message],
      ]);
    });
  }
});

Deno.test("checkImportRules() lets only tooling/mod.ts be imported from outside tooling/", async (t) => {
  await t.step("from a script", async () => {
    const violations = await checkTree({
      ...CLEAN,
      "scripts/bench.ts": 'import { harness } from "../tooling/harness.ts";\nharness;\n',
    });
    assert.deepEqual(violations.map(formatViolation), [
      "scripts/bench.ts:1: [entry] import of tooling/harness.ts: outside tooling/ only " +
      "tooling/mod.ts may be imported",
    ]);
  });
  await t.step("from a service test or a lib folder's unit test", async () => {
    const violations = await checkTree({
      ...CLEAN,
      "tests/service/harness_test.ts": 'import "../../tooling/harness.ts";\n',
      "tests/unit/a/harness_test.ts": 'import "../../../tooling/harness.ts";\n',
    });
    assert.deepEqual(violations.map((v) => [v.rule, v.file]), [
      ["entry", "tests/service/harness_test.ts"],
      ["entry", "tests/unit/a/harness_test.ts"],
    ]);
  });
  await t.step(
    "but a Worker of tooling/ named with new URL from lib/ is still an entry-point violation",
    async () => {
      const violations = await checkTree({
        ...CLEAN,
        "lib/b/inner.ts":
          'export const no = new URL("../../tooling/harness.ts", import.meta.url);\n',
      });
      assert.deepEqual(violations.map((v) => [v.rule, v.file]), [["entry", "lib/b/inner.ts"]]);
    },
  );
});

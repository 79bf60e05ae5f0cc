import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  drawFolderPicture,
  type FolderImports,
  main,
  PICTURE_BEGIN,
  PICTURE_END,
  pictureIn,
  readFolderImports,
  REDRAW_COMMAND,
  replacePicture,
} from "../../tooling/folder_picture.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Writes a tree of files to a temporary directory, runs `body` on it, then removes it. */
async function withTree<T>(
  files: Record<string, string>,
  body: (root: string) => Promise<T>,
): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "geoipmq-picture-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, path), text);
    }
    return await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function importsOf(entries: Record<string, string[]>): FolderImports {
  return new Map(Object.entries(entries).map(([from, to]) => [from, new Set(to)]));
}

Deno.test("docs/DESIGN.md's folder picture is the one the imports draw now", async () => {
  const document = await Deno.readTextFile(join(ROOT, "docs", "DESIGN.md"));
  const drawn = drawFolderPicture(await readFolderImports(ROOT));
  let found: string;
  try {
    found = pictureIn(document);
  } catch (error) {
    found = (error as Error).message;
  }
  assert.equal(
    found,
    "\n```text\n" + drawn + "```\n\n",
    `docs/DESIGN.md's folder picture is out of date: run \`${REDRAW_COMMAND}\``,
  );
});

Deno.test("drawFolderPicture() draws layers from the bottom, main.ts on top", () => {
  const picture = drawFolderPicture(importsOf({
    "main.ts": ["cli", "log"],
    cli: ["lookup", "log"],
    lookup: ["database", "protocol"],
    database: ["protocol"],
    protocol: [],
    log: [],
  }));
  assert.equal(
    picture,
    [
      "layer 0  log/",
      "         protocol/",
      "layer 1  database/  → protocol/",
      "layer 2  lookup/    → database/, protocol/",
      "layer 3  cli/       → log/, lookup/",
      "top      main.ts    → cli/, log/",
      "",
    ].join("\n"),
  );
});

Deno.test("drawFolderPicture() is the same whatever the order of its input", () => {
  const forward = importsOf({ a: ["b", "c"], b: ["c"], c: [] });
  const backward = importsOf({ c: [], b: ["c"], a: ["c", "b"] });
  assert.equal(drawFolderPicture(forward), drawFolderPicture(backward));
});

Deno.test("drawFolderPicture() shows folders in a loop apart, and ends", () => {
  const picture = drawFolderPicture(importsOf({ a: ["b"], b: ["a"], c: ["a"], d: [] }));
  assert.equal(
    picture,
    ["layer 0  d/", "loop     a/  → b/", "         b/  → a/", "         c/  → a/", ""].join("\n"),
  );
});

Deno.test("drawFolderPicture() wraps a long list of arrows under its first target", () => {
  const many = Array.from({ length: 10 }, (_, i) => `folder_${String(i).padStart(2, "0")}`);
  const imports = importsOf({ top: many, ...Object.fromEntries(many.map((f) => [f, []])) });
  const lines = drawFolderPicture(imports).trimEnd().split("\n");
  const rows = lines.slice(many.length);
  assert.equal(rows.length, 2);
  assert.ok(rows.every((line) => line.length <= 100), rows.join("\n"));
  assert.equal(rows[1]!.indexOf("folder_"), rows[0]!.indexOf("folder_00"));
  assert.equal(rows.join(" ").match(/folder_\d\d/g)?.length, many.length);
});

Deno.test("readFolderImports() reads lib/ folders and main.ts, not tests or scripts", async () => {
  const imports = await withTree({
    "main.ts": 'import { c } from "./lib/c/mod.ts";\nc;\n',
    "lib/a/mod.ts": "export const a = 1;\n",
    "lib/b/mod.ts": [
      'import { a } from "../a/mod.ts";',
      '// import "../c/mod.ts";',
      "export const b = a;",
      "",
    ].join("\n"),
    "lib/c/mod.ts": [
      'export { b } from "../b/mod.ts";',
      'export const w = new URL("../a/worker.ts", import.meta.url);',
      "export const c = 1;",
      "",
    ].join("\n"),
    "lib/c/inner.ts": 'import "./mod.ts";\n',
    "tests/unit/b_test.ts": 'import "../../lib/a/mod.ts";\n',
    "scripts/tool.ts": 'import "../lib/b/mod.ts";\n',
  }, readFolderImports);
  assert.deepEqual(
    [...imports].map(([from, to]) => [from, [...to].sort()]).sort(),
    [["a", []], ["b", ["a"]], ["c", ["a", "b"]], ["main.ts", ["c"]]],
  );
});

Deno.test("replacePicture() rewrites only the block between the markers", async (t) => {
  const document =
    `# Design\n\nintro\n\n${PICTURE_BEGIN}\n\`\`\`text\nold\n\`\`\`\n${PICTURE_END}\n\ntail\n`;
  await t.step("keeps the text around the block", () => {
    const redrawn = replacePicture(document, "new/\n");
    assert.equal(
      redrawn,
      `# Design\n\nintro\n\n${PICTURE_BEGIN}\n\n\`\`\`text\nnew/\n\`\`\`\n\n${PICTURE_END}\n\ntail\n`,
    );
    assert.equal(pictureIn(redrawn), "\n```text\nnew/\n```\n\n");
    assert.equal(replacePicture(redrawn, "new/\n"), redrawn);
  });
  await t.step("refuses a document without its markers", () => {
    assert.throws(() => replacePicture("# Design\n", "x\n"), /Cannot find the folder picture/);
    assert.throws(
      () => pictureIn(`${PICTURE_END}\n${PICTURE_BEGIN}\n`),
      /Cannot find the folder picture/,
    );
  });
});

Deno.test("folder_picture.ts --write redraws DESIGN.md, and its output is the picture", async () => {
  const files = {
    "main.ts": 'import "./lib/b/mod.ts";\n',
    "lib/a/mod.ts": "export const a = 1;\n",
    "lib/b/mod.ts": 'export { a } from "../a/mod.ts";\n',
    "docs/DESIGN.md": `# Design\n\n${PICTURE_BEGIN}\n${PICTURE_END}\n\nend\n`,
  };
  await withTree(files, async (root) => {
    const tool = fileURLToPath(new URL("../../tooling/folder_picture.ts", import.meta.url));
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", tool, ...args],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const picture = "layer 0  a/\nlayer 1  b/       → a/\ntop      main.ts  → b/\n";
    assert.equal(drawFolderPicture(await readFolderImports(root)), picture);

    const printed = await run([]); // The repository's own picture: the tool reads its root.
    assert.equal(printed.code, 0, new TextDecoder().decode(printed.stderr));
    assert.equal(
      new TextDecoder().decode(printed.stdout),
      drawFolderPicture(await readFolderImports(ROOT)),
    );

    assert.equal(await main(["--write"], root), 0);
    const written = await Deno.readTextFile(join(root, "docs", "DESIGN.md"));
    assert.equal(
      written,
      `# Design\n\n${PICTURE_BEGIN}\n\n\`\`\`text\n${picture}\`\`\`\n\n${PICTURE_END}\n\nend\n`,
    );

    // What --write leaves is as `deno fmt` keeps Markdown, so the check that CI runs passes.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--check", join(root, "docs", "DESIGN.md")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(fmt.code, 0, new TextDecoder().decode(fmt.stderr));

    const bad = await run(["--draw"]);
    assert.equal(bad.code, 2);
    assert.equal(new TextDecoder().decode(bad.stdout), "");
    assert.match(
      new TextDecoder().decode(bad.stderr),
      /^folder_picture: Unknown option '--draw' \(see --help\)\n$/,
    );
  });
});

Deno.test("folder_picture.ts --write says so when DESIGN.md has no markers", async () => {
  await withTree(
    { "lib/a/mod.ts": "export const a = 1;\n", "docs/DESIGN.md": "# Design\n" },
    async (root) => {
      const errors: string[] = [];
      const original = console.error;
      console.error = (text: string) => errors.push(text);
      try {
        assert.equal(await main(["--write"], root), 1);
      } finally {
        console.error = original;
      }
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /DESIGN\.md: Cannot find the folder picture/);
      assert.equal(await Deno.readTextFile(join(root, "docs", "DESIGN.md")), "# Design\n");
    },
  );
});

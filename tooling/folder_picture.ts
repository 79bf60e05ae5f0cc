#!/usr/bin/env -S deno run --allow-read --allow-write
/**
 * Draws the folders of `lib/` and their arrows (which folder imports which, through its
 * `mod.ts`) from the same references the import rules check
 * (`tooling/import_rules.ts`), so the picture in `docs/DESIGN.md` cannot drift from the
 * code. Layers are counted from the bottom: layer 0 holds the folders that import no
 * other folder of `lib/`, and a folder sits one layer above the highest folder it
 * imports. `main.ts` comes last, on top.
 *
 * ```sh
 * deno run --allow-read tooling/folder_picture.ts                  # print the picture
 * deno run --allow-read --allow-write tooling/folder_picture.ts --write  # redraw DESIGN.md's
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findReferences, libFolder, sourceFiles } from "./import_rules.ts";

/** The line in `docs/DESIGN.md` above the picture's fenced block. */
export const PICTURE_BEGIN =
  "<!-- folder picture: drawn by tooling/folder_picture.ts --write, not by hand -->";
/** The line in `docs/DESIGN.md` below the picture's fenced block. */
export const PICTURE_END = "<!-- end of folder picture -->";
/** The name of the importer that is not a folder of `lib/`. */
export const MAIN = "main.ts";
/** The command that redraws the picture in `docs/DESIGN.md`. */
export const REDRAW_COMMAND =
  "deno run --allow-read --allow-write tooling/folder_picture.ts --write";

/** Lines of the picture are wrapped before this column. */
const WIDTH = 100;

/** For each importer (a folder of `lib/`, or {@linkcode MAIN}), the `lib/` folders it imports. */
export type FolderImports = Map<string, Set<string>>;

/**
 * Reads the tree under `root` and returns which folder of `lib/` imports which, and which
 * folders `main.ts` imports. Every folder of `lib/` that holds a source file is a key,
 * even one that imports nothing.
 *
 * @example
 * ```ts ignore
 * const imports = await readFolderImports(Deno.cwd());
 * console.log([...imports.get("lookup") ?? []]); // ["database", "log", "metrics", "protocol"]
 * ```
 *
 * @param root the repository root (holds `lib/` and `main.ts`)
 * @returns the imports of each folder and of `main.ts`
 */
export async function readFolderImports(root: string): Promise<FolderImports> {
  const imports: FolderImports = new Map();
  for (const file of await sourceFiles(root)) {
    const from = file === MAIN ? MAIN : libFolder(file);
    if (from === undefined) continue;
    const targets = imports.get(from) ?? new Set<string>();
    imports.set(from, targets);
    const source = await Deno.readTextFile(join(root, file));
    for (const reference of findReferences(file, source)) {
      const to = libFolder(reference.to);
      if (to !== undefined && to !== from) targets.add(to);
    }
  }
  return imports;
}

/**
 * Draws the folders in layers from the bottom, one folder a line with the folders it
 * imports after an arrow. Folders that import each other in a loop (which the import
 * rules forbid) are drawn apart, under `loop`, so the picture still shows them.
 *
 * @example
 * ```ts
 * import { drawFolderPicture } from "./folder_picture.ts";
 * const picture = drawFolderPicture(
 *   new Map([
 *     ["main.ts", new Set(["cli"])],
 *     ["cli", new Set(["log"])],
 *     ["log", new Set<string>()],
 *   ]),
 * );
 * console.log(picture.split("\n")[0]); // "layer 0  log/"
 * ```
 *
 * @param imports what {@linkcode readFolderImports} returns
 * @returns the picture, lines ending with `\n`
 */
export function drawFolderPicture(imports: FolderImports): string {
  const folders = [...imports.keys()].filter((name) => name !== MAIN);
  for (const targets of imports.values()) {
    for (const target of targets) if (!folders.includes(target)) folders.push(target);
  }
  folders.sort();
  const layers = layersOf(folders, imports);
  const rows: [string, string, string[]][] = [];
  const maxLayer = Math.max(-1, ...layers.values());
  for (let layer = 0; layer <= maxLayer; layer++) {
    const members = folders.filter((folder) => layers.get(folder) === layer);
    members.forEach((folder, i) => {
      rows.push([i === 0 ? `layer ${layer}` : "", `${folder}/`, sortedTargets(imports, folder)]);
    });
  }
  const looped = folders.filter((folder) => !layers.has(folder));
  looped.forEach((folder, i) => {
    rows.push([i === 0 ? "loop" : "", `${folder}/`, sortedTargets(imports, folder)]);
  });
  if (imports.has(MAIN)) rows.push(["top", MAIN, sortedTargets(imports, MAIN)]);
  const labelWidth = Math.max(0, ...rows.map(([label]) => label.length)) + 2;
  const nameWidth = Math.max(0, ...rows.map(([, name]) => name.length)) + 2;
  return rows.map(([label, name, targets]) =>
    drawRow(label.padEnd(labelWidth) + name.padEnd(nameWidth), targets)
  ).join("");
}

/**
 * Puts `picture` in the fenced block between {@linkcode PICTURE_BEGIN} and
 * {@linkcode PICTURE_END} of `document`, keeping everything else.
 *
 * @example
 * ```ts
 * import { PICTURE_BEGIN, PICTURE_END, replacePicture } from "./folder_picture.ts";
 * const document = `# Design\n${PICTURE_BEGIN}\nold\n${PICTURE_END}\nmore\n`;
 * console.log(replacePicture(document, "log/\n").split("\n")[4]); // "log/"
 * ```
 *
 * @param document the text of `docs/DESIGN.md`
 * @param picture what {@linkcode drawFolderPicture} returns
 * @returns the document with the new picture
 * @throws {Error} when the document lacks either marker line, or has them out of order
 */
export function replacePicture(document: string, picture: string): string {
  const { before, after } = splitAtPicture(document);
  // Blank lines around the fence, as `deno fmt` keeps Markdown.
  return `${before}${PICTURE_BEGIN}\n\n\`\`\`text\n${picture}\`\`\`\n\n${PICTURE_END}${after}`;
}

/**
 * The text between the marker lines of `document`, as {@linkcode replacePicture} writes it.
 *
 * @example
 * ```ts
 * import { pictureIn, PICTURE_BEGIN, PICTURE_END } from "./folder_picture.ts";
 * const document = `${PICTURE_BEGIN}\n\n\`\`\`text\nlog/\n\`\`\`\n\n${PICTURE_END}\n`;
 * console.log(pictureIn(document)); // "\n```text\nlog/\n```\n\n"
 * ```
 *
 * @param document the text of `docs/DESIGN.md`
 * @returns the fenced block between the markers, with its fences
 * @throws {Error} when the document lacks either marker line, or has them out of order
 */
export function pictureIn(document: string): string {
  const { inside } = splitAtPicture(document);
  return inside;
}

/** The document before the begin marker, between the markers, and from the end marker on. */
function splitAtPicture(document: string): { before: string; inside: string; after: string } {
  const begin = document.indexOf(`${PICTURE_BEGIN}\n`);
  const end = document.indexOf(PICTURE_END, begin + 1);
  if (begin === -1 || end === -1) {
    throw new Error(
      `Cannot find the folder picture: the document needs the line "${PICTURE_BEGIN}" ` +
        `and, below it, the line "${PICTURE_END}"`,
    );
  }
  return {
    before: document.slice(0, begin),
    inside: document.slice(begin + PICTURE_BEGIN.length + 1, end),
    after: document.slice(end + PICTURE_END.length),
  };
}

/**
 * The layer of each folder: 0 when it imports no other folder, else one above the highest
 * folder it imports. Folders in a loop, and those above them, get none.
 */
function layersOf(folders: string[], imports: FolderImports): Map<string, number> {
  const layers = new Map<string, number>();
  for (let changed = true; changed;) {
    changed = false;
    for (const folder of folders) {
      if (layers.has(folder)) continue;
      const below = [...(imports.get(folder) ?? [])].map((target) => layers.get(target));
      if (below.some((layer) => layer === undefined)) continue;
      layers.set(folder, Math.max(-1, ...below as number[]) + 1);
      changed = true;
    }
  }
  return layers;
}

function sortedTargets(imports: FolderImports, from: string): string[] {
  return [...(imports.get(from) ?? [])].sort();
}

/** One row: its head, then `→ a/, b/, …` wrapped under the first target. */
function drawRow(head: string, targets: string[]): string {
  if (targets.length === 0) return `${head.trimEnd()}\n`;
  const lines: string[] = [];
  let line = `${head}→ `;
  const indent = " ".repeat(line.length);
  targets.forEach((target, i) => {
    const word = `${target}/${i < targets.length - 1 ? "," : ""}`;
    if (line.length + word.length > WIDTH && line.length > indent.length) {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${word} `;
  });
  lines.push(line.trimEnd());
  return lines.map((text) => `${text}\n`).join("");
}

const USAGE = `Usage: deno run --allow-read [--allow-write] tooling/folder_picture.ts [--write]

Draws lib/'s folders and their imports, in layers from the bottom.
  (no flag)  print the picture
  --write    redraw the picture in docs/DESIGN.md, between its marker lines
  --help     show this text`;

/**
 * The command line: prints the picture, or with `--write` redraws it in `docs/DESIGN.md`.
 *
 * @param args the command line arguments
 * @param root the repository root, by default the one holding this file
 * @returns the exit code: 0, 1 when `docs/DESIGN.md` cannot be redrawn, 2 on a bad argument
 */
export async function main(
  args: string[],
  root: string = fileURLToPath(new URL("..", import.meta.url)),
): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      options: { write: { type: "boolean" }, help: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    console.error(`folder_picture: ${(error as Error).message} (see --help)`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const picture = drawFolderPicture(await readFolderImports(root));
  if (!flags.write) {
    await Deno.stdout.write(new TextEncoder().encode(picture));
    return 0;
  }
  const path = join(root, "docs", "DESIGN.md");
  try {
    const document = await Deno.readTextFile(path);
    const redrawn = replacePicture(document, picture);
    if (redrawn !== document) await Deno.writeTextFile(path, redrawn);
    console.log(`${redrawn === document ? "Unchanged" : "Redrew the folder picture in"} ${path}`);
    return 0;
  } catch (error) {
    console.error(`folder_picture: ${path}: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

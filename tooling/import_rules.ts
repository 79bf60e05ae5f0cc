/**
 * Checks the import rules of the repository's layout:
 *
 * - **entry**: code outside a folder `lib/<folder>/` imports only `lib/<folder>/mod.ts`;
 *   unit tests under `tests/unit/<folder>/` may reach inside `lib/<folder>/`, and inside a
 *   folder anything goes (a Worker entry module is referenced with `new URL(...)` from
 *   there);
 * - **cycle**: the folders of `lib/` never import each other in a loop;
 * - **layer**: `lib/protocol`, `lib/database` and `lib/zmq` import nothing from
 *   `lib/service`, `lib/lookup_pool`, `lib/http_threads`, `lib/http`, `lib/cli` or
 *   `lib/client`;
 * - **tree**: `lib/` and `main.ts` import nothing from `tooling/`, `tests/` or `scripts/`;
 *   `tooling/` nothing from `tests/` or `scripts/`; `tests/` and `scripts/` nothing from
 *   each other (both import `tooling/` and `lib/`). A `new URL(…)` is not an import here: a
 *   test may name a script it runs as a process, and the tooling the C sources it builds;
 * - **entry** again for `tooling/`: code outside it imports only `tooling/mod.ts`, except
 *   the unit tests of `tooling/` (directly in `tests/unit/`, or under `tests/unit/tooling/`).
 *
 * It reads every `.ts` and `.mjs` file under `lib/`, `tooling/`, `tests/` and `scripts/`,
 * and `main.ts`, and follows the relative specifiers of static `import` and `export … from`,
 * of `import("…")`, and of `new URL("…", import.meta.url)`. Comments, template literals and
 * the insides of other strings are not read as code.
 *
 * @module
 */

import { dirname, join, normalize } from "node:path";

/** The folders below which nothing may import the folders in {@linkcode UPPER_FOLDERS}. */
export const LOWER_FOLDERS: readonly string[] = ["protocol", "database", "zmq"];
/** The service, its lookup pool and HTTP threads, and the folders that use them. */
export const UPPER_FOLDERS: readonly string[] = [
  "service",
  "lookup_pool",
  "http_threads",
  "http",
  "cli",
  "client",
];

/**
 * For each top-level part of the repository, the parts it must not import (`lib` stands for
 * `lib/` and `main.ts`).
 */
export const FORBIDDEN_PARTS: Readonly<Record<TreePart, readonly TreePart[]>> = {
  lib: ["tooling", "tests", "scripts"],
  tooling: ["tests", "scripts"],
  tests: ["scripts"],
  scripts: ["tests"],
};

/** A top-level part of the repository: `lib` holds `lib/` and `main.ts`. */
export type TreePart = "lib" | "tooling" | "tests" | "scripts";

/** One broken rule. */
export interface ImportViolation {
  /** Which rule. */
  rule: "entry" | "cycle" | "layer" | "tree";
  /** The importing file, relative to the root, with `/` separators. */
  file: string;
  /** The line of the import in that file (1-based). */
  line: number;
  /** One line saying what is wrong. */
  message: string;
}

/** How a module names another. */
export type ReferenceKind = "import" | "dynamic import" | "new URL";

/** One relative reference from a file to another. */
export interface Reference {
  from: string;
  to: string;
  line: number;
  kind: ReferenceKind;
}

/**
 * Reads the tree under `root` and reports every broken import rule.
 *
 * @example
 * ```ts ignore
 * const violations = await checkImportRules(Deno.cwd());
 * for (const v of violations) console.log(formatViolation(v));
 * ```
 *
 * @param root the repository root (holds `lib/`, `tooling/`, `tests/`, `scripts/`, `main.ts`)
 * @returns the violations, entry points first, then cycles, then layers, then the tree
 */
export async function checkImportRules(root: string): Promise<ImportViolation[]> {
  const files = await sourceFiles(root);
  const references: Reference[] = [];
  for (const file of files) {
    const source = await Deno.readTextFile(join(root, file));
    references.push(...findReferences(file, source));
  }
  return [
    ...entryPointViolations(references),
    ...cycleViolations(references),
    ...layerViolations(references),
    ...treeViolations(references),
  ];
}

/**
 * @param violation one violation
 * @returns `file:line: [rule] message`
 */
export function formatViolation(violation: ImportViolation): string {
  return `${violation.file}:${violation.line}: [${violation.rule}] ${violation.message}`;
}

/** The `.ts` and `.mjs` files to read, relative to `root`, `/`-separated. */
export async function sourceFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (directory: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(join(root, directory))];
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${directory}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && /\.(ts|mjs)$/.test(entry.name)) found.push(path);
    }
  };
  for (const directory of ["lib", "tooling", "tests", "scripts"]) await walk(directory);
  try {
    if ((await Deno.stat(join(root, "main.ts"))).isFile) found.push("main.ts");
  } catch {
    // No main.ts.
  }
  return found;
}

/** `lib/<folder>` of a path, or undefined outside lib/ (or directly in it). */
export function libFolder(path: string): string | undefined {
  return path.match(/^lib\/([^/]+)\/./)?.[1];
}

/**
 * Whether `file` is a unit test of `tooling/`: one directly in `tests/unit/` (the tests
 * there check the repository's own tools) or under `tests/unit/tooling/`. Like a lib
 * folder's own unit tests, it may reach past `tooling/mod.ts` (the repository's checks are
 * not in it: the size check loads the TypeScript compiler, which every user of `mod.ts`
 * would then load).
 */
function toolingUnitTest(file: string): boolean {
  return file.startsWith("tests/unit/tooling/") || /^tests\/unit\/[^/]+$/.test(file);
}

/** The top-level part a path belongs to, or undefined for anything else. */
function treePart(path: string): TreePart | undefined {
  if (path === "main.ts") return "lib";
  const top = path.split("/")[0];
  return top === "lib" || top === "tooling" || top === "tests" || top === "scripts"
    ? top
    : undefined;
}

function treeViolations(references: Reference[]): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const reference of references) {
    if (reference.kind === "new URL") continue;
    const from = treePart(reference.from);
    const to = treePart(reference.to);
    if (from === undefined || to === undefined || !FORBIDDEN_PARTS[from].includes(to)) continue;
    const who = from === "lib" ? "lib/ and main.ts" : `${from}/`;
    violations.push({
      rule: "tree",
      file: reference.from,
      line: reference.line,
      message: `${reference.kind} of ${reference.to}: ${who} must not import ${to}/`,
    });
  }
  return violations;
}

function entryPointViolations(references: Reference[]): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const reference of references) {
    if (
      reference.to.startsWith("tooling/") && !reference.from.startsWith("tooling/") &&
      reference.to !== "tooling/mod.ts" && !toolingUnitTest(reference.from)
    ) {
      violations.push({
        rule: "entry",
        file: reference.from,
        line: reference.line,
        message: `${reference.kind} of ${reference.to}: outside tooling/ only ` +
          "tooling/mod.ts may be imported",
      });
      continue;
    }
    const folder = libFolder(reference.to);
    if (folder === undefined || libFolder(reference.from) === folder) continue;
    if (reference.to === `lib/${folder}/mod.ts`) continue;
    if (reference.from.startsWith(`tests/unit/${folder}/`)) continue;
    violations.push({
      rule: "entry",
      file: reference.from,
      line: reference.line,
      message: `${reference.kind} of ${reference.to}: outside lib/${folder}/ only ` +
        `lib/${folder}/mod.ts may be imported`,
    });
  }
  return violations;
}

function layerViolations(references: Reference[]): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const reference of references) {
    const from = libFolder(reference.from);
    const to = libFolder(reference.to);
    if (from === undefined || to === undefined) continue;
    if (!LOWER_FOLDERS.includes(from) || !UPPER_FOLDERS.includes(to)) continue;
    violations.push({
      rule: "layer",
      file: reference.from,
      line: reference.line,
      message: `lib/${from} must not import lib/${to} (${reference.to})`,
    });
  }
  return violations;
}

/** One loop of folders a violation, named by the first import of each step. */
function cycleViolations(references: Reference[]): ImportViolation[] {
  // The first reference of each folder-to-folder edge, as the evidence for it.
  const edges = new Map<string, Map<string, Reference>>();
  for (const reference of references) {
    const from = libFolder(reference.from);
    const to = libFolder(reference.to);
    if (from === undefined || to === undefined || from === to) continue;
    const out = edges.get(from) ?? new Map<string, Reference>();
    if (!out.has(to)) out.set(to, reference);
    edges.set(from, out);
  }
  const violations: ImportViolation[] = [];
  for (const component of stronglyConnected(edges)) {
    if (component.length < 2) continue;
    const cycle = cycleWithin(component, edges);
    const steps = cycle.map((folder, i) => edges.get(folder)!.get(cycle[(i + 1) % cycle.length]!)!);
    const first = steps[0]!;
    violations.push({
      rule: "cycle",
      file: first.from,
      line: first.line,
      message: `lib folders import each other in a loop: ${
        [...cycle, cycle[0]!].map((folder) => `lib/${folder}`).join(" → ")
      } (${steps.map((step) => `${step.from}:${step.line}`).join(", ")})`,
    });
  }
  return violations;
}

/** Tarjan's strongly connected components, each sorted, in a stable order. */
function stronglyConnected(edges: Map<string, Map<string, Reference>>): string[][] {
  const nodes = [
    ...new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]),
  ]
    .sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of [...(edges.get(node)?.keys() ?? [])].sort()) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (let member = stack.pop()!;; member = stack.pop()!) {
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      components.push(component.sort());
    }
  };
  for (const node of nodes) if (!index.has(node)) visit(node);
  return components;
}

/** A shortest loop through the first folder of a strongly connected component. */
function cycleWithin(component: string[], edges: Map<string, Map<string, Reference>>): string[] {
  const start = component[0]!;
  const members = new Set(component);
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const next of [...(edges.get(node)?.keys() ?? [])].sort()) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return path;
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return component; // Not reached: a component of two or more folders has a loop.
}

/**
 * The relative references of one file.
 *
 * @param file the file, relative to the root
 * @param source its text
 * @returns the references, with their targets resolved relative to the root
 */
export function findReferences(file: string, source: string): Reference[] {
  const { code, literals } = maskSource(source);
  const patterns: [RegExp, ReferenceKind][] = [
    [/\bfrom\s*(["'])/g, "import"],
    [/\bimport\s*(["'])/g, "import"],
    [/\bimport\s*\(\s*(["'])/g, "dynamic import"],
    [/\bnew\s+URL\s*\(\s*(["'])/g, "new URL"],
  ];
  const references: Reference[] = [];
  for (const [pattern, kind] of patterns) {
    for (const match of code.matchAll(pattern)) {
      const quoteAt = match.index + match[0].length - 1;
      const specifier = literals.get(quoteAt);
      if (specifier === undefined || !/^\.\.?\//.test(specifier)) continue;
      if (
        kind === "new URL" && !/^\s*,\s*import\.meta\.url\s*\)/.test(code.slice(
          quoteAt + specifier.length + 2,
        ))
      ) continue;
      const to = normalize(join(dirname(file), specifier)).split("\\").join("/");
      if (to.startsWith("../")) continue;
      const line = code.slice(0, match.index).split("\n").length;
      references.push({ from: file, to, line, kind });
    }
  }
  return references.sort((a, b) => a.line - b.line);
}

/**
 * Blanks comments, template literals, regular expressions and the insides of strings,
 * keeping every position and line, and keeps the text of each plain string literal.
 */
function maskSource(source: string): { code: string; literals: Map<number, string> } {
  const out = source.split("");
  const literals = new Map<number, string>();
  const blank = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (out[i] !== "\n") out[i] = " ";
  };
  let previous = ""; // the last significant character of code
  let previousWord = "";
  const regexMayStart = () =>
    previous === "" || /[(,=:[!&|?{};+\-*%<>~^]/.test(previous) ||
    /^(return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/.test(previousWord);

  /** Scans a quoted string from its opening quote; returns the index after the closing one. */
  const string = (start: number): number => {
    const quote = source[start]!;
    let i = start + 1;
    while (i < source.length && source[i] !== quote && source[i] !== "\n") {
      i += source[i] === "\\" ? 2 : 1;
    }
    literals.set(start, source.slice(start + 1, i));
    blank(start + 1, i);
    return i + 1;
  };
  /** Scans a template literal from its backtick, nested `${…}` included. */
  const template = (start: number): number => {
    let i = start + 1;
    while (i < source.length && source[i] !== "`") {
      if (source[i] === "\\") i += 2;
      else if (source[i] === "$" && source[i + 1] === "{") i = expression(i + 2);
      else i++;
    }
    blank(start + 1, i);
    return i + 1;
  };
  /** Skips the code of a `${…}` up to its closing brace. */
  const expression = (start: number): number => {
    let depth = 1;
    let i = start;
    while (i < source.length && depth > 0) {
      const c = source[i]!;
      if (c === "'" || c === '"') i = string(i);
      else if (c === "`") i = template(i);
      else {
        if (c === "{") depth++;
        else if (c === "}") depth--;
        i++;
      }
    }
    return i;
  };
  /** Scans a regular expression literal from its first slash. */
  const regex = (start: number): number => {
    let i = start + 1;
    let inClass = false;
    while (i < source.length && source[i] !== "\n") {
      const c = source[i]!;
      if (c === "\\") i++;
      else if (c === "[") inClass = true;
      else if (c === "]") inClass = false;
      else if (c === "/" && !inClass) break;
      i++;
    }
    blank(start + 1, i);
    return i + 1;
  };

  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      i = string(i);
      previous = c;
      previousWord = "";
    } else if (c === "`") {
      i = template(i);
      previous = "`";
      previousWord = "";
    } else if (c === "/" && regexMayStart()) {
      i = regex(i);
      previous = "/";
      previousWord = "";
    } else if (/[A-Za-z_$0-9]/.test(c)) {
      const word = source.slice(i).match(/^[A-Za-z_$0-9]+/)![0];
      previous = word.at(-1)!;
      previousWord = word;
      i += word.length;
    } else {
      if (!/\s/.test(c)) {
        previous = c;
        previousWord = "";
      }
      i++;
    }
  }
  // Template literals and regular expressions leave no literal behind.
  return { code: out.join(""), literals };
}

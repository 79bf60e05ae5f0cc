/**
 * Checks the size limits of the code: no file in `lib/` longer than
 * {@linkcode MAX_FILE_LINES} lines, and no function, method, accessor or function-valued
 * expression in `lib/` or `scripts/` longer than {@linkcode MAX_FUNCTION_LINES} lines.
 *
 * A function is measured from the line of its first token to the line of its last,
 * with the functions nested in it counted in its length (a long function cannot shrink
 * by wrapping its body in a closure). It is parsed with the TypeScript compiler, so
 * strings, comments and template literals cannot confuse the count.
 *
 * @module
 */

import ts from "typescript";
import { join, relative } from "node:path";

/** The most lines a file under `lib/` may have. */
export const MAX_FILE_LINES = 450;
/** The most lines a function under `lib/` or `scripts/` may have. */
export const MAX_FUNCTION_LINES = 80;

/** One piece of code over its limit. */
export interface SizeViolation {
  /** A file or a function. */
  kind: "file" | "function";
  /** The file, relative to the root, with `/` separators. */
  file: string;
  /** The function's name as a reader would search for it (`Class.method`, `main`); the file's for a file. */
  name: string;
  /** Its first line (1-based). */
  line: number;
  /** How many lines it spans. */
  lines: number;
}

/**
 * Reads `lib/` and `scripts/` under `root` and reports every file and function over its
 * limit, longest first.
 *
 * @example
 * ```ts ignore
 * for (const v of await checkSizeLimits(Deno.cwd())) console.log(formatSizeViolation(v));
 * ```
 *
 * @param root the repository root
 * @returns the violations, longest first
 */
export async function checkSizeLimits(root: string): Promise<SizeViolation[]> {
  const violations: SizeViolation[] = [];
  for (const folder of ["lib", "scripts"]) {
    for (const path of await sourceFiles(join(root, folder))) {
      const file = relative(root, path).replaceAll("\\", "/");
      const text = await Deno.readTextFile(path);
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      if (folder === "lib" && lines > MAX_FILE_LINES) {
        violations.push({ kind: "file", file, name: file, line: 1, lines });
      }
      violations.push(...longFunctions(file, text));
    }
  }
  return violations.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
}

/**
 * One line for a violation: `lib/x.ts:12 Service.start is 97 lines (at most 80)`.
 *
 * @example
 * ```ts
 * import { formatSizeViolation } from "./house_limits.ts";
 * const text = formatSizeViolation({ kind: "function", file: "lib/a.ts", name: "f", line: 3, lines: 90 });
 * if (text !== "lib/a.ts:3 f is 90 lines (at most 80)") throw new Error(text);
 * ```
 *
 * @param violation what is over its limit
 * @returns the line
 */
export function formatSizeViolation(violation: SizeViolation): string {
  const limit = violation.kind === "file" ? MAX_FILE_LINES : MAX_FUNCTION_LINES;
  const what = violation.kind === "file" ? "the file" : violation.name;
  return `${violation.file}:${violation.line} ${what} is ${violation.lines} lines (at most ${limit})`;
}

/**
 * The functions of one source text longer than {@linkcode MAX_FUNCTION_LINES}.
 *
 * @example
 * ```ts
 * import { longFunctions } from "./house_limits.ts";
 * const body = Array.from({ length: 90 }, (_, i) => `  const v${i} = ${i};`).join("\n");
 * const found = longFunctions("a.ts", `function big() {\n${body}\n}\nfunction small() {}\n`);
 * if (found.length !== 1 || found[0]?.name !== "big" || found[0].lines !== 92) throw new Error("miscounted");
 * ```
 *
 * @param file the file's name, for the report
 * @param text its TypeScript source
 * @returns the long functions, in the order they appear
 */
export function longFunctions(file: string, text: string): SizeViolation[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: SizeViolation[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > MAX_FUNCTION_LINES) {
        found.push({ kind: "function", file, name: functionName(node), line: first + 1, lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The name a reader would search for: `Class.method`, `name`, or where an anonymous one sits. */
function functionName(node: ts.Node): string {
  const own = (node as { name?: ts.Node }).name;
  let name = own !== undefined ? own.getText() : "";
  if (name === "" && node.parent !== undefined) {
    const parent = node.parent;
    if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) {
      name = parent.name.getText();
    } else if (ts.isPropertyDeclaration(parent)) name = parent.name.getText();
    else {name = `(anonymous, line ${
        node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1
      })`;}
  }
  if (ts.isConstructorDeclaration(node)) name = "constructor";
  const owner = enclosingClass(node);
  return owner === undefined ? name : `${owner}.${name}`;
}

function enclosingClass(node: ts.Node): string | undefined {
  for (let at = node.parent; at !== undefined; at = at.parent) {
    if (ts.isClassLike(at)) return at.name?.getText() ?? "(class)";
    if (ts.isFunctionLike(at)) return undefined;
  }
  return undefined;
}

async function sourceFiles(directory: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for await (const entry of Deno.readDir(at)) {
      const path = join(at, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && /\.(ts|mts)$/.test(entry.name)) files.push(path);
    }
  };
  await walk(directory);
  return files.sort();
}

if (import.meta.main) {
  const violations = await checkSizeLimits(Deno.cwd());
  for (const violation of violations) console.log(formatSizeViolation(violation));
  console.log(`${violations.length} over the limits`);
}

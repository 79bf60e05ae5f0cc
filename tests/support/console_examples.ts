/**
 * The shell examples of the docs, as tests: every ```console block of a page is a shell
 * session of `$ command` lines, each followed by its exact output, which ends at a blank
 * line, at the next `$ ` line or at the end of the block. This module finds them, runs a
 * command with bash the way a reader would, and compares its output after normalising only
 * what truly varies from one run to the next.
 *
 * Normalisation (applied alike to the text in the docs and to the real output):
 *
 * - the ports actually used are written back as `127.0.0.1:8080` (HTTP) and
 *   `tcp://127.0.0.1:5555` (ZeroMQ), the ones the docs show;
 * - metric values that count or measure the run: samples of `*_total`, `*_bucket`, `*_sum`,
 *   `*_count`, `geoipmq_workers_alive` and `geoipmq_database_age_seconds` become `<n>`;
 * - the worker count in `with N workers` becomes `<n>`;
 * - times of the run: the values of the JSON keys `started_at`, `time` and
 *   `uptime_seconds` become `<time>`;
 * - the counters of `info`'s `cache` object (`hits`, `misses`, `entries`, `bytes`, `max_bytes`) become
 *   `<n>`;
 * - version numbers (three dot-separated numbers, not part of an address) become
 *   `<version>`;
 * - CURVE keys (40 Z85 characters standing alone) become `<key>`;
 * - the place of Deno's cache, where the bundled database lives (everything before
 *   `/npm/registry.npmjs.org/`), becomes `<deno-dir>`.
 *
 * @module
 */

/** One `$ command` of a page and the output the page shows for it. */
export interface ConsoleExample {
  /** The page's 1-based line number of the `$ ` line. */
  line: number;
  /** The command, without `$ `. */
  command: string;
  /** The output lines shown under it. */
  expected: string[];
}

/** The ports a page's service really listens on. */
export interface ServicePorts {
  /** The HTTP port, shown as 8080. */
  http: number;
  /** The ZeroMQ port, shown as 5555. */
  zmq: number;
}

const SHOWN_HTTP = "127.0.0.1:8080";
const SHOWN_ZMQ = "tcp://127.0.0.1:5555";

/**
 * Finds the examples of every ```console block of a Markdown page.
 *
 * @example
 * ```ts
 * const page = "```console\n$ echo hi\nhi\n```\n";
 * console.log(consoleExamples(page)); // [{ line: 2, command: "echo hi", expected: ["hi"] }]
 * ```
 *
 * @param markdown the page
 * @returns the examples, in page order
 * @throws {SyntaxError} for a console block with a line that belongs to no command, or a
 *   console block that is not closed
 */
export function consoleExamples(markdown: string): ConsoleExample[] {
  const lines = markdown.split("\n");
  const examples: ConsoleExample[] = [];
  let inConsole = false;
  let fence = "";
  let current: ConsoleExample | undefined;
  let opened = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (!inConsole) {
      const open = text.match(/^(\s*)(`{3,})console\s*$/);
      if (open) {
        inConsole = true;
        fence = open[2]!;
        opened = i + 1;
        current = undefined;
      }
      continue;
    }
    if (text.trim() === fence) {
      inConsole = false;
      continue;
    }
    if (text.startsWith("$ ")) {
      current = { line: i + 1, command: text.slice(2), expected: [] };
      examples.push(current);
    } else if (text.trim() === "") {
      current = undefined;
    } else if (current !== undefined) {
      current.expected.push(text);
    } else {
      throw new SyntaxError(
        `line ${i + 1}: "${text}" in a console block is neither "$ command" nor its output`,
      );
    }
  }
  if (inConsole) throw new SyntaxError(`line ${opened}: a console block that is not closed`);
  return examples;
}

/**
 * Writes a command for the service really running: the ports shown in the docs become the
 * ports in use.
 *
 * @param command the command as the docs show it
 * @param ports the ports in use
 * @returns the command to run
 */
export function commandFor(command: string, ports: ServicePorts): string {
  return command
    .replaceAll(SHOWN_ZMQ, `tcp://127.0.0.1:${ports.zmq}`)
    .replaceAll(SHOWN_HTTP, `127.0.0.1:${ports.http}`);
}

/**
 * Normalises output as the module's rules say; the ports in use are written back first.
 *
 * @example
 * ```ts
 * const ports = { http: 40123, zmq: 40124 };
 * console.log(normaliseOutput("geoipmq_up 1\ngeoipmq_workers_alive 2", ports));
 * // "geoipmq_up 1\ngeoipmq_workers_alive <n>"
 * ```
 *
 * @param text output, real or as the docs show it
 * @param ports the ports in use, written back as 8080 and 5555
 * @returns the text with what varies between runs replaced by placeholders
 */
export function normaliseOutput(text: string, ports: ServicePorts): string {
  return text
    .replaceAll(`tcp://127.0.0.1:${ports.zmq}`, SHOWN_ZMQ)
    .replaceAll(`127.0.0.1:${ports.http}`, SHOWN_HTTP)
    .replace(
      /^(geoipmq_\w+?(?:_total|_bucket|_sum|_count)(?:\{[^}\n]*\})?|geoipmq_workers_alive|geoipmq_database_age_seconds) \S+$/gm,
      "$1 <n>",
    )
    .replace(/\bwith \d+ workers\b/g, "with <n> workers")
    .replace(/("(?:started_at|time)":\s*)"[^"]*"/g, '$1"<time>"')
    .replace(/("uptime_seconds":\s*)\d+/g, "$1<time>")
    .replace(/("(?:hits|misses|entries|bytes|max_bytes)":\s*)\d+/g, "$1<n>")
    .replace(/(?<![\w.])\d+\.\d+\.\d+(?![\w.])/g, "<version>")
    .replace(/(?<=^|\s)[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}(?=\s|$)/gm, "<key>")
    .replace(/[^"\s=]*\/npm\/registry\.npmjs\.org\//g, "<deno-dir>/npm/registry.npmjs.org/");
}

/** Options for {@linkcode runCommand}. */
export interface RunCommandOptions {
  /** The directory the command runs in. */
  cwd: string;
  /** Environment variables on top of this process's. */
  env: Record<string, string>;
  /** How long it may run before it is killed (default 30 s). */
  timeoutMs?: number;
}

/**
 * Runs one command line with bash, its stderr merged into its stdout as on a terminal.
 *
 * @param command the command line
 * @param options the directory, environment and time limit
 * @returns the output; a command killed for its time limit says so at the end
 */
export async function runCommand(command: string, options: RunCommandOptions): Promise<string> {
  const child = new Deno.Command("bash", {
    args: ["-c", `exec 2>&1\n${command}`],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }, options.timeoutMs ?? 30_000);
  try {
    const output = await child.output();
    const text = new TextDecoder().decode(output.stdout);
    return output.signal === "SIGKILL" ? `${text}[killed after its time limit]\n` : text;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The lines of output a reader sees: the text split at line breaks, without the break
 * after the last line.
 *
 * @param text the output
 * @returns its lines
 */
export function outputLines(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

/**
 * A line diff of what the docs show against what the command printed, or undefined when
 * they agree.
 *
 * @example
 * ```ts
 * console.log(lineDiff(["a", "b"], ["a", "c"])); // "  a\n- b\n+ c"
 * ```
 *
 * @param expected the lines in the docs
 * @param actual the lines printed
 * @returns `  ` for a line in both, `- ` for a line only in the docs, `+ ` for one only
 *   printed
 */
export function lineDiff(expected: string[], actual: string[]): string | undefined {
  if (expected.length === actual.length && expected.every((line, i) => line === actual[i])) {
    return undefined;
  }
  // Longest common subsequence, from the end; outputs are short.
  const rows = expected.length + 1;
  const columns = actual.length + 1;
  const common = new Array<number>(rows * columns).fill(0);
  for (let i = expected.length - 1; i >= 0; i--) {
    for (let j = actual.length - 1; j >= 0; j--) {
      common[i * columns + j] = expected[i] === actual[j]
        ? common[(i + 1) * columns + j + 1]! + 1
        : Math.max(common[(i + 1) * columns + j]!, common[i * columns + j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < expected.length || j < actual.length) {
    if (i < expected.length && j < actual.length && expected[i] === actual[j]) {
      out.push(`  ${expected[i++]}`);
      j++;
    } else if (
      j < actual.length &&
      (i === expected.length || common[i * columns + j + 1]! > common[(i + 1) * columns + j]!)
    ) {
      out.push(`+ ${actual[j++]}`);
    } else {
      out.push(`- ${expected[i++]}`);
    }
  }
  return out.join("\n");
}

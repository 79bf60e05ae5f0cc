/**
 * `--log-format json` (and `GEOIPMQ_LOG_FORMAT`) of the real service process: one JSON
 * object per line on stderr for every event, from start to stop.
 *
 * @module
 */

import assert from "node:assert/strict";
import { VERSION } from "../../lib/service/mod.ts";
import {
  letteredDatabase,
  linesMatching,
  replaceAtomically,
  settleAfterReady,
  waitForNewLine,
} from "../support/live_service.ts";
import {
  runService,
  type ServiceProcess,
  startService,
  STOPPED_LINE,
} from "../support/service_process.ts";

const ALPHA_EPOCH = 1_700_000_000;
const BRAVO_EPOCH = 1_750_000_000;
/** The events of a start and of one reload by SIGHUP, in order. */
const STARTED_AND_RELOADED = ["start", "ready", "sighup", "reloaded"];
/** The events of a stop by signal. */
const STOPPED = ["stop", "stopped"];

/** One JSON log line, with the fields every line has. */
interface LogEvent {
  time: string;
  level: string;
  event: string;
  message: string;
  [field: string]: unknown;
}

/**
 * Parses the service's JSON log lines, checking the fields every line must have. Deno's
 * own notices (not from the service) are left out; no line may be in the text format.
 */
function jsonEvents(lines: string[]): LogEvent[] {
  for (const line of lines) {
    assert.ok(!line.startsWith("geoipmq:"), `a text line in the JSON log: ${line}`);
  }
  return lines.filter((line) => line.startsWith("{")).map((line) => {
    const event = JSON.parse(line) as LogEvent;
    assert.equal(typeof event, "object", line);
    assert.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(Math.abs(Date.parse(event.time) - Date.now()) < 600_000, `a recent time: ${line}`);
    assert.ok(["info", "warn", "error"].includes(event.level), line);
    assert.match(event.event, /^[a-z-]+$/, line);
    assert.equal(typeof event.message, "string", line);
    assert.ok(event.message.length > 0 && !event.message.includes("\n"), line);
    return event;
  });
}

function only(events: LogEvent[], name: string): LogEvent {
  const found = events.filter((event) => event.event === name);
  assert.equal(found.length, 1, `one "${name}" event in ${JSON.stringify(events)}`);
  return found[0]!;
}

function startOn(path: string, extra: string[], env: Record<string, string> = {}) {
  return startService(
    ["--db", path, "--bind", "tcp://127.0.0.1:*", "--workers", "2", ...extra],
    { env },
  );
}

async function inDatabaseDirectory(body: (path: string) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-log-" });
  try {
    const path = `${directory}/GeoIP2-City.mmdb`;
    await Deno.writeFile(path, letteredDatabase("Alpha", ALPHA_EPOCH));
    await body(path);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

async function stopAndCheckExit(service: ServiceProcess, signal: Deno.Signal): Promise<void> {
  const status = await service.stop(signal);
  assert.equal(status.code, 0, service.log.join("\n"));
}

Deno.test(
  "--log-format json writes one JSON object per line for start, ready, reloads and stop",
  async () => {
    await inDatabaseDirectory(async (path) => {
      await using service = await startOn(path, ["--log-format", "json"]);
      const ready = /"event":"ready"/;
      assert.equal(linesMatching(service, ready).length, 1);

      await replaceAtomically(path, letteredDatabase("Bravo", BRAVO_EPOCH));
      Deno.kill(service.pid, "SIGHUP");
      await waitForNewLine(service, /"event":"reloaded"/, 0);
      await Deno.writeFile(path, new TextEncoder().encode("not a database"));
      Deno.kill(service.pid, "SIGHUP");
      await waitForNewLine(service, /"event":"reload-failed"/, 0);
      await stopAndCheckExit(service, "SIGTERM");

      const events = jsonEvents(service.log);
      assert.deepEqual(events.map((event) => event.event), [
        ...STARTED_AND_RELOADED,
        "sighup",
        "reload-failed",
        ...STOPPED,
      ]);
      const start = only(events, "start");
      assert.equal(start.level, "info");
      assert.equal(start.version, VERSION);

      const readyEvent = only(events, "ready");
      assert.equal(readyEvent.level, "info");
      assert.match(readyEvent.message, /^ready on tcp:\/\/127\.0\.0\.1:\d+ with 2 workers/);
      assert.deepEqual(readyEvent.endpoints, [service.endpoint]);
      assert.equal(readyEvent.workers, 2);
      assert.equal(readyEvent.database, path);
      assert.equal(readyEvent.database_type, "GeoIP2-City");
      assert.equal(readyEvent.build_epoch, ALPHA_EPOCH);

      const reloaded = only(events, "reloaded");
      assert.equal(reloaded.level, "info");
      assert.equal(reloaded.database, path);
      assert.equal(reloaded.build_epoch, BRAVO_EPOCH);
      assert.match(reloaded.message, /^reloaded: serving GeoIP2-City built 2025-06-15 from /);

      const failed = only(events, "reload-failed");
      assert.equal(failed.level, "error");
      assert.equal(failed.database, path);
      assert.ok(
        failed.message.startsWith(
          `reload failed, still serving the old database: Cannot open database "${path}": `,
        ),
        failed.message,
      );

      const stop = only(events, "stop");
      assert.equal(stop.level, "info");
      assert.equal(stop.signal, "SIGTERM");
      assert.match(
        only(events, "stopped").message,
        /^stopped \(\d+ requests? in flight answered, 0 left unanswered\)$/,
      );
    });
  },
);

Deno.test("GEOIPMQ_LOG_FORMAT=json chooses the JSON lines, and the flag wins over it", async (t) => {
  await inDatabaseDirectory(async (path) => {
    await t.step("the variable alone", async () => {
      await using service = await startOn(path, [], { GEOIPMQ_LOG_FORMAT: "json" });
      await settleAfterReady(service);
      await stopAndCheckExit(service, "SIGINT");
      const events = jsonEvents(service.log);
      assert.deepEqual(events.map((event) => event.event), [
        ...STARTED_AND_RELOADED,
        ...STOPPED,
      ]);
      assert.equal(only(events, "stop").signal, "SIGINT");
    });
    await t.step("--log-format text over the variable", async () => {
      await using service = await startOn(path, ["--log-format", "text"], {
        GEOIPMQ_LOG_FORMAT: "json",
      });
      await settleAfterReady(service);
      await stopAndCheckExit(service, "SIGTERM");
      const own = service.log.filter((line) => line.startsWith("geoipmq: "));
      assert.ok(own.length >= 4, service.log.join("\n"));
      assert.ok(!service.log.some((line) => line.startsWith("{")), service.log.join("\n"));
      assert.match(service.log.at(-1) ?? "", STOPPED_LINE);
    });
  });
});

Deno.test("a start-up failure in the JSON format is one JSON error line and exit 1", async () => {
  const result = await runService(["--log-format", "json", "--db", "/nonexistent/City.mmdb"]);
  assert.equal(result.code, 1, result.stderr);
  const events = jsonEvents(result.stderr.split("\n").filter((line) => line !== ""));
  assert.deepEqual(events.map((event) => [event.level, event.event]), [
    ["info", "start"],
    ["error", "failed"],
  ]);
  assert.equal(
    events[1]!.message,
    'Cannot open database "/nonexistent/City.mmdb": no such file',
  );
});

Deno.test("a bad log format exits 2 with one line", async (t) => {
  const cases: [string, string[], Record<string, string>, string][] = [
    ["--log-format xml", ["--log-format", "xml"], {}, 'got "xml"'],
    ["GEOIPMQ_LOG_FORMAT=yaml", [], { GEOIPMQ_LOG_FORMAT: "yaml" }, 'got "yaml"'],
    ["--log-format JSON (case matters)", ["--log-format", "JSON"], {}, 'got "JSON"'],
  ];
  for (const [name, args, env, got] of cases) {
    await t.step(name, async () => {
      const result = await runService(args, env);
      assert.equal(result.code, 2, result.stderr);
      const own = result.stderr.split("\n").filter((line) => line.startsWith("geoipmq:"));
      assert.deepEqual(own, [`geoipmq: --log-format must be text or json, ${got}`]);
    });
  }
  await t.step("--log-format without a value", async () => {
    const result = await runService(["--log-format"]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^geoipmq: --log-format needs a value$/m);
  });
});

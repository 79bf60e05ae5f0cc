import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";

const UNIT_DIRECTORY = new URL("../../deploy/systemd/", import.meta.url).pathname;
const UNITS = [
  "geoipmq.service",
  "geoipmq-broker.service",
  "geoipupdate.service",
  "geoipupdate.timer",
];
const decoder = new TextDecoder();

/** A unit file: each section's settings in order; a key may repeat. */
type Unit = Map<string, [string, string][]>;

/**
 * Reads a unit file the way systemd does for these files: `[Section]` headers, `Key=Value`
 * lines, `#` and `;` comments, a trailing backslash continuing a line.
 */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: [string, string][] | undefined;
  const lines = text.replaceAll(/\\\n/g, " ").split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = line.match(/^\[([A-Za-z]+)\]$/);
    if (header) {
      section = [];
      unit.set(header[1]!, section);
      continue;
    }
    const setting = line.match(/^([A-Za-z0-9]+)=(.*)$/);
    assert.ok(setting && section, `line ${index + 1} is a setting in a section: ${raw}`);
    section.push([setting[1]!, setting[2]!.trim()]);
  }
  return unit;
}

function readUnit(name: string): Unit {
  return parseUnit(Deno.readTextFileSync(join(UNIT_DIRECTORY, name)));
}

/** Every value of a key in a section. */
function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** The one value of a key (the last, as systemd uses it), or undefined. */
function value(unit: Unit, section: string, key: string): string | undefined {
  return values(unit, section, key).at(-1);
}

/** A systemd time span ("5s", "1min 30s", "10") in seconds. */
function seconds(span: string): number {
  const units: Record<string, number> = { "": 1, s: 1, sec: 1, ms: 0.001, m: 60, min: 60, h: 3600 };
  let total = 0;
  for (const [, number, unit] of span.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) {
    assert.ok(unit! in units, `time unit "${unit}" in "${span}"`);
    total += Number(number) * units[unit!]!;
  }
  return total;
}

Deno.test("deploy/systemd/geoipmq.service runs the binary hardened, reloads with SIGHUP, stops with SIGTERM", () => {
  const unit = readUnit("geoipmq.service");
  const service = (key: string) => value(unit, "Service", key);

  assert.ok(["exec", "simple"].includes(service("Type")!), "Type=exec or simple");
  assert.equal(
    service("ExecStart"),
    "/usr/local/bin/geoipmq --db /var/lib/GeoIP/GeoLite2-City.mmdb --bind tcp://127.0.0.1:5555",
  );
  assert.deepEqual(values(unit, "Service", "EnvironmentFile"), ["-/etc/default/geoipmq"]);
  assert.equal(service("ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(service("Restart"), "on-failure");
  const restartSec = seconds(service("RestartSec") ?? "0");
  assert.ok(restartSec >= 1 && restartSec <= 60, `RestartSec=${restartSec}s`);
  assert.equal(service("RestartPreventExitStatus"), "2", "no restart after a usage error");
  assert.equal(service("KillSignal"), "SIGTERM");
  assert.equal(seconds(service("TimeoutStopSec")!), 10);
  assert.ok(
    values(unit, "Service", "Environment").includes("DENO_DIR=/tmp/deno"),
    "Deno's cache in the private /tmp",
  );

  const hardening: Record<string, string> = {
    DynamicUser: "yes",
    NoNewPrivileges: "yes",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    PrivateDevices: "yes",
    ProtectKernelTunables: "yes",
    ProtectKernelModules: "yes",
    ProtectKernelLogs: "yes",
    ProtectControlGroups: "yes",
    RestrictNamespaces: "yes",
    LockPersonality: "yes",
    SystemCallArchitectures: "native",
    CapabilityBoundingSet: "",
    AmbientCapabilities: "",
    ReadOnlyPaths: "-/var/lib/GeoIP",
  };
  for (const [key, expected] of Object.entries(hardening)) {
    assert.equal(service(key), expected, `${key}=${expected}`);
  }
  // libzmq aborts on bind when it cannot open a netlink socket (see the unit's comment).
  assert.deepEqual(
    service("RestrictAddressFamilies")!.split(/\s+/).sort(),
    ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"],
  );
  assert.deepEqual(values(unit, "Service", "MemoryDenyWriteExecute"), [], "V8 JIT-compiles");
  assert.deepEqual(values(unit, "Service", "SystemCallFilter"), []);
  assert.deepEqual(values(unit, "Install", "WantedBy"), ["multi-user.target"]);
});

Deno.test("deploy/systemd/geoipupdate.service and .timer update the databases twice a week, then reload geoipmq", () => {
  const service = readUnit("geoipupdate.service");
  assert.equal(value(service, "Service", "Type"), "oneshot");
  assert.match(value(service, "Service", "ExecStart")!, /^\/usr\/bin\/geoipupdate\b/);
  assert.deepEqual(values(service, "Service", "ExecStartPost"), [
    "+/bin/systemctl try-reload-or-restart geoipmq.service",
  ]);
  assert.equal(value(service, "Service", "ProtectSystem"), "strict");
  assert.equal(value(service, "Service", "ReadWritePaths"), "/var/lib/GeoIP");
  assert.equal(value(service, "Unit", "ConditionPathExists"), "/etc/GeoIP.conf");
  assert.deepEqual(values(service, "Install", "WantedBy"), [], "started by the timer only");

  const timer = readUnit("geoipupdate.timer");
  const calendar = values(timer, "Timer", "OnCalendar");
  assert.equal(calendar.length, 1);
  assert.match(calendar[0]!, /^[A-Z][a-z]{2},[A-Z][a-z]{2} /, "two days a week");
  assert.equal(value(timer, "Timer", "Persistent"), "true");
  assert.equal(value(timer, "Timer", "Unit"), undefined, "runs geoipupdate.service by name");
  assert.deepEqual(values(timer, "Install", "WantedBy"), ["timers.target"]);
});

Deno.test("systemd-analyze verify accepts the three units without a warning", async () => {
  if (!await commandWorks("systemd-analyze", ["--version"])) {
    if (skipForMissingTool("systemd-analyze (Debian package systemd)")) return;
  }
  // verify checks that every Exec*= program exists and is executable: the copies run stand-in
  // scripts from the temporary directory instead of /usr/local/bin/geoipmq and the others.
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-units-" });
  try {
    await Deno.mkdir(join(directory, "bin"));
    for (const name of UNITS) {
      const text = await Deno.readTextFile(join(UNIT_DIRECTORY, name));
      const rewritten = text.replaceAll(
        /^(Exec[A-Za-z]*=[-+@!:|]*)(\/\S+)/gm,
        (_, setting: string, program: string) => {
          const stand_in = join(directory, "bin", basename(program));
          Deno.writeTextFileSync(stand_in, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
          return setting + stand_in;
        },
      );
      await Deno.writeTextFile(join(directory, name), rewritten);
    }
    const output = await new Deno.Command("systemd-analyze", {
      // --man=no: the Documentation= man pages need not be installed here.
      args: ["verify", "--man=no", ...UNITS.map((name) => join(directory, name))],
      stdin: "null",
    }).output();
    const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
    // Complaints about the host's own units are not ours.
    const ours = text.split("\n").filter((line) =>
      line.trim() !== "" && !/^\/(usr\/)?lib\/systemd\/|^\/etc\/systemd\/|^\/run\//.test(line)
    );
    assert.deepEqual(ours, [], text);
    assert.equal(output.code, 0, text);

    // The timer's schedule, shown in UTC so that the days are those of the schedule.
    const schedule = value(readUnit("geoipupdate.timer"), "Timer", "OnCalendar")!;
    const calendar = await new Deno.Command("systemd-analyze", {
      args: ["calendar", "--iterations=4", schedule],
      env: { TZ: "UTC" },
      stdin: "null",
    }).output();
    const next = decoder.decode(calendar.stdout);
    assert.equal(calendar.code, 0, next);
    const days = [...next.matchAll(/^\s*(?:Next elapse|Iter\. #\d+): (\w{3}) /gm)].map((m) => m[1]);
    assert.deepEqual(days.sort(), ["Sat", "Sat", "Wed", "Wed"], next);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

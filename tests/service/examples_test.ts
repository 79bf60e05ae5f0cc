import assert from "node:assert/strict";
import { type CommandOutput, commandOutput } from "../../tooling/mod.ts";
import { cityFixture, LONDON_TSV, withTempFile, writeTempFile } from "../support/fixtures.ts";
import { commandWorks, skipForMissingTool } from "../support/required_tool.ts";
import { startService } from "../support/service_process.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;
const CLIENTS = [
  {
    name: "Python",
    program: "/usr/bin/python3",
    check: ["-c", "import zmq"],
    install: "apt-get install python3-zmq",
    args: (endpoint: string) => [`${EXAMPLES}geoip_client.py`, "--endpoint", endpoint],
  },
  {
    name: "Ruby",
    program: "ruby",
    check: ["-e", 'require "ffi-rzmq"'],
    install: "apt-get install ruby ruby-ffi-rzmq",
    args: (endpoint: string) => [`${EXAMPLES}geoip_client.rb`, endpoint],
  },
];

function run(program: string, args: string[]): Promise<CommandOutput> {
  return commandOutput(program, { args });
}

for (const client of CLIENTS) {
  Deno.test(`the ${client.name} example client asks the service and times out on a dead one`, async () => {
    if (!await commandWorks(client.program, client.check)) {
      if (skipForMissingTool(`${client.program} with its ZeroMQ library (${client.install})`)) {
        return;
      }
    }
    await withTempFile(cityFixture(), async (path) => {
      await using service = await startService(["--db", path, "--bind", "tcp://127.0.0.1:*"]);
      const answered = await run(client.program, [
        ...client.args(service.endpoint),
        "81.2.69.160",
        "8.8.8.8",
        "bogus",
      ]);
      assert.equal(answered.code, 0, answered.stderr);
      assert.deepEqual(answered.stdout.trimEnd().split("\n"), [
        `81.2.69.160\t${LONDON_TSV}`,
        "8.8.8.8\tNOT_FOUND",
        'bogus\tERROR\tinvalid IP address "bogus"',
      ]);
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const dead = `tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
      listener.close();
      const started = performance.now();
      const unanswered = await run(client.program, [...client.args(dead), "81.2.69.160"]);
      assert.equal(unanswered.code, 1);
      assert.match(unanswered.stderr, /no reply from tcp:\/\/127\.0\.0\.1:\d+/);
      assert.ok(performance.now() - started < 15_000, "it gave up in bounded time");
    });
  });
}

for (const client of CLIENTS) {
  Deno.test(`the ${client.name} example client reaches a service on an IPv6 endpoint`, async () => {
    if (!await commandWorks(client.program, client.check)) {
      if (skipForMissingTool(`${client.program} with its ZeroMQ library (${client.install})`)) {
        return;
      }
    }
    const path = await writeTempFile(cityFixture());
    try {
      await using service = await startService(["--db", path, "--bind", "tcp://[::1]:*"]);
      assert.match(service.endpoint, /^tcp:\/\/\[::1\]:\d+$/);
      const answered = await run(client.program, [...client.args(service.endpoint), "81.2.69.160"]);
      assert.equal(answered.code, 0, answered.stderr);
      assert.equal(answered.stdout, `81.2.69.160\t${LONDON_TSV}\n`);
    } finally {
      await Deno.remove(path);
    }
  });
}

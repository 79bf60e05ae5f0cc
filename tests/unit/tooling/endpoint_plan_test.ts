import assert from "node:assert/strict";
import { planEndpoints, reachable } from "../../../tooling/endpoint_plan.ts";

/** The port of a `tcp://host:port` endpoint. */
function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
}

Deno.test("planEndpoints() binds a free loopback port when nothing is bound", () => {
  const plan = planEndpoints(["--db", "city.mmdb"], {});
  assert.equal(plan.args[0], "--bind");
  assert.match(plan.args[1]!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(plan.args.slice(2), ["--db", "city.mmdb"]);
  assert.deepEqual(plan.endpoints, [plan.args[1]]);
  assert.ok(portOf(plan.endpoints[0]!) > 0);
  assert.equal(plan.chosePorts, true);
  assert.equal(plan.connectOnly, false);
});

Deno.test("planEndpoints() fills the * of each --bind, in both forms, and keeps the rest", () => {
  const plan = planEndpoints(
    ["--bind", "tcp://127.0.0.1:*", "--bind=tcp://[::1]:*", "--bind", "ipc:///tmp/g.sock"],
    {},
  );
  assert.equal(plan.endpoints.length, 3);
  assert.match(plan.endpoints[0]!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.match(plan.endpoints[1]!, /^tcp:\/\/\[::1\]:\d+$/);
  assert.equal(plan.endpoints[2], "ipc:///tmp/g.sock");
  assert.equal(plan.args[2], `--bind=${plan.endpoints[1]}`);
  assert.equal(plan.chosePorts, true);
});

Deno.test("planEndpoints() leaves given ports alone and chooses none", () => {
  const plan = planEndpoints(["--bind", "tcp://127.0.0.1:5555"], {});
  assert.deepEqual(plan.endpoints, ["tcp://127.0.0.1:5555"]);
  assert.equal(plan.chosePorts, false);
});

Deno.test("planEndpoints() reads GEOIPMQ_BIND and writes the chosen ports back to it", () => {
  const plan = planEndpoints([], { GEOIPMQ_BIND: " tcp://127.0.0.1:* , tcp://127.0.0.1:6000" });
  assert.equal(plan.endpoints.length, 2);
  assert.equal(plan.env.GEOIPMQ_BIND, plan.endpoints.join(","));
  assert.deepEqual(plan.args, []);
});

Deno.test("planEndpoints() binds nothing for --connect alone", () => {
  for (
    const [args, env] of [[["--connect", "tcp://127.0.0.1:7000"], {}], [[], {
      GEOIPMQ_CONNECT: "tcp://127.0.0.1:7000",
    }]] as const
  ) {
    const plan = planEndpoints(args, env);
    assert.deepEqual(plan.endpoints, []);
    assert.equal(plan.connectOnly, true);
  }
});

Deno.test("planEndpoints() asks /healthz over plain HTTP on a known port only", () => {
  const bind = ["--bind", "tcp://127.0.0.1:5555"];
  const cases: [string[], Record<string, string>, string | undefined][] = [
    [[...bind, "--http", "0.0.0.0:8080"], {}, "http://127.0.0.1:8080/healthz"],
    [[...bind, "--http", "127.0.0.2:8080"], {}, "http://127.0.0.2:8080/healthz"],
    [bind, { GEOIPMQ_HTTP: ":8081" }, "http://127.0.0.1:8081/healthz"],
    [[...bind, "--http", "127.0.0.1:0"], {}, undefined],
    [[...bind, "--http", "127.0.0.1:8443", "--http-tls-cert", "c.pem"], {}, undefined],
    [bind, {}, undefined],
  ];
  for (const [args, env, healthz] of cases) {
    assert.equal(planEndpoints(args, env).healthz, healthz, args.join(" "));
  }
});

Deno.test("planEndpoints() knows when CURVE is on", () => {
  const bind = ["--bind", "tcp://127.0.0.1:5555"];
  assert.equal(planEndpoints([...bind, "--curve-secret-key-file", "k"], {}).curve, true);
  assert.equal(planEndpoints(bind, { GEOIPMQ_CURVE_SECRET_KEY_FILE: "k" }).curve, true);
  assert.equal(planEndpoints(bind, {}).curve, false);
});

Deno.test("reachable() turns a bind on every interface into loopback", () => {
  assert.equal(reachable("tcp://0.0.0.0:5555"), "tcp://127.0.0.1:5555");
  assert.equal(reachable("tcp://*:5555"), "tcp://127.0.0.1:5555");
  assert.equal(reachable("tcp://[::]:5555"), "tcp://[::1]:5555");
  assert.equal(reachable("tcp://127.0.0.2:5555"), "tcp://127.0.0.2:5555");
});

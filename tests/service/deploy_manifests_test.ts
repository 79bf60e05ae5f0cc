/**
 * The files under `deploy/`: the Kubernetes manifests validated offline against the
 * Kubernetes schemas (npm `kubernetes-models`), and checked against each other and the
 * image (ports, probes, user, volume, grace period, selectors); the compose file parsed and
 * checked for the fields that make it work; and the geoipupdate loop of the compose file
 * run with a stand-in `geoipupdate`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Service } from "kubernetes-models/v1";
import { parse, parseAllDocuments } from "yaml";
import { VERSION } from "../../lib/service/mod.ts";
import { commandOutput, IMAGE_USER, startTaskPermissions } from "../../tooling/mod.ts";
import { exitWithin, sleep, waitFor } from "../support/live_service.ts";

const DEPLOY = fileURLToPath(new URL("../../deploy/", import.meta.url));
const KUBERNETES = join(DEPLOY, "kubernetes");
const COMPOSE = join(DEPLOY, "compose");
const CONTAINERFILE = join(DEPLOY, "Containerfile");

// deno-lint-ignore no-explicit-any
type Json = any;

/** A Kubernetes object checked by its schema: `validate()` throws on a violation. */
interface Validatable {
  validate(): void;
}

/** The classes of `kubernetes-models` for the kinds deploy/kubernetes may hold. */
const MODELS: Record<string, (object: Json) => Validatable> = {
  "apps/v1 Deployment": (object) => new Deployment(object),
  "v1 Service": (object) => new Service(object),
  "policy/v1 PodDisruptionBudget": (object) => new PodDisruptionBudget(object),
  "autoscaling/v2 HorizontalPodAutoscaler": (object) => new HorizontalPodAutoscaler(object),
};

/** Every object of every file the kustomization lists, by file. */
function kubernetesObjects(): Map<string, Json[]> {
  const kustomization = parse(Deno.readTextFileSync(join(KUBERNETES, "kustomization.yaml")));
  const objects = new Map<string, Json[]>();
  for (const file of kustomization.resources as string[]) {
    const documents = parseAllDocuments(Deno.readTextFileSync(join(KUBERNETES, file)));
    objects.set(
      file,
      documents.map((document) => {
        assert.deepEqual(document.errors, [], `${file} is YAML`);
        return document.toJS();
      }),
    );
  }
  return objects;
}

/** The one object of a kind, with its file. */
function one(kind: string, name?: string): Json {
  const found = [...kubernetesObjects().values()].flat().filter((object) =>
    object.kind === kind && (name === undefined || object.metadata?.name === name)
  );
  assert.equal(found.length, 1, `one ${kind} ${name ?? ""}`);
  return found[0];
}

/** A Kubernetes quantity ("320Mi", "1", "500m") in bytes or cores. */
function quantity(text: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(text));
  assert.ok(match, `a quantity: ${text}`);
  const scale: Record<string, number> = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(match[1]) * (match[2] === undefined ? 1 : scale[match[2]]!);
}

/** Whether every label of `selector` is on `labels`. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

Deno.test("deploy/Containerfile runs deno run with the flags of deno task start, from the image's DENO_DIR only", () => {
  const containerfile = Deno.readTextFileSync(CONTAINERFILE);
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(containerfile)?.[1];
  assert.ok(entrypoint, "an ENTRYPOINT in exec form");
  assert.deepEqual(JSON.parse(entrypoint), [
    "/usr/local/bin/deno",
    "run",
    "--cached-only",
    "--frozen",
    ...startTaskPermissions(),
    "/opt/geoipmq/main.ts",
  ]);
  assert.match(containerfile, /^FROM scratch$/m);
  assert.match(containerfile, /DENO_DIR=\/opt\/geoipmq\/deno-dir/);
});

Deno.test("deploy/kubernetes: the kustomization lists every manifest, and each passes the Kubernetes schema", () => {
  const listed = [...kubernetesObjects().keys()].sort();
  const present = [...Deno.readDirSync(KUBERNETES)]
    .map((entry) => entry.name)
    .filter((name) => name.endsWith(".yaml") && name !== "kustomization.yaml")
    .sort();
  assert.deepEqual(listed, present);
  for (const [file, objects] of kubernetesObjects()) {
    for (const object of objects) {
      const model = MODELS[`${object.apiVersion} ${object.kind}`];
      assert.ok(model, `${file}: a known kind, not ${object.apiVersion} ${object.kind}`);
      assert.doesNotThrow(() => model(object).validate(), `${file}: ${object.kind}`);
    }
  }
  const kustomization = parse(Deno.readTextFileSync(join(KUBERNETES, "kustomization.yaml")));
  assert.deepEqual(kustomization.images, [{
    name: "geoipmq",
    newName: "geoipmq",
    newTag: VERSION,
  }]);
});

Deno.test("deploy/kubernetes: the schema check catches a wrong type and a missing field", () => {
  const deployment = one("Deployment");
  const wrongType = structuredClone(deployment);
  wrongType.spec.template.spec.containers[0].ports[0].containerPort = "5555";
  assert.throws(() => new Deployment(wrongType).validate(), /containerPort must be integer/);
  const missing = structuredClone(deployment);
  delete missing.spec.selector;
  assert.throws(() => new Deployment(missing).validate(), /selector/);
});

Deno.test("deploy/kubernetes: the Deployment runs the image as built, probes /healthz, drains within its grace", () => {
  const deployment = one("Deployment", "geoipmq");
  const pod = deployment.spec.template.spec;
  const labels = deployment.spec.template.metadata.labels;
  assert.ok(selects(deployment.spec.selector.matchLabels, labels));
  const service = pod.containers.find((container: Json) => container.name === "geoipmq");
  assert.equal(service.image, "geoipmq");

  // The image's user, ports and read-only root (deploy/Containerfile).
  const containerfile = Deno.readTextFileSync(CONTAINERFILE);
  assert.match(containerfile, new RegExp(`^USER ${IMAGE_USER.id}:${IMAGE_USER.id}$`, "m"));
  assert.match(containerfile, /^EXPOSE 5555\/tcp 8080\/tcp$/m);
  assert.deepEqual(
    [pod.securityContext.runAsNonRoot, pod.securityContext.runAsUser],
    [true, IMAGE_USER.id],
  );
  // Every container, geoipupdate too: the pod's non-root user, read-only, no capabilities.
  for (const container of [...pod.initContainers, ...pod.containers]) {
    const security = container.securityContext;
    assert.equal(security.readOnlyRootFilesystem, true, container.name);
    assert.equal(security.allowPrivilegeEscalation, false, container.name);
    assert.deepEqual(security.capabilities.drop, ["ALL"], container.name);
    assert.ok(security.runAsUser !== 0 && security.runAsNonRoot !== false, container.name);
  }
  assert.deepEqual(
    service.ports.map((port: Json) => [port.name, port.containerPort]),
    [["zmq", 5555], ["http", 8080]],
  );

  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    assert.deepEqual(service[probe].httpGet, { path: "/healthz", port: "http" }, probe);
  }

  // Resources: the request covers the RSS measured at the peak of a reload under load
  // (262 MiB; docs/OPERATIONS.md), the limit is above the request, workers fit the CPUs.
  const { requests, limits } = service.resources;
  assert.ok(quantity(requests.memory) >= 262 * 1024 ** 2, requests.memory);
  assert.ok(quantity(limits.memory) > quantity(requests.memory));
  const workers = service.env.find((variable: Json) => variable.name === "GEOIPMQ_WORKERS");
  assert.ok(Number(workers.value) <= quantity(limits.cpu), "a worker per CPU at most");
  assert.ok(quantity(requests.cpu) > 0, "a CPU request, for the autoscaler");

  // The grace period covers the preStop pause, the ZeroMQ drain (2 s) and HTTP (3 s).
  const pause = service.lifecycle.preStop.sleep.seconds;
  assert.ok(pod.terminationGracePeriodSeconds >= pause + 2 + 3 + 5, "a grace with margin");

  // The database: --db names a file on the volume that geoipupdate fills, --watch reloads.
  const db = service.args[service.args.indexOf("--db") + 1];
  assert.ok(service.args.includes("--watch"));
  const mount = service.volumeMounts.find((m: Json) => db.startsWith(m.mountPath + "/"));
  assert.ok(mount, `--db ${db} is on a mounted volume`);
  assert.equal(mount.readOnly, true);
  const updaters = [...pod.initContainers, ...pod.containers].filter((container: Json) =>
    container.name === "geoipupdate"
  );
  assert.equal(updaters.length, 2, "geoipupdate once before the service, then beside it");
  for (const updater of updaters) {
    const shared = updater.volumeMounts.find((m: Json) => m.name === mount.name);
    assert.ok(shared && shared.readOnly !== true, "geoipupdate writes the same volume");
    const editions = updater.env.find((v: Json) => v.name === "GEOIPUPDATE_EDITION_IDS");
    assert.ok(db.endsWith(`/${editions.value}.mmdb`), `${db} is the edition fetched`);
  }
  const sidecar = pod.containers.find((container: Json) => container.name === "geoipupdate");
  const frequency = sidecar.env.find((v: Json) => v.name === "GEOIPUPDATE_FREQUENCY");
  assert.ok(Number(frequency.value) > 0, "the sidecar keeps looking");
  assert.ok(!pod.initContainers[0].env.some((v: Json) => v.name === "GEOIPUPDATE_FREQUENCY"));
});

Deno.test("deploy/kubernetes: Services, disruption budget and autoscaler point at the Deployment's pods", () => {
  const deployment = one("Deployment", "geoipmq");
  const labels = deployment.spec.template.metadata.labels;
  const http = one("Service", "geoipmq-http");
  assert.ok(selects(http.spec.selector, labels));
  assert.deepEqual(http.spec.ports.map((port: Json) => port.targetPort), ["http"]);
  const zmq = one("Service", "geoipmq-zmq");
  assert.equal(zmq.spec.clusterIP, "None", "headless: DNS lists every pod");
  assert.equal(zmq.spec.publishNotReadyAddresses, false);
  assert.ok(selects(zmq.spec.selector, labels));
  assert.deepEqual(zmq.spec.ports.map((port: Json) => [port.port, port.targetPort]), [
    [5555, "zmq"],
  ]);

  const budget = one("PodDisruptionBudget");
  assert.ok(selects(budget.spec.selector.matchLabels, labels));
  const autoscaler = one("HorizontalPodAutoscaler");
  assert.deepEqual(autoscaler.spec.scaleTargetRef, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: "geoipmq",
  });
  assert.ok(budget.spec.maxUnavailable < autoscaler.spec.minReplicas, "one may go, one stays");
  assert.deepEqual(autoscaler.spec.metrics.map((metric: Json) => metric.resource.name), ["cpu"]);
});

/** deploy/compose/compose.yaml, parsed. */
function compose(): Json {
  return parse(Deno.readTextFileSync(join(COMPOSE, "compose.yaml")));
}

Deno.test("deploy/compose: geoipmq reads read-only what Debian's geoipupdate writes, on loopback ports", () => {
  const { services, volumes } = compose();
  assert.deepEqual(Object.keys(services).sort(), ["geoipmq", "geoipupdate"]);
  const geoipmq = services.geoipmq;
  assert.equal(geoipmq.image, `geoipmq:${VERSION}`);
  assert.equal(geoipmq.user, `${IMAGE_USER.id}:${IMAGE_USER.id}`);
  assert.equal(geoipmq.read_only, true);
  assert.deepEqual(geoipmq.cap_drop, ["ALL"]);
  assert.equal(geoipmq.stop_signal, "SIGTERM");
  assert.deepEqual(geoipmq.ports, ["127.0.0.1:5555:5555", "127.0.0.1:8080:8080"]);
  assert.deepEqual(geoipmq.depends_on, { geoipupdate: { condition: "service_healthy" } });

  const db = geoipmq.command[geoipmq.command.indexOf("--db") + 1];
  assert.ok(geoipmq.command.includes("--watch"));
  const [volume, directory, mode] = geoipmq.volumes[0].split(":");
  assert.ok(volume in volumes, `${volume} is a named volume`);
  assert.ok(db.startsWith(`${directory}/`), `--db ${db} is on the volume`);
  assert.equal(mode, "ro");

  const updater = services.geoipupdate;
  assert.deepEqual(updater.volumes, [`${volume}:${directory}`]);
  assert.equal(updater.read_only, true);
  assert.deepEqual(updater.healthcheck.test, ["CMD", "test", "-s", db]);
  assert.ok(db.endsWith(`/${updater.environment.GEOIPUPDATE_EDITION_IDS}.mmdb`));
  const containerfile = Deno.readTextFileSync(join(COMPOSE, updater.build.dockerfile));
  assert.match(containerfile, /^FROM docker\.io\/library\/debian:/m);
  assert.match(containerfile, /apt-get install .*\bgeoipupdate\b/);
  assert.match(containerfile, /Components: main contrib/, "geoipupdate is in Debian's contrib");
  assert.match(containerfile, /^USER 10001:10001$/m);
});

Deno.test("deploy/compose: the geoipupdate loop writes a private GeoIP.conf, runs now and every N hours, exits 0 on SIGTERM", async (t) => {
  const directory = await Deno.makeTempDir({ prefix: "geoipmq-geoipupdate-" });
  try {
    const bin = join(directory, "bin");
    await Deno.mkdir(bin);
    // A stand-in geoipupdate: records its arguments and the configuration it was given.
    await Deno.writeTextFile(
      join(bin, "geoipupdate"),
      `#!/bin/sh\nprintf '%s\\n' "$@" > "${directory}/args"\ncp "$3" "${directory}/seen.conf"\n`,
      { mode: 0o755 },
    );
    const env = {
      PATH: `${bin}:/usr/bin:/bin`,
      TMPDIR: directory,
      GEOIPUPDATE_ACCOUNT_ID: "123456",
      GEOIPUPDATE_LICENSE_KEY: "not-a-key",
      GEOIPUPDATE_EDITION_IDS: "GeoLite2-City GeoLite2-ASN",
      GEOIPUPDATE_DB_DIR: join(directory, "GeoIP"),
    };
    const script = join(COMPOSE, "geoipupdate_loop.sh");

    await t.step("runs geoipupdate at once, then waits; SIGTERM ends it with 0", async () => {
      const child = new Deno.Command("sh", {
        args: [script],
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let stdout = "";
      const reading = (async () => {
        for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
          stdout += text;
        }
      })();
      await waitFor(
        "geoipupdate to have run",
        () => /up to date; next look in 12 hours/.test(stdout) ? true : undefined,
      );
      const conf = join(directory, "GeoIP.conf");
      assert.deepEqual(Deno.readTextFileSync(join(directory, "args")).trim().split("\n"), [
        "-v",
        "-f",
        conf,
        "-d",
        env.GEOIPUPDATE_DB_DIR,
      ]);
      assert.equal(
        Deno.readTextFileSync(join(directory, "seen.conf")),
        "AccountID 123456\nLicenseKey not-a-key\nEditionIDs GeoLite2-City GeoLite2-ASN\n",
      );
      assert.equal(Deno.statSync(conf).mode! & 0o777, 0o600);
      child.kill("SIGTERM");
      const exit = await exitWithin(child.status, 10_000);
      assert.ok(exit !== null, "exits within 10 s of SIGTERM");
      assert.equal(exit.status.code, 0);
      // Its output ends: no sleep of it is left holding the pipe.
      const ended = await Promise.race([reading.then(() => true), sleep(5000).then(() => false)]);
      assert.ok(ended, "nothing the loop started outlives it");
    });

    await t.step("a frequency that is not a whole number of hours is refused", async () => {
      const { code, stderr } = await commandOutput("sh", {
        args: [script],
        env: { ...env, GEOIPUPDATE_FREQUENCY: "1.5" },
        clearEnv: true,
      });
      assert.equal(code, 2);
      assert.match(stderr, /GEOIPUPDATE_FREQUENCY must be a whole number of hours, not "1\.5"/);
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

import assert from "node:assert/strict";
import {
  DURATION_BUCKETS_MICROS,
  REQUEST_VERBS,
  ServiceMetrics,
} from "../../../lib/metrics/mod.ts";
import { HUGE_MICROS, type MetricsWorkerSetup, recordPlan } from "../../support/metrics_worker.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;

/** Parses one sample line, `name{label="value",...} value`, strictly. */
function parseSample(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new Error(`no metric name: ${JSON.stringify(line)}`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      const label = LABEL_NAME.exec(line.slice(i))?.[0];
      if (label === undefined || line.slice(i + label.length, i + label.length + 2) !== '="') {
        throw new Error(`bad label at ${i}: ${JSON.stringify(line)}`);
      }
      i += label.length + 2;
      let value = "";
      for (;;) {
        const c = line[i++];
        if (c === undefined) throw new Error(`unterminated label value: ${JSON.stringify(line)}`);
        if (c === '"') break;
        if (c === "\\") {
          const escaped = line[i++];
          if (escaped === "n") value += "\n";
          else if (escaped === "\\" || escaped === '"') value += escaped;
          else throw new Error(`bad escape \\${escaped}: ${JSON.stringify(line)}`);
        } else {
          value += c;
        }
      }
      assert.equal(labels[label], undefined, `label ${label} twice`);
      labels[label] = value;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") throw new Error(`expected , or }: ${JSON.stringify(line)}`);
    }
    i++;
  }
  if (line[i] !== " ") throw new Error(`expected one space before the value: ${line}`);
  const text = line.slice(i + 1);
  if (!VALUE.test(text)) throw new Error(`bad value ${JSON.stringify(text)}: ${line}`);
  return { name, labels, value: Number(text.replace("Inf", "Infinity")) };
}

/** Parses the text exposition format 0.0.4, checking HELP and TYPE come before samples. */
function parseExposition(text: string): Exposition {
  assert.ok(text.endsWith("\n"), "the text ends with a line break");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const finished = new Set<string>();
  let current = "";
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment !== null) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      if (kind === "HELP") {
        assert.ok(!helps.has(name), `one HELP for ${name}`);
        helps.add(name);
      } else {
        assert.match(rest, /^(counter|gauge|histogram)$/);
        assert.ok(!types.has(name), `one TYPE for ${name}`);
        types.set(name, rest);
      }
      if (current !== name) finished.add(current);
      current = name;
      continue;
    }
    assert.ok(!line.startsWith("#"), `a comment that is neither HELP nor TYPE: ${line}`);
    const sample = parseSample(line);
    const family = types.get(sample.name) !== undefined
      ? sample.name
      : sample.name.replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(family), `a TYPE line before ${sample.name}`);
    assert.equal(family, current, `${sample.name} is inside its family`);
    assert.ok(!finished.has(family), `${family} is contiguous`);
    if (family !== sample.name) assert.equal(types.get(family), "histogram");
    samples.push(sample);
  }
  for (const name of types.keys()) assert.ok(helps.has(name), `a HELP for ${name}`);
  return { samples, types };
}

function find(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const matches = exposition.samples.filter((s) =>
    s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels)
  );
  assert.equal(matches.length, 1, `one sample ${name} ${JSON.stringify(labels)}`);
  return matches[0]!.value;
}

async function runWorkers(metrics: ServiceMetrics, workers: number, requests: number) {
  const go = new SharedArrayBuffer(4);
  const started: Worker[] = [];
  try {
    const events: Promise<void>[] = [];
    const ready: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(new URL("../../support/metrics_worker.ts", import.meta.url), {
        type: "module",
      });
      started.push(worker);
      const { promise: isReady, resolve: setReady } = Promise.withResolvers<void>();
      const { promise: isDone, resolve: setDone, reject } = Promise.withResolvers<void>();
      worker.onmessage = (event) => event.data === "ready" ? setReady() : setDone();
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      const setup: MetricsWorkerSetup = { metrics: metrics.buffer, go, requests };
      worker.postMessage(setup);
      ready.push(isReady);
      events.push(isDone);
    }
    await Promise.all(ready);
    Atomics.store(new Int32Array(go), 0, 1);
    Atomics.notify(new Int32Array(go), 0);
    await Promise.all(events);
  } finally {
    for (const worker of started) worker.terminate();
  }
}

Deno.test("counts made in two Workers add up exactly on the main thread", async () => {
  const requests = 30_000;
  const metrics = ServiceMetrics.create({ version: "0.0.0" });
  await runWorkers(metrics, 2, requests);

  const expected = ServiceMetrics.create({ version: "0.0.0" });
  recordPlan(expected, requests);
  recordPlan(expected, requests);
  const got = metrics.snapshot();
  assert.deepEqual(got, expected.snapshot());

  const zmq = got.requests.zmq;
  const total = REQUEST_VERBS.reduce((n, v) => n + zmq[v].ok + zmq[v].error, 0);
  assert.equal(total, 2 * requests);
  // geoip is every sixth verb of the plan, and every third request is an error.
  assert.equal(REQUEST_VERBS.length, 6);
  assert.equal(zmq.geoip.error, 2 * Math.ceil(requests / 6));
  assert.equal(got.lookups.zmq.found, 2 * requests);
  assert.equal(got.lookups.zmq.not_found, requests);
  assert.equal(got.cache.hits, 2 * requests);
  assert.equal(got.duration.zmq.count, 2 * requests);
  let sum = 0;
  for (let i = 0; i < requests; i++) sum += i % 1000 === 999 ? HUGE_MICROS : (i * 37) % 3000;
  assert.ok(2 * sum > 2 ** 36, "the sum's low word wrapped many times");
  assert.equal(got.duration.zmq.sumMicros, 2 * sum);
});

Deno.test("the latency histogram is cumulative, inclusive and matches its count", () => {
  const metrics = ServiceMetrics.create({ version: "0.0.0" });
  const latencies = [0, 0.4, 25, 25.4, 26, 999, 1000, 1_000_000, 1_000_001, HUGE_MICROS, -5, NaN];
  for (const micros of latencies) metrics.recordRequest("json", "ok", micros, "http");
  const duration = metrics.snapshot().duration.http;
  assert.equal(duration.cumulative.length, DURATION_BUCKETS_MICROS.length + 1);
  assert.equal(duration.cumulative[0], 6, "0, 0.4, 25, 25.4 (rounded), -5 and NaN are ≤ 25 µs");
  assert.equal(duration.cumulative[1], 7, "26 µs");
  assert.equal(duration.cumulative[DURATION_BUCKETS_MICROS.indexOf(1000)], 9);
  assert.equal(duration.cumulative[DURATION_BUCKETS_MICROS.length - 1], 10, "1 s is ≤ 1 s");
  assert.equal(duration.count, latencies.length);
  assert.equal(duration.sumMicros, 25 + 25 + 26 + 999 + 1000 + 1_000_000 + 1_000_001 + HUGE_MICROS);

  const text = parseExposition(metrics.renderPrometheus());
  const http = { transport: "http" };
  const buckets = text.samples.filter((s) =>
    s.name === "geoipmq_request_duration_seconds_bucket" && s.labels.transport === "http"
  );
  assert.deepEqual(
    buckets.map((s) => s.labels.le),
    [...DURATION_BUCKETS_MICROS.map((us) => String(us / 1e6)), "+Inf"],
  );
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
  assert.equal(buckets.at(-1)!.value, find(text, "geoipmq_request_duration_seconds_count", http));
  assert.equal(find(text, "geoipmq_request_duration_seconds_count", http), latencies.length);
  assert.equal(find(text, "geoipmq_request_duration_seconds_sum", http), duration.sumMicros / 1e6);
  assert.equal(find(text, "geoipmq_request_duration_seconds_count", { transport: "zmq" }), 0);
  assert.equal(
    find(text, "geoipmq_requests_total", { transport: "http", verb: "json", outcome: "ok" }),
    12,
  );
  assert.equal(
    find(text, "geoipmq_requests_total", { transport: "zmq", verb: "json", outcome: "ok" }),
    0,
  );
});

Deno.test("the exposition text parses, with every family and escaped labels", () => {
  const metrics = ServiceMetrics.create({ version: '1.2.3-"x"' });
  const path = 'C:\\GeoIP\\"new"\nfile.mmdb';
  const buildEpoch = 1_700_000_000;
  metrics.setDatabases([{ type: "GeoLite2-City", path, buildEpoch }]);
  metrics.setWorkersAlive(3);
  metrics.recordRequest("geoip", "ok", 40);
  metrics.recordRequest("invalid", "error", 10);
  metrics.recordLookups(3, 2, 1, 1);
  metrics.recordCache(4, 5);
  metrics.recordReload("success");
  metrics.recordReload("failure");
  metrics.recordReload("failure");
  metrics.recordLimited("rate");
  metrics.recordLimited("rate", "http");
  metrics.recordLimited("inbound_bytes");
  const nowMs = (buildEpoch + 86_400) * 1000 + 500;
  const rendered = metrics.renderPrometheus(nowMs);
  const zmq = { transport: "zmq" };
  assert.ok(rendered.includes('database="C:\\\\GeoIP\\\\\\"new\\"\\nfile.mmdb"'), rendered);
  const text = parseExposition(rendered);

  assert.deepEqual(Object.fromEntries(text.types), {
    geoipmq_up: "gauge",
    geoipmq_build_info: "gauge",
    geoipmq_requests_total: "counter",
    geoipmq_lookups_total: "counter",
    geoipmq_cache_hits_total: "counter",
    geoipmq_cache_misses_total: "counter",
    geoipmq_request_duration_seconds: "histogram",
    geoipmq_reloads_total: "counter",
    geoipmq_limited_total: "counter",
    geoipmq_workers_alive: "gauge",
    geoipmq_http_connections: "gauge",
    geoipmq_http_connections_dropped_total: "counter",
    geoipmq_http_accept_failures_total: "counter",
    geoipmq_database_info: "gauge",
    geoipmq_database_build_timestamp_seconds: "gauge",
    geoipmq_database_age_seconds: "gauge",
  });
  assert.equal(find(text, "geoipmq_up"), 1);
  assert.equal(find(text, "geoipmq_build_info", { version: '1.2.3-"x"' }), 1);
  assert.equal(
    find(text, "geoipmq_database_info", { database: path, type: "GeoLite2-City" }),
    1,
  );
  assert.equal(
    find(text, "geoipmq_database_build_timestamp_seconds", { database: path }),
    buildEpoch,
  );
  assert.equal(find(text, "geoipmq_database_age_seconds", { database: path }), 86_400.5);
  assert.equal(find(text, "geoipmq_workers_alive"), 3);
  assert.equal(find(text, "geoipmq_requests_total", { ...zmq, verb: "geoip", outcome: "ok" }), 1);
  assert.equal(
    find(text, "geoipmq_requests_total", { ...zmq, verb: "invalid", outcome: "error" }),
    1,
  );
  assert.equal(find(text, "geoipmq_requests_total", { ...zmq, verb: "ping", outcome: "ok" }), 0);
  assert.equal(
    text.samples.filter((s) => s.name === "geoipmq_requests_total").length,
    24,
    "every transport, verb and outcome, zeros included",
  );
  assert.equal(find(text, "geoipmq_lookups_total", { ...zmq, result: "found" }), 3);
  assert.equal(find(text, "geoipmq_lookups_total", { ...zmq, result: "not_found" }), 2);
  assert.equal(find(text, "geoipmq_lookups_total", { ...zmq, result: "invalid" }), 1);
  assert.equal(find(text, "geoipmq_lookups_total", { ...zmq, result: "error" }), 1);
  assert.equal(find(text, "geoipmq_cache_hits_total"), 4);
  assert.equal(find(text, "geoipmq_cache_misses_total"), 5);
  assert.equal(find(text, "geoipmq_reloads_total", { outcome: "success" }), 1);
  assert.equal(find(text, "geoipmq_reloads_total", { outcome: "failure" }), 2);
  const limited = (transport: string, limit: string) =>
    find(text, "geoipmq_limited_total", { transport, limit });
  assert.equal(limited("zmq", "rate"), 1);
  assert.equal(limited("http", "rate"), 1);
  assert.equal(limited("zmq", "inbound_bytes"), 1);
  assert.equal(limited("zmq", "outbound_bytes"), 0);
  assert.equal(find(text, "geoipmq_request_duration_seconds_sum", zmq), 0.00005);
});

Deno.test("without a database the database families are left out", () => {
  const text = parseExposition(ServiceMetrics.create({ version: "0.0.0" }).renderPrometheus());
  assert.equal(text.types.has("geoipmq_database_info"), false);
  assert.equal(text.types.has("geoipmq_database_age_seconds"), false);
  assert.equal(find(text, "geoipmq_workers_alive"), 0);
});

Deno.test("counters are 64 bits wide and ignore nonsense counts", () => {
  const metrics = ServiceMetrics.create({ version: "0.0.0" });
  metrics.recordLookups(3_000_000_000, 0, 0, 0);
  metrics.recordLookups(3_000_000_000, -1, NaN, 0.5);
  metrics.recordCache(2 ** 40, 0);
  const { lookups, cache } = metrics.snapshot();
  assert.deepEqual(lookups.zmq, { found: 6_000_000_000, not_found: 0, invalid: 0, error: 0 });
  assert.equal(cache.hits, 2 ** 32 - 1, "one call adds at most 2^32 - 1");
});

Deno.test("HTTP connections dropped, failed accepts and open connections are counted", () => {
  const metrics = ServiceMetrics.create({ version: "0.0.0" });
  const other = ServiceMetrics.fromBuffer(metrics.buffer, { version: "0.0.0" });
  other.recordHttpDrop("max_connections");
  other.recordHttpDrop("max_connections");
  metrics.recordHttpDrop("header_timeout");
  metrics.recordHttpAcceptFailure();
  other.setHttpConnections(7);
  const text = parseExposition(metrics.renderPrometheus());
  const dropped = "geoipmq_http_connections_dropped_total";
  assert.equal(find(text, dropped, { reason: "max_connections" }), 2);
  assert.equal(find(text, dropped, { reason: "header_timeout" }), 1);
  assert.equal(find(text, dropped, { reason: "request_timeout" }), 0);
  assert.equal(find(text, dropped, { reason: "bad_request" }), 0);
  assert.equal(find(text, "geoipmq_http_accept_failures_total"), 1);
  assert.equal(find(text, "geoipmq_http_connections"), 7);
  assert.equal(metrics.snapshot().httpDropped.max_connections, 2);
});

Deno.test("fromBuffer shares the counters and refuses a foreign buffer", () => {
  const metrics = ServiceMetrics.create({ version: "0.0.0" });
  const other = ServiceMetrics.fromBuffer(metrics.buffer, { version: "0.0.0" });
  other.recordRequest("ping", "ok", 3);
  other.setWorkersAlive(2);
  assert.equal(metrics.snapshot().requests.zmq.ping.ok, 1);
  assert.equal(metrics.snapshot().workersAlive, 2);
  assert.throws(
    () =>
      ServiceMetrics.fromBuffer(new SharedArrayBuffer(metrics.buffer.byteLength), {
        version: "0.0.0",
      }),
    { name: "TypeError", message: "not a ServiceMetrics buffer (made by ServiceMetrics.create())" },
  );
  assert.throws(
    () => ServiceMetrics.fromBuffer(new SharedArrayBuffer(8), { version: "0.0.0" }),
    TypeError,
  );
});

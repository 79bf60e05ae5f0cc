/**
 * The service's metrics in Prometheus's text exposition format (0.0.4), for
 * `GET /metrics`: one function per group of metric families, each adding its lines.
 *
 * @module
 */

import {
  DURATION_BUCKETS_MICROS,
  HTTP_DROP_REASONS,
  LIMIT_KINDS,
  LOOKUP_RESULTS,
  type MetricsSnapshot,
  RELOAD_OUTCOMES,
  REQUEST_OUTCOMES,
  REQUEST_TRANSPORTS,
  REQUEST_VERBS,
} from "./metric_kinds.ts";

/** Escapes a label value for the text exposition format. */
function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : "\\" + c);
}

/** Integer microseconds as decimal seconds, exactly (`1234567` → `1.234567`). */
function microsAsSeconds(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = micros - whole * 1_000_000;
  if (fraction === 0) return String(whole);
  return `${whole}.${String(fraction).padStart(6, "0").replace(/0+$/, "")}`;
}

/** The lines being written, and the `# HELP` / `# TYPE` pair that opens a family. */
class Exposition {
  readonly lines: string[] = [];

  family(name: string, type: string, help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
}

/** `geoipmq_up` and `geoipmq_build_info`. */
function renderService(out: Exposition, s: MetricsSnapshot): void {
  out.family("geoipmq_up", "gauge", "1 when the service is answering.");
  out.lines.push("geoipmq_up 1");
  out.family("geoipmq_build_info", "gauge", "The running geoipmq's version, as a label.");
  out.lines.push(`geoipmq_build_info{version="${escapeLabel(s.version)}"} 1`);
}

/** Requests, lookups and the answer cache. */
function renderRequests(out: Exposition, s: MetricsSnapshot): void {
  const { lines } = out;
  out.family(
    "geoipmq_requests_total",
    "counter",
    "Requests answered, by transport (zmq, http), verb (invalid: did not parse) and " +
      "outcome (error: an ERROR reply, or an HTTP 4xx/5xx).",
  );
  for (const transport of REQUEST_TRANSPORTS) {
    for (const verb of REQUEST_VERBS) {
      for (const outcome of REQUEST_OUTCOMES) {
        lines.push(
          `geoipmq_requests_total{transport="${transport}",verb="${verb}",outcome="${outcome}"} ${
            s.requests[transport][verb][outcome]
          }`,
        );
      }
    }
  }
  out.family("geoipmq_lookups_total", "counter", "Addresses answered, by transport and result.");
  for (const transport of REQUEST_TRANSPORTS) {
    for (const result of LOOKUP_RESULTS) {
      lines.push(
        `geoipmq_lookups_total{transport="${transport}",result="${result}"} ${
          s.lookups[transport][result]
        }`,
      );
    }
  }
  out.family("geoipmq_cache_hits_total", "counter", "Answers taken from the answer cache.");
  lines.push(`geoipmq_cache_hits_total ${s.cache.hits}`);
  out.family("geoipmq_cache_misses_total", "counter", "Answers rendered from a database record.");
  lines.push(`geoipmq_cache_misses_total ${s.cache.misses}`);
}

/** The request latency histogram, `geoipmq_request_duration_seconds`. */
function renderDuration(out: Exposition, s: MetricsSnapshot): void {
  const { lines } = out;
  const duration = "geoipmq_request_duration_seconds";
  out.family(
    duration,
    "histogram",
    "Time from receiving a request to sending its reply, by transport.",
  );
  for (const transport of REQUEST_TRANSPORTS) {
    const histogram = s.duration[transport];
    const label = `transport="${transport}"`;
    DURATION_BUCKETS_MICROS.forEach((bound, i) => {
      lines.push(
        `${duration}_bucket{${label},le="${microsAsSeconds(bound)}"} ${histogram.cumulative[i]}`,
      );
    });
    lines.push(`${duration}_bucket{${label},le="+Inf"} ${histogram.count}`);
    lines.push(`${duration}_sum{${label}} ${microsAsSeconds(histogram.sumMicros)}`);
    lines.push(`${duration}_count{${label}} ${histogram.count}`);
  }
}

/** Reloads, limits, lookup workers and brokers. */
function renderOperations(out: Exposition, s: MetricsSnapshot): void {
  const { lines } = out;
  out.family("geoipmq_reloads_total", "counter", "Database reloads, by outcome.");
  for (const outcome of RELOAD_OUTCOMES) {
    lines.push(`geoipmq_reloads_total{outcome="${outcome}"} ${s.reloads[outcome]}`);
  }
  out.family(
    "geoipmq_limited_total",
    "counter",
    "Work refused by a limit, by transport and limit: inbound_bytes (a connection cut for " +
      "holding more than --max-inbound-mb of requests not yet taken), outbound_bytes (a " +
      "request dropped unanswered for a peer holding more than --max-outbound-mb of " +
      "replies it has not read), rate (a request over --rate-limit).",
  );
  for (const transport of REQUEST_TRANSPORTS) {
    for (const kind of LIMIT_KINDS) {
      lines.push(
        `geoipmq_limited_total{transport="${transport}",limit="${kind}"} ${
          s.limited[transport][kind]
        }`,
      );
    }
  }
  out.family("geoipmq_workers_alive", "gauge", "Lookup workers alive.");
  lines.push(`geoipmq_workers_alive ${s.workersAlive}`);
  if (s.brokers.endpoints > 0) {
    out.family(
      "geoipmq_brokers_connected",
      "gauge",
      "Brokers (--connect endpoints) this instance is connected to.",
    );
    lines.push(`geoipmq_brokers_connected ${s.brokers.connected}`);
  }
}

/** HTTP connections: open, dropped, failed accepts. */
function renderHttpConnections(out: Exposition, s: MetricsSnapshot): void {
  const { lines } = out;
  out.family("geoipmq_http_connections", "gauge", "HTTP connections open.");
  lines.push(`geoipmq_http_connections ${s.httpConnections}`);
  out.family(
    "geoipmq_http_connections_dropped_total",
    "counter",
    "HTTP connections the server refused or closed itself, by reason.",
  );
  for (const reason of HTTP_DROP_REASONS) {
    lines.push(
      `geoipmq_http_connections_dropped_total{reason="${reason}"} ${s.httpDropped[reason]}`,
    );
  }
  out.family(
    "geoipmq_http_accept_failures_total",
    "counter",
    "Failed accepts of HTTP connections (e.g. too many open files); each is retried.",
  );
  lines.push(`geoipmq_http_accept_failures_total ${s.httpAcceptFailures}`);
}

/** Each database now serving: its labels, build time and age (nothing before the first). */
function renderDatabases(out: Exposition, s: MetricsSnapshot, nowMs: number): void {
  const { lines } = out;
  if (s.databases.length === 0) return;
  out.family(
    "geoipmq_database_info",
    "gauge",
    "Each database now serving: its path (the database label) and type.",
  );
  for (const { type, path } of s.databases) {
    lines.push(
      `geoipmq_database_info{database="${escapeLabel(path)}",type="${escapeLabel(type)}"} 1`,
    );
  }
  out.family(
    "geoipmq_database_build_timestamp_seconds",
    "gauge",
    "Build time of each database now serving, seconds since the epoch.",
  );
  for (const { path, buildEpoch } of s.databases) {
    lines.push(
      `geoipmq_database_build_timestamp_seconds{database="${escapeLabel(path)}"} ${buildEpoch}`,
    );
  }
  out.family(
    "geoipmq_database_age_seconds",
    "gauge",
    "Seconds since each database now serving was built.",
  );
  for (const { path, buildEpoch } of s.databases) {
    lines.push(
      `geoipmq_database_age_seconds{database="${escapeLabel(path)}"} ${
        (nowMs - buildEpoch * 1000) / 1000
      }`,
    );
  }
}

/**
 * Renders a snapshot of the metrics in Prometheus's text exposition format 0.0.4.
 *
 * @example
 * ```ts
 * import { ServiceMetrics } from "./service_metrics.ts";
 * import { renderPrometheus } from "./prometheus_text.ts";
 * const metrics = ServiceMetrics.create({ version: "1.0.0" });
 * const text = renderPrometheus(metrics.snapshot(), Date.now());
 * console.log(text.startsWith("# HELP geoipmq_up")); // true
 * ```
 *
 * @param snapshot every value, from `ServiceMetrics.snapshot()`
 * @param nowMs the time to compute the databases' age at, ms since the epoch
 * @returns the text, ending with a line break
 */
export function renderPrometheus(snapshot: MetricsSnapshot, nowMs: number): string {
  const out = new Exposition();
  renderService(out, snapshot);
  renderRequests(out, snapshot);
  renderDuration(out, snapshot);
  renderOperations(out, snapshot);
  renderHttpConnections(out, snapshot);
  renderDatabases(out, snapshot, nowMs);
  return out.lines.join("\n") + "\n";
}

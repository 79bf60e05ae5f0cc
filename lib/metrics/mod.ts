/**
 * The service's counters, shared by every thread through one `SharedArrayBuffer` and
 * rendered for Prometheus.
 *
 * @module
 */

export {
  type DatabaseFacts,
  DURATION_BUCKETS_MICROS,
  durationBucket,
  type DurationHistogram,
  durationMicros,
  HTTP_DROP_REASONS,
  type HttpDropReason,
  LIMIT_KINDS,
  type LimitKind,
  LOOKUP_RESULTS,
  type LookupResultKind,
  type MetricsSnapshot,
  RELOAD_OUTCOMES,
  type ReloadOutcome,
  REQUEST_OUTCOMES,
  REQUEST_TRANSPORTS,
  REQUEST_VERBS,
  type RequestOutcome,
  type RequestTransport,
  type RequestVerb,
} from "./metric_kinds.ts";
export { renderPrometheus } from "./prometheus_text.ts";
export { ServiceMetrics } from "./service_metrics.ts";

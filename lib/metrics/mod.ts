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
  ServiceMetrics,
} from "./service_metrics.ts";

/**
 * One channel between the main thread and its workers: spawn with a setup, ready,
 * updates acknowledged by generation, events, stop and failure — typed once, for lookup
 * workers and the ZAP handler alike.
 *
 * @module
 */

export { CONTROL_POLL_MS, type FromWorker, type ToWorker, type Update } from "./messages.ts";
export { type SpawnOptions, type UpdateOutcome, WorkerHandle } from "./worker_handle.ts";
export { serveWorker, type WorkerPort } from "./worker_port.ts";
export { withTimeout } from "./with_timeout.ts";

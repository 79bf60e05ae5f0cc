/**
 * The process harness: a service started as a child process, for tests and scripts
 * ({@linkcode spawnService}), and the permissions of `deno task start`.
 *
 * @module
 */

export {
  type ProbeCurveKeys,
  runToExit,
  serviceFlags,
  type ServiceOutput,
  type ServiceProbe,
  ServiceProcess,
  type SpawnOptions,
  spawnService,
} from "./service_process.ts";
export { startTaskPermissions } from "./start_task.ts";

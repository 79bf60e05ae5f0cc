/**
 * Test and bench tooling, outside `lib/`: what `tests/` and `scripts/` both need, and the
 * only module of `tooling/` they import.
 *
 * - running geoipmq as a child process and knowing when it is ready
 *   ({@linkcode spawnService}, {@linkcode runToExit}, {@linkcode serviceFlags});
 * - clients that misbehave on purpose or measure: a ZMTP speaker over a plain TCP socket
 *   ({@linkcode ZmtpSpeaker}), a pipelined DEALER, raw HTTP probes;
 * - test databases ({@linkcode buildMmdb}, a MaxMind DB writer);
 * - the bench's native programs (C loop, load generator, Go peer) and the builders of the
 *   binary and the container image (`deno task compile`, `deno task image`).
 *
 * `lib/` and `main.ts` never import it; it never imports `tests/` or `scripts/`.
 *
 * @example
 * ```ts
 * import { runToExit } from "./mod.ts";
 * const { code, stdout } = await runToExit(["--version"]);
 * console.log(code, stdout.startsWith("geoipmq ")); // 0 true
 * ```
 *
 * @module
 */

export {
  runToExit,
  type ServiceOutput,
  ServiceProcess,
  type SpawnOptions,
  spawnService,
} from "./service_process.ts";
export { serviceCommand, serviceFlags } from "./service_command.ts";
export { type ProbeCurveKeys, type ServiceProbe } from "./readiness_probe.ts";
export { type EndpointPlan, planEndpoints } from "./endpoint_plan.ts";
export { startTaskPermissions } from "./start_task.ts";
export { childEnvironment } from "./child_environment.ts";
export { type CommandOutput, commandOutput } from "./command_output.ts";
export { textLines } from "./text_lines.ts";
export { gunzip, spawnQuiet } from "./service_child.ts";
export { PROJECT_ROOT } from "./project_root.ts";
export { residentBytes } from "./resident_memory.ts";

export { concatBytes, writeAll } from "./bytes.ts";
export {
  encodeCommand,
  encodeFrame,
  encodeGreeting,
  FrameDecoder,
  parseCommand,
  parseGreeting,
  tcpAddress,
  ZmtpSpeaker,
} from "./zmtp_speaker.ts";
export {
  buildMmdb,
  bytes,
  float32,
  int32,
  type MmdbNetwork,
  MmdbTyped,
  type MmdbValue,
  type MmdbWriterOptions,
  uint128,
  uint16,
  uint32,
  uint64,
} from "./mmdb_writer.ts";
export { PipelinedDealer } from "./pipelined_dealer.ts";
export { describeHttpProbe, startHttpProbe } from "./http_probe.ts";
export { UnfinishedChunkedBodies } from "./unfinished_chunked_bodies.ts";
export { oneAddressAllowance, reusedConnectionRounds } from "./rate_limit_rounds.ts";
export { describeBigReplies, readBigReplies } from "./big_reply_reader.ts";
export { sendDistinctFieldLists } from "./distinct_field_lists.ts";

export {
  type Build,
  buildCLoop,
  buildGoPeer,
  buildLoadGenerator,
  C_PACKAGES,
  GO_PACKAGES,
  runCommand,
  WRK_SHAPES_SCRIPT,
} from "./bench_builds.ts";
export { runLoad, shapeAddresses, type ShapeName, type ShapeSource } from "./native_load.ts";
export {
  CANNOT_RUN_HERE,
  compileCommand,
  type CompilePlan,
  parseCompileArgs,
  planCompile,
  runtimeDownloadFailure,
  shellQuote,
  zeromqManifestPath,
} from "./compile.ts";
export {
  type DenoInfo,
  IMAGE_USER,
  imageCommand,
  imageConfig,
  parseLdd,
  usedPackages,
} from "./image.ts";
export { scriptArgs } from "./script_args.ts";

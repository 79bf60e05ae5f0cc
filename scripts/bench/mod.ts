/**
 * The parts of `deno task bench` (`scripts/bench.ts`): its plan and options, the
 * preparation (databases, builds, request pools), the servers it starts side by side, the
 * rounds of load, the checks of the answers and the report; and the TypeScript load
 * generator the soak, the memory run and the cost scripts share.
 *
 * @module
 */

export { measureSeveralDatabases, writeSyntheticAsn } from "./several_databases.ts";
export { prepare, type Prepared } from "./prepare.ts";
export { type RunningServers, startServers } from "./start.ts";
export { checkAnswers } from "./checks.ts";
export { runRounds } from "./rounds.ts";
export { printHeader, printResults, printTotals } from "./print.ts";
export { ProcessRegistry } from "./servers.ts";
export { LOADS, MAX_ROUNDS, type Options, SERVER_KEYS, SHAPES } from "./plan.ts";
export { fmtInt, fmtMb, fmtRatio, table } from "./report.ts";
export { LoadGenerator, mulberry32, SCENARIOS } from "./load_generator.ts";

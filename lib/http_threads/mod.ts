/**
 * The HTTP threads: HTTP workers beside the main thread's HTTP, on the same address
 * (`SO_REUSEPORT`), each answering lookups with its own responder over the shared
 * database bytes. Start them with {@linkcode HttpThreads.start}.
 *
 * @module
 */

export { type HttpThreadAnswers, HttpThreads } from "./http_threads.ts";
export type { Health, HttpWorkerSetup } from "./http_worker.ts";
export { usableHttpThreads } from "./http_thread_fallback.ts";
export {
  type HttpListenSetup,
  type HttpThreadHooks,
  startHttpThread,
} from "./start_http_thread.ts";

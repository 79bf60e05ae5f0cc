/**
 * Errors of libzmq calls, and the tests request loops make of them.
 *
 * @module
 */

import { Errno } from "./constants.ts";

/** A libzmq call failed; `errno` is libzmq's error number and `message` its text. */
export class ZmqError extends Error {
  /** libzmq's error number (`zmq_errno()`). */
  readonly errno: number;

  /**
   * @param call the libzmq function or action that failed, e.g. `bind "tcp://x:1"`
   * @param errno libzmq's error number
   * @param reason libzmq's text for that number
   */
  constructor(call: string, errno: number, reason: string) {
    super(`${call} failed: ${reason} (errno ${errno})`);
    this.name = "ZmqError";
    this.errno = errno;
  }
}

/**
 * @param error what a libzmq call threw
 * @returns whether the context was shut down (`ETERM`)
 */
export function isTerminated(error: unknown): boolean {
  return error instanceof ZmqError && error.errno === Errno.ETERM;
}

/**
 * @param error what a libzmq call threw
 * @returns whether a signal interrupted the call (`EINTR`)
 */
export function isInterrupted(error: unknown): boolean {
  return error instanceof ZmqError && error.errno === Errno.EINTR;
}

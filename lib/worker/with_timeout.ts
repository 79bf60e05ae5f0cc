/**
 * Waiting for something, but not for ever.
 *
 * @module
 */

/**
 * Waits for a promise to settle, or for a time to pass, whichever comes first. A rejection
 * that comes in time is thrown.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./with_timeout.ts";
 * const never = new Promise<void>(() => {});
 * console.log(await withTimeout(never, 10)); // false
 * console.log(await withTimeout(Promise.resolve(), 1000)); // true
 * ```
 *
 * @param promise what to wait for
 * @param milliseconds how long at most
 * @returns whether the promise settled in time
 * @throws what the promise rejected with, when it did so in time
 */
export async function withTimeout(
  promise: Promise<unknown>,
  milliseconds: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = promise.then(() => true);
  const timeout = new Promise<boolean>((resolve) =>
    timer = setTimeout(() => resolve(false), milliseconds)
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

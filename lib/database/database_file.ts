/**
 * Reading a database file into shared memory, safely: only a regular file, checked again
 * once open, read under a deadline, gunzipped when it is gzip.
 *
 * @module
 */

import { DatabaseError } from "./database_errors.ts";

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Options for {@linkcode readDatabaseFile}. */
export interface ReadDatabaseOptions {
  /**
   * How long opening, reading and gunzipping may take in all (default
   * {@linkcode DEFAULT_READ_TIMEOUT_MS}); past it the read fails instead of hanging.
   */
  timeoutMs?: number;
}

/** The default bound on reading a database file: 60 s, ample for a 66 MB file. */
export const DEFAULT_READ_TIMEOUT_MS = 60_000;

/**
 * Reads a file into memory, gunzipping it when it starts with the gzip magic bytes.
 *
 * Only a regular file (or a symbolic link to one) is read: the path is checked with
 * `stat` before it is opened, so a FIFO, a device, a socket or a directory is refused at
 * once instead of blocking in `open()` or reading for ever. The opened file is checked
 * again (it must still be the same regular file), and the whole read is bounded by a
 * deadline, so a file swapped between the check and the open cannot hang the caller.
 *
 * @example
 * ```ts
 * import { readDatabaseFile } from "./database_file.ts";
 * import { bundledDatabasePath } from "./bundled.ts";
 * const bytes = await readDatabaseFile(bundledDatabasePath()); // gunzipped on the way
 * console.log(bytes.buffer instanceof SharedArrayBuffer); // true
 * ```
 *
 * @param path the `.mmdb` or `.mmdb.gz` file
 * @param options the time limit
 * @returns the database bytes in a `SharedArrayBuffer`
 * @throws {DatabaseError} when the file is not a regular file, cannot be read or
 *   decompressed, or takes longer than the time limit
 */
export async function readDatabaseFile(
  path: string,
  options: ReadDatabaseOptions = {},
): Promise<Uint8Array<SharedArrayBuffer>> {
  const refuse = (reason: string, cause?: unknown) =>
    new DatabaseError(
      `Cannot open database "${path}": ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const deadline = new Deadline(timeoutMs, () => refuse(`not read within ${timeoutMs} ms`));
  let checked: Deno.FileInfo;
  try {
    checked = await deadline.race(Deno.stat(path));
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw refuse(describeFsError(error), error);
  }
  const kind = fileKind(checked);
  if (kind !== undefined) throw refuse(`not a regular file (${kind})`);
  let file: Deno.FsFile | undefined;
  const opening = Deno.open(path);
  try {
    try {
      file = await deadline.race(opening);
    } catch (error) {
      if (error instanceof DatabaseError) {
        // Still opening (the path became a FIFO after the check): close it if it ever opens.
        opening.then((late) => late.close(), () => {});
        throw error;
      }
      throw refuse(describeFsError(error), error);
    }
    const opened = await deadline.race(file.stat());
    if (!opened.isFile || opened.ino !== checked.ino || opened.dev !== checked.dev) {
      throw refuse("replaced while being opened");
    }
    // Read straight into shared memory: one copy of the database, never two.
    const shared = new Uint8Array(new SharedArrayBuffer(opened.size));
    await readFully(file, shared, deadline);
    if (shared[0] !== GZIP_MAGIC_0 || shared[1] !== GZIP_MAGIC_1) return shared;
    try {
      return await gunzipShared(shared, deadline);
    } catch (error) {
      if (error instanceof DatabaseError) throw error;
      throw refuse("gzip data is corrupt or truncated", error);
    }
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw refuse(describeFsError(error), error);
  } finally {
    file?.close();
  }
}

/** What a file that is not a regular file is, in words; undefined for a regular file. */
function fileKind(info: Deno.FileInfo): string | undefined {
  if (info.isFile) return undefined;
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a file";
}

/** A point in time after which every awaited step fails with the same error. */
class Deadline {
  readonly #at: number;
  readonly #error: () => Error;

  constructor(timeoutMs: number, error: () => Error) {
    this.#at = Date.now() + timeoutMs;
    this.#error = error;
  }

  /** Throws when the deadline has passed. */
  check(): void {
    if (Date.now() >= this.#at) throw this.#error();
  }

  /** Waits for `promise`, or fails when the deadline comes first. */
  async race<T>(promise: Promise<T>): Promise<T> {
    this.check();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#error()), Math.max(0, this.#at - Date.now()));
    });
    try {
      return await Promise.race([promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readFully(
  file: Deno.FsFile,
  into: Uint8Array<SharedArrayBuffer>,
  deadline: Deadline,
): Promise<void> {
  const chunk = new Uint8Array(Math.min(into.length, 4 * 1024 * 1024) || 1);
  let at = 0;
  while (at < into.length) {
    const read = await deadline.race(
      file.read(chunk.subarray(0, Math.min(chunk.length, into.length - at))),
    );
    if (read === null) throw new Error("file shrank while being read");
    into.set(chunk.subarray(0, read), at);
    at += read;
  }
}

/**
 * Gunzips into a `SharedArrayBuffer` sized from the gzip trailer (the uncompressed size
 * modulo 2^32), so the database is not held twice while it is built.
 */
async function gunzipShared(
  gz: Uint8Array<SharedArrayBuffer>,
  deadline: Deadline,
): Promise<Uint8Array<SharedArrayBuffer>> {
  const trailer = new DataView(gz.buffer, gz.byteOffset + gz.length - 4, 4);
  let out = new Uint8Array(new SharedArrayBuffer(gz.length >= 18 ? trailer.getUint32(0, true) : 0));
  let at = 0;
  const input = new Uint8Array(gz); // DecompressionStream takes no shared memory
  const stream = new Blob([input]).stream().pipeThrough(new DecompressionStream("gzip"));
  for await (const chunk of stream) {
    deadline.check();
    if (at + chunk.length > out.length) {
      // A trailer that lied (over 4 GiB, or several members): grow.
      const grown = new Uint8Array(new SharedArrayBuffer((at + chunk.length) * 2));
      grown.set(out.subarray(0, at));
      out = grown;
    }
    out.set(chunk, at);
    at += chunk.length;
  }
  return at === out.length ? out : new Uint8Array(out.buffer, 0, at);
}

function describeFsError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  if (error instanceof Error) return error.message.split(":")[0] ?? error.message;
  return String(error);
}

/**
 * The loaded libzmq: the one place that calls `Deno.dlopen`, the C symbols the binding
 * uses, and the library-wide calls (version, capabilities, errors, CURVE keys, Z85).
 *
 * Every call is synchronous: a receive without `ZMQ_DONTWAIT` blocks the calling thread,
 * which is what a worker's request loop wants and what the main thread must avoid. Only
 * `zmq_ctx_term` and {@linkcode Libzmq.pollAsync} run on another thread and
 * return a promise.
 *
 * @module
 */

import { Errno } from "./constants.ts";
import { ZmqError } from "./errors.ts";

/** The C functions of libzmq the binding calls. */
export const SYMBOLS = {
  zmq_version: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  zmq_has: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_shutdown: { parameters: ["pointer"], result: "i32" },
  zmq_ctx_term: { parameters: ["pointer"], result: "i32", nonblocking: true },
  zmq_ctx_set: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_unbind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_disconnect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_recv: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_msg_send: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_get: { parameters: ["buffer", "i32"], result: "i32" },
  zmq_msg_gets: { parameters: ["buffer", "buffer"], result: "pointer" },
  zmq_socket_monitor: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32" },
  zmq_poll_async: {
    name: "zmq_poll",
    parameters: ["buffer", "i32", "i64"],
    result: "i32",
    nonblocking: true,
  },
  zmq_z85_encode: { parameters: ["buffer", "buffer", "usize"], result: "pointer" },
  zmq_z85_decode: { parameters: ["buffer", "buffer"], result: "pointer" },
  zmq_curve_keypair: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_curve_public: { parameters: ["buffer", "buffer"], result: "i32" },
  // The C library, reached through libzmq's own handle (it depends on it): the few system
  // calls Deno has no permission-free API for (see `system.ts`).
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound C functions. */
export type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const encoder = new TextEncoder();

/** BigInts of the sizes met so far, up to 64 KiB: made once, reused on every call. */
const SMALL_SIZES: bigint[] = [];
const SMALL_SIZE_LIMIT = 64 * 1024;

/**
 * A size for a `usize` parameter. Deno's FFI takes a number there too, but then V8's
 * optimised code for the caller is thrown away on every call ("not a BigInt") and
 * recompiled, which cost a third of a core under load; sizes up to 64 KiB come from a
 * table so the hot path does not allocate a BigInt either.
 */
export function usize(length: number): bigint {
  if (length > SMALL_SIZE_LIMIT) return BigInt(length);
  return SMALL_SIZES[length] ??= BigInt(length);
}

/** @returns the text as a NUL-terminated C string */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text + "\0");
}

/**
 * A loaded libzmq shared library. Open it once per thread; the library itself (and so
 * every context) is shared by all threads of the process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledLibzmqPath, Libzmq } from "./mod.ts";
 * using lib = Libzmq.open(bundledLibzmqPath()); // or Debian's "libzmq.so.5" (4.3.4)
 * assert.equal(lib.version(), "4.3.5");
 * ```
 */
export class Libzmq {
  /** The path the library was loaded from. */
  readonly path: string;
  #library: Deno.DynamicLibrary<typeof SYMBOLS>;

  private constructor(path: string, library: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.path = path;
    this.#library = library;
  }

  /**
   * Loads libzmq from a shared object that exports the `zmq_*` C API.
   *
   * @param path file path of `libzmq.so`, or of a library that embeds it
   * @returns the loaded library
   * @throws {Error} when the file cannot be loaded or lacks a libzmq symbol
   */
  static open(path: string): Libzmq {
    let library: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      library = Deno.dlopen(path, SYMBOLS);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const reason = text.split("\n")[0]!.replaceAll("Could not open library: ", "");
      throw new Error(`Cannot load libzmq from "${path}": ${reason}`, { cause: error });
    }
    return new Libzmq(path, library);
  }

  /** The raw symbols, for {@linkcode ZmqContext} and {@linkcode ZmqSocket}. */
  get symbols(): Symbols {
    return this.#library.symbols;
  }

  /** @returns libzmq's version as "major.minor.patch" */
  version(): string {
    const parts = new Int32Array(3);
    this.symbols.zmq_version(parts.subarray(0, 1), parts.subarray(1, 2), parts.subarray(2, 3));
    return parts.join(".");
  }

  /**
   * @param capability a capability name such as "curve" or "ipc"
   * @returns whether this libzmq build supports it
   */
  has(capability: string): boolean {
    return this.symbols.zmq_has(cString(capability)) === 1;
  }

  /**
   * Builds the error for the failing call just made on this thread.
   *
   * @param call what was attempted, for the message
   * @returns a {@linkcode ZmqError} with the current thread's errno
   */
  lastError(call: string): ZmqError {
    const errno = this.symbols.zmq_errno();
    return new ZmqError(call, errno, this.strerror(errno));
  }

  /**
   * @param errno a libzmq or system error number
   * @returns libzmq's text for it
   */
  strerror(errno: number): string {
    const text = this.symbols.zmq_strerror(errno);
    return text === null ? `error ${errno}` : Deno.UnsafePointerView.getCString(text);
  }

  /**
   * Generates a new CURVE key pair.
   *
   * @returns the Z85 public and secret keys (40 characters each)
   */
  curveKeypair(): { publicKey: string; secretKey: string } {
    const publicKey = new Uint8Array(41);
    const secretKey = new Uint8Array(41);
    if (this.symbols.zmq_curve_keypair(publicKey, secretKey) !== 0) {
      throw this.lastError("zmq_curve_keypair");
    }
    const decoder = new TextDecoder();
    return {
      publicKey: decoder.decode(publicKey.subarray(0, 40)),
      secretKey: decoder.decode(secretKey.subarray(0, 40)),
    };
  }

  /**
   * Derives the public key of a CURVE secret key (`zmq_curve_public`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openLibzmq } from "./mod.ts";
   * using lib = openLibzmq(undefined);
   * const { publicKey, secretKey } = lib.curveKeypair();
   * assert.equal(lib.curvePublic(secretKey), publicKey);
   * ```
   *
   * @param secretKey the Z85 secret key (40 characters)
   * @returns the Z85 public key (40 characters)
   * @throws {ZmqError} when the key is not 40 Z85 characters, or libzmq lacks CURVE
   */
  curvePublic(secretKey: string): string {
    const publicKey = new Uint8Array(41);
    const secret = cString(secretKey);
    if (secret.length !== 41 || this.symbols.zmq_curve_public(publicKey, secret) !== 0) {
      throw secret.length !== 41
        ? new ZmqError("zmq_curve_public", Errno.EINVAL, "a key is 40 Z85 characters")
        : this.lastError("zmq_curve_public");
    }
    return new TextDecoder().decode(publicKey.subarray(0, 40));
  }

  /**
   * Encodes bytes in Z85 (`zmq_z85_encode`), ZeroMQ's text form of keys.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openLibzmq } from "./mod.ts";
   * using lib = openLibzmq(undefined);
   * assert.equal(lib.z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f])), "Hello");
   * ```
   *
   * @param bytes a multiple of 4 bytes (a key is 32)
   * @returns the Z85 text, 5 characters per 4 bytes
   * @throws {ZmqError} when the length is not a multiple of 4
   */
  z85Encode(bytes: Uint8Array): string {
    const text = new Uint8Array(bytes.length / 4 * 5 + 1);
    if (
      bytes.length % 4 !== 0 ||
      this.symbols.zmq_z85_encode(text, bytes, usize(bytes.length)) === null
    ) {
      throw new ZmqError("zmq_z85_encode", Errno.EINVAL, "the length must be a multiple of 4");
    }
    return new TextDecoder().decode(text.subarray(0, text.length - 1));
  }

  /**
   * Decodes Z85 text (`zmq_z85_decode`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openLibzmq } from "./mod.ts";
   * using lib = openLibzmq(undefined);
   * assert.deepEqual(lib.z85Decode("Hello"), new Uint8Array([0x86, 0x4f, 0xd2, 0x6f]));
   * assert.equal(lib.z85Decode("Hell~"), null); // "~" is not a Z85 character
   * ```
   *
   * @param text a multiple of 5 characters (a key is 40)
   * @returns the bytes, 4 per 5 characters, or null when the text is not valid Z85
   */
  z85Decode(text: string): Uint8Array | null {
    const encoded = cString(text);
    const length = encoded.length - 1;
    if (length % 5 !== 0 || length !== text.length || text.includes("\0")) return null;
    const bytes = new Uint8Array(length / 5 * 4);
    return this.symbols.zmq_z85_decode(bytes, encoded) === null ? null : bytes;
  }

  /**
   * `zmq_poll` on another thread, so the caller's event loop goes on while it waits (a
   * client waiting for a reply on the main thread). The sockets must not be used until
   * the promise settles.
   *
   * @param items `zmq_pollitem_t` entries, 16 bytes each
   * @param count how many entries
   * @param timeoutMs milliseconds to wait; -1 waits forever
   * @returns how many entries are ready
   */
  pollAsync(items: Uint8Array<ArrayBuffer>, count: number, timeoutMs: number): Promise<number> {
    return this.symbols.zmq_poll_async(items, count, BigInt(timeoutMs));
  }

  /** Unloads the library; every context must be terminated first. */
  close(): void {
    this.#library.close();
  }

  /** Same as {@linkcode Libzmq.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

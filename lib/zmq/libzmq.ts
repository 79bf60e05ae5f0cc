/**
 * A typed binding of libzmq's C API through Deno FFI: a library handle, contexts and
 * sockets with bind/connect, multipart send/receive, socket options and errors that carry
 * libzmq's errno and message.
 *
 * Every call is synchronous: a receive without `ZMQ_DONTWAIT` blocks the calling thread,
 * which is what a worker's request loop wants and what the main thread must avoid. Only
 * {@linkcode ZmqContext.proxy} runs on a separate thread and returns a promise.
 *
 * @module
 */

/** Socket types, as in `zmq.h`. */
export const SocketType = {
  PAIR: 0,
  REQ: 3,
  REP: 4,
  DEALER: 5,
  ROUTER: 6,
} as const;

/** A socket type value of {@linkcode SocketType}. */
export type SocketType = typeof SocketType[keyof typeof SocketType];

/** Integer socket options, as in `zmq.h`. */
export const SocketOption = {
  AFFINITY: 4,
  RCVMORE: 13,
  TYPE: 16,
  LINGER: 17,
  RECONNECT_IVL: 18,
  BACKLOG: 19,
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  RCVTIMEO: 27,
  SNDTIMEO: 28,
  ROUTER_MANDATORY: 33,
  IMMEDIATE: 39,
  IPV6: 42,
  CURVE_SERVER: 47,
  HANDSHAKE_IVL: 66,
  /**
   * `ZMQ_ZAP_ENFORCE_DOMAIN` (draft API: libzmq builds without it refuse it with
   * `EINVAL`): with it, a handshake fails when no ZAP handler answers, instead of
   * letting every client in.
   */
  ZAP_ENFORCE_DOMAIN: 93,
} as const;

/** Byte-string socket options, as in `zmq.h`. */
export const SocketBytesOption = {
  ROUTING_ID: 5,
  LAST_ENDPOINT: 32,
  CURVE_PUBLICKEY: 48,
  CURVE_SECRETKEY: 49,
  CURVE_SERVERKEY: 50,
  ZAP_DOMAIN: 55,
} as const;

/** Flags for send and receive. */
export const ZMQ_DONTWAIT = 1;
/** Flag for send: more frames of the same message follow. */
export const ZMQ_SNDMORE = 2;

const HAUSNUMERO = 156384712;
/** Error numbers a caller is expected to test for. */
export const Errno = {
  EINTR: 4,
  EAGAIN: 11,
  EINVAL: 22,
  EFSM: HAUSNUMERO + 51,
  ENOCOMPATPROTO: HAUSNUMERO + 52,
  ETERM: HAUSNUMERO + 53,
  EHOSTUNREACH: 113,
} as const;

const ZMQ_MSG_T_SIZE = 64;

const SYMBOLS = {
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
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32" },
  zmq_proxy: { parameters: ["pointer", "pointer", "pointer"], result: "i32", nonblocking: true },
  zmq_z85_encode: { parameters: ["buffer", "buffer", "usize"], result: "pointer" },
  zmq_z85_decode: { parameters: ["buffer", "buffer"], result: "pointer" },
  zmq_curve_keypair: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_curve_public: { parameters: ["buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

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
function usize(length: number): bigint {
  if (length > SMALL_SIZE_LIMIT) return BigInt(length);
  return SMALL_SIZES[length] ??= BigInt(length);
}

function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text + "\0");
}

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
 * A loaded libzmq shared library. Open it once per thread; the library itself (and so
 * every context) is shared by all threads of the process.
 *
 * @example
 * ```ts ignore
 * using lib = Libzmq.open("/usr/lib/x86_64-linux-gnu/libzmq.so.5");
 * console.log(lib.version()); // "4.3.4"
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
   * ```ts ignore
   * const { publicKey, secretKey } = lib.curveKeypair();
   * console.log(lib.curvePublic(secretKey) === publicKey); // true
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
   * ```ts ignore
   * console.log(lib.z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f]))); // "Hello"
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
   * ```ts ignore
   * console.log(lib.z85Decode("Hello")); // Uint8Array [0x86, 0x4f, 0xd2, 0x6f]
   * console.log(lib.z85Decode("Hell~")); // null: "~" is not a Z85 character
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

  /** Unloads the library; every context must be terminated first. */
  close(): void {
    this.#library.close();
  }

  /** Same as {@linkcode Libzmq.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A libzmq context. A context made on one thread can be used from another (a Worker)
 * through {@linkcode ZmqContext.address} and {@linkcode ZmqContext.fromAddress}.
 */
export class ZmqContext {
  /** The library this context belongs to. */
  readonly lib: Libzmq;
  #pointer: Deno.PointerObject;

  private constructor(lib: Libzmq, pointer: Deno.PointerObject) {
    this.lib = lib;
    this.#pointer = pointer;
  }

  /**
   * @param lib the loaded library
   * @returns a new context
   */
  static create(lib: Libzmq): ZmqContext {
    const pointer = lib.symbols.zmq_ctx_new();
    if (pointer === null) throw lib.lastError("zmq_ctx_new");
    return new ZmqContext(lib, pointer);
  }

  /**
   * Wraps a context created elsewhere in this process, e.g. by the main thread.
   *
   * @param lib the library, opened on this thread
   * @param address the value of the other side's {@linkcode ZmqContext.address}
   * @returns a view of the same context
   */
  static fromAddress(lib: Libzmq, address: bigint): ZmqContext {
    const pointer = Deno.UnsafePointer.create(address);
    if (pointer === null) throw new TypeError("Context address must not be 0");
    return new ZmqContext(lib, pointer);
  }

  /** The context's address, to hand to a Worker. */
  get address(): bigint {
    return BigInt(Deno.UnsafePointer.value(this.#pointer));
  }

  /** The raw context pointer. */
  get pointer(): Deno.PointerObject {
    return this.#pointer;
  }

  /**
   * @param type one of {@linkcode SocketType}
   * @returns a new socket of that type
   */
  socket(type: SocketType): ZmqSocket {
    return ZmqSocket.create(this, type);
  }

  /**
   * Makes every blocking call on this context's sockets fail with `ETERM`, and a running
   * {@linkcode ZmqContext.proxy} return. Sockets must still be closed afterwards.
   */
  shutdown(): void {
    if (this.lib.symbols.zmq_ctx_shutdown(this.#pointer) !== 0) {
      throw this.lib.lastError("zmq_ctx_shutdown");
    }
  }

  /**
   * Destroys the context once all its sockets are closed. Runs off the calling thread.
   *
   * @returns a promise that settles when libzmq has finished
   */
  async terminate(): Promise<void> {
    const result = await this.lib.symbols.zmq_ctx_term(this.#pointer);
    if (result !== 0) throw new ZmqError("zmq_ctx_term", -1, "context could not be terminated");
  }

  /**
   * Runs `zmq_proxy` between two sockets of this context on a libzmq-owned thread until
   * the context is shut down.
   *
   * @param frontend e.g. a ROUTER facing clients
   * @param backend e.g. a DEALER facing workers
   * @returns a promise that settles when the proxy returns
   */
  async proxy(frontend: ZmqSocket, backend: ZmqSocket): Promise<void> {
    await this.lib.symbols.zmq_proxy(frontend.pointer, backend.pointer, null);
  }
}

/** Options for {@linkcode ZmqSocket.send}. */
export interface SendOptions {
  /** Do not block: fail with `EAGAIN` when the message cannot be queued now. */
  dontWait?: boolean;
  /** More frames of the same message follow this call's frames. */
  more?: boolean;
}

/**
 * A libzmq socket. Not thread-safe: use it on the thread that made it.
 *
 * @example
 * ```ts ignore
 * using socket = context.socket(SocketType.REQ);
 * socket.connect("tcp://127.0.0.1:5555");
 * socket.send("ping");
 * console.log(new TextDecoder().decode(socket.receive()[0])); // "pong"
 * ```
 */
export class ZmqSocket {
  readonly #lib: Libzmq;
  readonly #symbols: Symbols;
  #pointer: Deno.PointerObject | null;
  #message = new Uint8Array(ZMQ_MSG_T_SIZE);
  #intOption = new Int32Array(1);
  #intOptionBytes = new Uint8Array(this.#intOption.buffer);
  #optionLength = new BigUint64Array(1);
  #optionLengthBytes = new Uint8Array(this.#optionLength.buffer);

  private constructor(lib: Libzmq, pointer: Deno.PointerObject) {
    this.#lib = lib;
    this.#symbols = lib.symbols;
    this.#pointer = pointer;
  }

  /**
   * @param context the context to create the socket in
   * @param type one of {@linkcode SocketType}
   * @returns the new socket
   */
  static create(context: ZmqContext, type: SocketType): ZmqSocket {
    const pointer = context.lib.symbols.zmq_socket(context.pointer, type);
    if (pointer === null) throw context.lib.lastError("zmq_socket");
    return new ZmqSocket(context.lib, pointer);
  }

  /**
   * Takes over a socket made on another thread, which must not use it any more (libzmq
   * allows moving a socket between threads; `postMessage` gives the memory barrier).
   *
   * @param lib the library, opened on this thread
   * @param address the other side's {@linkcode ZmqSocket.address}
   * @returns the socket
   */
  static adopt(lib: Libzmq, address: bigint): ZmqSocket {
    const pointer = Deno.UnsafePointer.create(address);
    if (pointer === null) throw new TypeError("Socket address must not be 0");
    return new ZmqSocket(lib, pointer);
  }

  /** The socket's address, to hand the socket to another thread. */
  get address(): bigint {
    return BigInt(Deno.UnsafePointer.value(this.pointer));
  }

  /** The raw socket pointer; throws once the socket is closed. */
  get pointer(): Deno.PointerObject {
    if (this.#pointer === null) throw new ZmqError("use of socket", 88, "Socket is closed");
    return this.#pointer;
  }

  /** Whether {@linkcode ZmqSocket.close} has been called. */
  get closed(): boolean {
    return this.#pointer === null;
  }

  /**
   * @param endpoint e.g. "tcp://127.0.0.1:5555", "tcp://127.0.0.1:*" or "inproc://name"
   * @returns the endpoint actually bound (with the port chosen for `*`)
   */
  bind(endpoint: string): string {
    if (this.#symbols.zmq_bind(this.pointer, cString(endpoint)) !== 0) {
      throw this.#lib.lastError(`bind "${endpoint}"`);
    }
    return this.getBytesOption(SocketBytesOption.LAST_ENDPOINT, 1024).replace(/\0+$/, "");
  }

  /** @param endpoint the endpoint to connect to */
  connect(endpoint: string): void {
    if (this.#symbols.zmq_connect(this.pointer, cString(endpoint)) !== 0) {
      throw this.#lib.lastError(`connect "${endpoint}"`);
    }
  }

  /** @param endpoint a previously connected endpoint */
  disconnect(endpoint: string): void {
    if (this.#symbols.zmq_disconnect(this.pointer, cString(endpoint)) !== 0) {
      throw this.#lib.lastError(`disconnect "${endpoint}"`);
    }
  }

  /**
   * @param option one of {@linkcode SocketOption}
   * @param value the integer value
   */
  setOption(option: number, value: number): void {
    this.#intOption[0] = value;
    const bytes = this.#intOptionBytes;
    if (this.#symbols.zmq_setsockopt(this.pointer, option, bytes, usize(4)) !== 0) {
      throw this.#lib.lastError(`setsockopt ${option}`);
    }
  }

  /**
   * Sets `ZMQ_MAXMSGSIZE`, which is a 64-bit option.
   *
   * @param bytes the largest message accepted from a peer, or -1 for no limit
   */
  setMaxMessageSize(bytes: number): void {
    const value = new BigInt64Array([BigInt(bytes)]);
    const raw = new Uint8Array(value.buffer);
    if (this.#symbols.zmq_setsockopt(this.pointer, SocketOption.MAXMSGSIZE, raw, usize(8)) !== 0) {
      throw this.#lib.lastError("setsockopt MAXMSGSIZE");
    }
  }

  /**
   * @param option one of {@linkcode SocketBytesOption}
   * @param value the bytes, or a string sent as UTF-8 without a terminator
   */
  setBytesOption(option: number, value: Uint8Array | string): void {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    if (this.#symbols.zmq_setsockopt(this.pointer, option, bytes, usize(bytes.length)) !== 0) {
      throw this.#lib.lastError(`setsockopt ${option}`);
    }
  }

  /**
   * @param option one of {@linkcode SocketOption}
   * @returns the option's integer value
   */
  getOption(option: number): number {
    this.#optionLength[0] = 4n;
    const bytes = this.#intOptionBytes;
    const length = this.#optionLengthBytes;
    if (this.#symbols.zmq_getsockopt(this.pointer, option, bytes, length) !== 0) {
      throw this.#lib.lastError(`getsockopt ${option}`);
    }
    return this.#intOption[0]!;
  }

  /**
   * @param option one of {@linkcode SocketBytesOption}
   * @param capacity the largest value expected
   * @returns the option's value decoded as UTF-8
   */
  getBytesOption(option: number, capacity: number): string {
    const value = new Uint8Array(capacity);
    this.#optionLength[0] = BigInt(capacity);
    const length = this.#optionLengthBytes;
    if (this.#symbols.zmq_getsockopt(this.pointer, option, value, length) !== 0) {
      throw this.#lib.lastError(`getsockopt ${option}`);
    }
    return new TextDecoder().decode(value.subarray(0, Number(this.#optionLength[0])));
  }

  /**
   * Sends one message made of one or more frames.
   *
   * @param frames a frame, or the frames in order
   * @param options {@linkcode SendOptions}
   * @returns false when `dontWait` was set and the message could not be queued
   */
  send(frames: Uint8Array | string | (Uint8Array | string)[], options: SendOptions = {}): boolean {
    const list = Array.isArray(frames) ? frames : [frames];
    const flags = options.dontWait ? ZMQ_DONTWAIT : 0;
    for (let i = 0; i < list.length; i++) {
      const frame = list[i]!;
      const bytes = typeof frame === "string" ? encoder.encode(frame) : frame;
      const more = i < list.length - 1 || options.more === true;
      if (!this.sendFrame(bytes, more ? flags | ZMQ_SNDMORE : flags)) return false;
    }
    return true;
  }

  /**
   * Sends one frame; the building block of {@linkcode ZmqSocket.send}, without
   * allocation, for request loops.
   *
   * @param bytes the frame
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns false when the frame could not be queued without waiting
   */
  sendFrame(bytes: Uint8Array, flags: number): boolean {
    return this.sendBytes(bytes, bytes.length, flags);
  }

  /**
   * Sends the first `length` bytes of a buffer as one frame, without making a view of
   * them: the allocation-free form of {@linkcode ZmqSocket.sendFrame}.
   *
   * @param buffer holds the frame at its start
   * @param length the frame's size
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns false when the frame could not be queued without waiting
   */
  sendBytes(buffer: Uint8Array, length: number, flags: number): boolean {
    const sent = this.#symbols.zmq_send(this.pointer, buffer, usize(length), flags);
    if (sent >= 0) return true;
    if ((flags & ZMQ_DONTWAIT) !== 0 && this.#symbols.zmq_errno() === Errno.EAGAIN) return false;
    throw this.#lib.lastError("send");
  }

  /**
   * Receives one whole message, blocking unless `dontWait`.
   *
   * @param options `dontWait: true` to return null instead of blocking
   * @returns the message's frames, or null when nothing was waiting and `dontWait` is set
   */
  receive(options: { dontWait?: boolean } = {}): Uint8Array[] | null {
    const frames: Uint8Array[] = [];
    const flags = options.dontWait ? ZMQ_DONTWAIT : 0;
    const message = this.#message;
    const symbols = this.#symbols;
    do {
      symbols.zmq_msg_init(message);
      const size = symbols.zmq_msg_recv(message, this.pointer, frames.length === 0 ? flags : 0);
      if (size < 0) {
        const error = this.#lib.lastError("receive");
        symbols.zmq_msg_close(message);
        if (error.errno === Errno.EAGAIN && frames.length === 0 && options.dontWait) return null;
        throw error;
      }
      const frame = new Uint8Array(size);
      const data = symbols.zmq_msg_data(message);
      if (size > 0 && data !== null) {
        frame.set(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(data, size)));
      }
      frames.push(frame);
      const more = symbols.zmq_msg_more(message) === 1;
      symbols.zmq_msg_close(message);
      if (!more) break;
    } while (true);
    return frames;
  }

  /**
   * Receives one frame into a caller's buffer, without allocation, for request loops.
   *
   * @param buffer where the frame's bytes go; a longer frame is cut to its length
   * @param flags 0 or `ZMQ_DONTWAIT`
   * @returns the frame's full size (larger than `buffer.length` when it was cut)
   */
  receiveFrameInto(buffer: Uint8Array, flags: number): number {
    const size = this.#symbols.zmq_recv(this.pointer, buffer, usize(buffer.length), flags);
    if (size < 0) throw this.#lib.lastError("receive");
    return size;
  }

  /**
   * Like {@linkcode ZmqSocket.receiveFrameInto}, but returns -1 instead of throwing when
   * nothing arrived (`ZMQ_DONTWAIT`, or the socket's receive timeout ran out): the cheap
   * test of a polling loop.
   *
   * @param buffer where the frame's bytes go
   * @param flags 0 or `ZMQ_DONTWAIT`
   * @returns the frame's full size, or -1 when nothing arrived
   */
  tryReceiveFrameInto(buffer: Uint8Array, flags: number): number {
    const size = this.#symbols.zmq_recv(this.pointer, buffer, usize(buffer.length), flags);
    if (size >= 0) return size;
    // Test errno before building an error: a polling loop meets EAGAIN all the time.
    if (this.#symbols.zmq_errno() === Errno.EAGAIN) return -1;
    throw this.#lib.lastError("receive");
  }

  /** @returns whether the last frame received has more frames after it */
  hasMore(): boolean {
    return this.getOption(SocketOption.RCVMORE) === 1;
  }

  /** Closes the socket; later calls throw. Closing twice is allowed. */
  close(): void {
    if (this.#pointer === null) return;
    this.#symbols.zmq_close(this.#pointer);
    this.#pointer = null;
  }

  /** Same as {@linkcode ZmqSocket.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Poll for incoming messages (`ZMQ_POLLIN`). */
export const ZMQ_POLLIN = 1;
const POLL_ITEM_SIZE = 16;

/**
 * Waits on several sockets at once with `zmq_poll`, for one thread driving many sockets
 * (a load generator, a client with a timeout).
 *
 * @example
 * ```ts ignore
 * const poller = new ZmqPoller(lib, [a, b]);
 * if (poller.poll(1000) > 0 && poller.readable(0)) a.receive();
 * ```
 */
export class ZmqPoller {
  readonly #lib: Libzmq;
  readonly #items: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  readonly #count: number;

  /**
   * @param lib the library the sockets belong to
   * @param sockets the sockets to watch for incoming messages
   */
  constructor(lib: Libzmq, sockets: ZmqSocket[]) {
    this.#lib = lib;
    this.#count = sockets.length;
    this.#items = new Uint8Array(POLL_ITEM_SIZE * sockets.length);
    this.#view = new DataView(this.#items.buffer);
    sockets.forEach((socket, i) => {
      const at = i * POLL_ITEM_SIZE;
      this.#view.setBigUint64(at, BigInt(Deno.UnsafePointer.value(socket.pointer)), true);
      this.#view.setInt16(at + 12, ZMQ_POLLIN, true);
    });
  }

  /**
   * Blocks until a socket has a message or the time runs out.
   *
   * @param timeoutMs milliseconds to wait; -1 waits forever
   * @returns how many sockets are readable
   */
  poll(timeoutMs: number): number {
    for (let i = 0; i < this.#count; i++) this.#view.setInt16(i * POLL_ITEM_SIZE + 14, 0, true);
    const ready = this.#lib.symbols.zmq_poll(this.#items, this.#count, BigInt(timeoutMs));
    if (ready < 0) throw this.#lib.lastError("zmq_poll");
    return ready;
  }

  /**
   * @param index the socket's position in the constructor's list
   * @returns whether the last poll found a message waiting on it
   */
  readable(index: number): boolean {
    return (this.#view.getInt16(index * POLL_ITEM_SIZE + 14, true) & ZMQ_POLLIN) !== 0;
  }
}

/**
 * One reusable `zmq_msg_t`, for moving frames from one socket to another without copying
 * them into JavaScript (a front end forwarding replies).
 */
export class ZmqMessage {
  readonly #lib: Libzmq;
  readonly #message = new Uint8Array(ZMQ_MSG_T_SIZE);

  /** @param lib the library, opened on this thread */
  constructor(lib: Libzmq) {
    this.#lib = lib;
  }

  /**
   * Receives the next frame from a socket into this message.
   *
   * @param socket where to receive from
   * @param flags 0 or `ZMQ_DONTWAIT`
   * @returns the frame's size, or -1 when `ZMQ_DONTWAIT` is set and nothing is waiting
   */
  receive(socket: ZmqSocket, flags: number): number {
    const symbols = this.#lib.symbols;
    symbols.zmq_msg_init(this.#message);
    const size = symbols.zmq_msg_recv(this.#message, socket.pointer, flags);
    if (size >= 0) return size;
    const errno = symbols.zmq_errno();
    symbols.zmq_msg_close(this.#message);
    if (errno === Errno.EAGAIN && (flags & ZMQ_DONTWAIT) !== 0) return -1;
    throw new ZmqError("receive", errno, this.#lib.strerror(errno));
  }

  /** @returns whether more frames follow the one last received */
  more(): boolean {
    return this.#lib.symbols.zmq_msg_more(this.#message) === 1;
  }

  /** @returns the first byte of the frame last received, or -1 when it is empty */
  firstByte(): number {
    const data = this.#lib.symbols.zmq_msg_data(this.#message);
    return data === null ? -1 : new Deno.UnsafePointerView(data).getUint8();
  }

  /** Releases the frame last received without sending it. */
  discard(): void {
    this.#lib.symbols.zmq_msg_close(this.#message);
  }

  /**
   * Sends the frame last received on another socket (libzmq takes the bytes over).
   *
   * @param socket where to send
   * @param flags `ZMQ_SNDMORE` and/or `ZMQ_DONTWAIT`
   * @returns false when `ZMQ_DONTWAIT` is set and the frame could not be queued
   */
  send(socket: ZmqSocket, flags: number): boolean {
    const symbols = this.#lib.symbols;
    if (symbols.zmq_msg_send(this.#message, socket.pointer, flags) >= 0) return true;
    const errno = symbols.zmq_errno();
    symbols.zmq_msg_close(this.#message);
    if (errno === Errno.EAGAIN && (flags & ZMQ_DONTWAIT) !== 0) return false;
    throw new ZmqError("send", errno, this.#lib.strerror(errno));
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

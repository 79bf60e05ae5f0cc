/**
 * A libzmq context, shareable with Web Workers by address.
 *
 * @module
 */

import type { Libzmq } from "./library.ts";
import { ZmqError } from "./errors.ts";
import { ZmqSocket } from "./socket.ts";
import type { SocketType } from "./constants.ts";

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
   * Makes every blocking call on this context's sockets fail with `ETERM`. Sockets must
   * still be closed afterwards.
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
}

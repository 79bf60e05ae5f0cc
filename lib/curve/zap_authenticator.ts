/**
 * The main thread's side of the ZAP handler (`zap_worker.ts`): starts the worker, puts
 * new allow-lists in force, reports refused clients, and reads the counters.
 *
 * @module
 */

import type { Libzmq, ZmqContext } from "../zmq/mod.ts";
import { WorkerHandle } from "../worker/mod.ts";
import type { AllowListUpdate, RefusalEvent, ZapSetup } from "./zap_worker.ts";
import { ZapState } from "./zap_state.ts";

/**
 * A refused CURVE client, as reported (rate-limited) by the ZAP worker: its key, its
 * address as libzmq gives it (the IP address over TCP; over `ipc://` on Linux,
 * `localhost:UID:GID:PID` of the client process), and the refusals of this key held back
 * since its last report (within 10 s).
 */
export type Refusal = RefusalEvent;

/** Options for {@linkcode ZapAuthenticator.start}. */
export interface AuthenticatorOptions {
  /** The loaded libzmq. */
  lib: Libzmq;
  /** The context of the socket whose handshakes are checked. */
  context: ZmqContext;
  /** That socket's `ZMQ_ZAP_DOMAIN`. */
  domain: string;
  /** The client public keys let in, in Z85. */
  allowList: readonly string[];
  /** Called for refused clients, at most once per key per 10 s. */
  onRefused?: (refusal: Refusal) => void;
}

/** How long an allow-list may take to come into force before it is called lost. */
const APPLY_TIMEOUT_MS = 10_000;

type ZapHandle = WorkerHandle<ZapSetup, AllowListUpdate, RefusalEvent>;

/**
 * A running ZAP handler. Start it before the socket it guards binds; it stops when the
 * context is shut down.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq, SocketBytesOption, SocketOption } from "../zmq/mod.ts";
 * import { SocketType, ZmqContext } from "../zmq/mod.ts";
 * import { ZapAuthenticator } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const context = ZmqContext.create(lib);
 * const [server, client] = [lib.curveKeypair(), lib.curveKeypair()];
 * const zap = await ZapAuthenticator.start({
 *   lib,
 *   context,
 *   domain: "geoipmq",
 *   allowList: [client.publicKey],
 *   onRefused: ({ key }) => console.log(`refused ${key}`),
 * });
 * const router = context.socket(SocketType.ROUTER);
 * router.setOption(SocketOption.CURVE_SERVER, 1);
 * router.setBytesOption(SocketBytesOption.CURVE_SECRETKEY, server.secretKey);
 * router.setBytesOption(SocketBytesOption.ZAP_DOMAIN, "geoipmq");
 * const dealer = context.socket(SocketType.DEALER);
 * dealer.setBytesOption(SocketBytesOption.CURVE_SERVERKEY, server.publicKey);
 * dealer.setBytesOption(SocketBytesOption.CURVE_PUBLICKEY, client.publicKey);
 * dealer.setBytesOption(SocketBytesOption.CURVE_SECRETKEY, client.secretKey);
 * dealer.connect(router.bind("tcp://127.0.0.1:*"));
 * dealer.send("hello");
 * router.setOption(SocketOption.RCVTIMEO, 2000);
 * assert.equal(router.receive()!.length, 2); // [the client's routing id, "hello"]
 * assert.equal(zap.state.allowed, 1);
 * await zap.setAllowList([]); // in force when it settles: no new client gets in
 * [router, dealer].forEach((socket) => socket.close());
 * context.shutdown(); // stops the handler
 * await zap.stopped;
 * zap.terminate();
 * await context.terminate();
 * ```
 */
export class ZapAuthenticator {
  /** The counters and the size of the list in force. */
  readonly state: ZapState;
  readonly #handle: ZapHandle;
  #generation = 0;

  private constructor(handle: ZapHandle, state: ZapState) {
    this.#handle = handle;
    this.state = state;
  }

  /**
   * Starts the worker and waits until its socket is bound.
   *
   * @param options the library, context, domain, first allow-list and refusal callback
   * @returns the running handler
   * @throws {Error} when the worker cannot bind (e.g. the context has a handler already)
   */
  static async start(options: AuthenticatorOptions): Promise<ZapAuthenticator> {
    const state = ZapState.create();
    const handle: ZapHandle = WorkerHandle.spawn(
      new URL("./zap_worker.ts", import.meta.url),
      {
        libzmqPath: options.lib.path,
        contextAddress: options.context.address,
        domain: options.domain,
        allowList: { generation: 0, keys: [...options.allowList] },
        state: state.buffer,
      },
      { name: "ZAP handler", onEvent: (refusal) => options.onRefused?.(refusal) },
    );
    try {
      await handle.ready;
    } catch (error) {
      handle.terminate();
      throw error;
    }
    return new ZapAuthenticator(handle, state);
  }

  /** Settles when the worker has closed its socket (after a context shutdown). */
  get stopped(): Promise<void> {
    return this.#handle.stopped;
  }

  /** Settles with the reason if the worker fails after it started. */
  get failed(): Promise<string> {
    return this.#handle.failed;
  }

  /**
   * Puts a new allow-list in force; handshakes checked after the promise settles use it.
   *
   * @param keys the client public keys let in, in Z85
   * @returns a promise that settles once the worker uses the list
   * @throws {Error} when the worker has stopped, or does not take the list in time
   */
  async setAllowList(keys: readonly string[]): Promise<void> {
    if (!this.#handle.alive) throw new Error("the ZAP handler is not running");
    const generation = ++this.#generation;
    const applied = this.#handle.update({ generation, keys: [...keys] });
    this.state.announce(generation);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), APPLY_TIMEOUT_MS)
    );
    const outcome = await Promise.race([applied, late]);
    clearTimeout(timer);
    if (outcome === "late") throw new Error("the ZAP handler did not take the list in time");
    if (outcome === "stopped") throw new Error("the ZAP handler stopped");
  }

  /** Ends the worker at once; call after {@linkcode ZapAuthenticator.stopped} settles. */
  terminate(): void {
    this.#handle.terminate();
  }
}

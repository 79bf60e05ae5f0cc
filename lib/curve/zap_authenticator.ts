/**
 * The main thread's side of the ZAP handler (`zap_worker.ts`): starts the worker, puts
 * new allow-lists in force, reports refused clients, and reads the counters.
 *
 * @module
 */

import type { Libzmq, ZmqContext } from "../zmq/libzmq.ts";
import type { AllowListUpdate, ZapEvent, ZapSetup } from "./zap_worker.ts";
import { ZapState } from "./zap_state.ts";

/** A refused CURVE client, as reported (rate-limited) by the ZAP worker. */
export interface Refusal {
  /** The client's public key, in Z85. */
  key: string;
  /**
   * The client's address as libzmq gives it: the IP address over TCP; over `ipc://` on
   * Linux, `localhost:UID:GID:PID` of the client process.
   */
  address: string;
  /** Refusals of this key not reported since the last report (within 10 s). */
  held: number;
}

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

/**
 * A running ZAP handler. Start it before the socket it guards binds; it stops when the
 * context is shut down.
 *
 * @example
 * ```ts ignore
 * const zap = await ZapAuthenticator.start({ lib, context, domain: "geoipmq",
 *   allowList: [clientKey], onRefused: ({ key }) => console.log(`refused ${key}`) });
 * router.setBytesOption(SocketBytesOption.ZAP_DOMAIN, "geoipmq");
 * await zap.setAllowList([clientKey, otherKey]); // in force when it settles
 * ```
 */
export class ZapAuthenticator {
  /** The counters and the size of the list in force. */
  readonly state: ZapState;
  /** Settles when the worker has closed its socket (after a context shutdown). */
  readonly stopped: Promise<void>;
  /** Settles with the reason if the worker fails after it started. */
  readonly failed: Promise<string>;
  readonly #worker: Worker;
  readonly #applied = new Map<number, () => void>();
  #generation: number;
  #alive = true;

  private constructor(parts: {
    worker: Worker;
    state: ZapState;
    stopped: Promise<void>;
    failed: Promise<string>;
    generation: number;
  }) {
    this.#worker = parts.worker;
    this.state = parts.state;
    this.stopped = parts.stopped;
    this.failed = parts.failed;
    this.#generation = parts.generation;
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
    const worker = new Worker(new URL("./zap_worker.ts", import.meta.url), {
      type: "module",
      name: "geoipmq-zap",
    });
    const ready = Promise.withResolvers<void>();
    const stopped = Promise.withResolvers<void>();
    const failed = Promise.withResolvers<string>();
    const authenticator = new ZapAuthenticator({
      worker,
      state,
      stopped: stopped.promise,
      failed: failed.promise,
      generation: 0,
    });
    const fail = (message: string) => {
      const error = `ZAP handler failed: ${message}`;
      ready.reject(new Error(error));
      failed.resolve(error);
      stopped.resolve();
      authenticator.#alive = false;
    };
    worker.onmessage = (event: MessageEvent<ZapEvent>) => {
      const message = event.data;
      if (message.type === "ready") ready.resolve();
      else if (message.type === "applied") {
        authenticator.#settle(message.generation);
      } else if (message.type === "refused") {
        options.onRefused?.({ key: message.key, address: message.address, held: message.held });
      } else if (message.type === "stopped") {
        authenticator.#alive = false;
        ready.reject(new Error("ZAP handler stopped before it was ready"));
        stopped.resolve();
      } else fail(message.message);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      fail(event.message);
    };
    const setup: ZapSetup = {
      type: "setup",
      libzmqPath: options.lib.path,
      contextAddress: options.context.address,
      domain: options.domain,
      allowList: { type: "allow-list", generation: 0, keys: [...options.allowList] },
      state: state.buffer,
    };
    worker.postMessage(setup);
    try {
      await ready.promise;
    } catch (error) {
      worker.terminate();
      throw error;
    }
    return authenticator;
  }

  /**
   * Puts a new allow-list in force; handshakes checked after the promise settles use it.
   *
   * @param keys the client public keys let in, in Z85
   * @returns a promise that settles once the worker uses the list
   * @throws {Error} when the worker has stopped, or does not take the list in time
   */
  async setAllowList(keys: readonly string[]): Promise<void> {
    if (!this.#alive) throw new Error("the ZAP handler is not running");
    const generation = ++this.#generation;
    const applied = new Promise<void>((resolve) => this.#applied.set(generation, resolve));
    const update: AllowListUpdate = { type: "allow-list", generation, keys: [...keys] };
    this.#worker.postMessage(update);
    this.state.announce(generation);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), APPLY_TIMEOUT_MS)
    );
    const stopped = this.stopped.then(() => "stopped" as const);
    const outcome = await Promise.race([applied.then(() => "applied" as const), late, stopped]);
    clearTimeout(timer);
    this.#applied.delete(generation);
    if (outcome === "late") throw new Error("the ZAP handler did not take the list in time");
    if (outcome === "stopped") throw new Error("the ZAP handler stopped");
  }

  /** Ends the worker at once; call after {@linkcode ZapAuthenticator.stopped} settles. */
  terminate(): void {
    this.#alive = false;
    this.#worker.terminate();
  }

  /** Resolves every waiter up to a generation (a later list replaces earlier ones). */
  #settle(generation: number): void {
    for (const [waiting, resolve] of this.#applied) {
      if (waiting <= generation) resolve();
    }
  }
}

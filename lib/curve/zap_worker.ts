/**
 * The ZAP handler: a Web Worker that answers libzmq's ZAP requests (see
 * `zap_protocol.ts`) in a blocking loop, so the CURVE allow-list is checked without
 * touching the main thread. It binds a REP socket at `inproc://zeromq.zap.01` in the
 * server's context, lets in (`200`) a CURVE client whose public key is on the allow-list
 * and refuses (`400`) every other one; libzmq then drops the refused peer, which gets no
 * answer.
 *
 * It speaks the service's one worker channel (`lib/worker`): one {@linkcode ZapSetup}, then
 * an {@linkcode AllowListUpdate} before each change the main thread announces through the
 * {@linkcode ZapState} (the loop looks at it between requests and at least every
 * {@linkcode CONTROL_POLL_MS}); it emits a {@linkcode RefusalEvent} per refused client
 * worth a log line. The loop ends when the context is shut down (`ETERM`).
 *
 * @module
 */

import { Errno, Libzmq, SocketOption, SocketType, ZmqContext, ZmqError } from "../zmq/mod.ts";
import { CONTROL_POLL_MS, serveWorker, type WorkerPort } from "../worker/mod.ts";
import { RefusalLimiter } from "./refusal_limiter.ts";
import { parseZapRequest, ZAP_ENDPOINT, zapReply } from "./zap_protocol.ts";
import { ZapState } from "./zap_state.ts";

/** The message that starts the ZAP worker. */
export interface ZapSetup {
  /** The libzmq the main thread loaded. */
  libzmqPath: string;
  /** The server's context ({@linkcode ZmqContext.address}). */
  contextAddress: bigint;
  /** The ROUTER's `ZMQ_ZAP_DOMAIN`; requests for another domain are refused. */
  domain: string;
  /** The allow-list to start with. */
  allowList: AllowListUpdate;
  /** The {@linkcode ZapState} buffer. */
  state: SharedArrayBuffer;
}

/** An allow-list to put in force. */
export interface AllowListUpdate {
  /** Its generation, as announced through the {@linkcode ZapState}. */
  generation: number;
  /** The client public keys let in, in Z85. */
  keys: readonly string[];
}

/** A refused client, as the ZAP worker reports it (at most once per key per 10 s). */
export interface RefusalEvent {
  /** The client's key, in Z85. */
  key: string;
  /** The client's address as libzmq gives it. */
  address: string;
  /** Refusals of this key not reported since its last report. */
  held: number;
}

/**
 * Answers ZAP requests until the context is shut down. This module's worker entry (at its
 * end) runs it; `zap_authenticator.ts` is the main thread's side.
 *
 * @param setup what the main thread sent first
 * @param port the channel to the main thread
 */
export async function serveZap(
  setup: ZapSetup,
  port: WorkerPort<AllowListUpdate, RefusalEvent>,
): Promise<void> {
  const lib = Libzmq.open(setup.libzmqPath);
  const context = ZmqContext.fromAddress(lib, setup.contextAddress);
  const state = ZapState.fromBuffer(setup.state);
  const limiter = new RefusalLimiter();
  const socket = context.socket(SocketType.REP);
  try {
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.RCVTIMEO, CONTROL_POLL_MS);
    socket.bind(ZAP_ENDPOINT);
    let allowed = new Set(setup.allowList.keys);
    let generation = setup.allowList.generation;
    state.setKeyCount(allowed.size);
    port.ready();
    while (true) {
      // An announced list was posted before its announcement: it is in the queue.
      while (state.generation !== generation) {
        const update = await port.nextUpdate();
        allowed = new Set(update.keys);
        generation = update.generation;
        state.setKeyCount(allowed.size);
        port.applied(generation, true);
      }
      let frames: Uint8Array[];
      try {
        frames = socket.receive()!;
      } catch (error) {
        if (errnoOf(error) === Errno.EAGAIN || errnoOf(error) === Errno.EINTR) continue;
        if (errnoOf(error) === Errno.ETERM) break;
        throw error;
      }
      const decision = decide(lib, frames, setup.domain, allowed);
      // Count before answering: once a client is let in, the count says so.
      if (decision.key !== undefined) {
        if (decision.allowed) state.recordAllowed();
        else state.recordRefused();
      }
      try {
        socket.send(decision.reply);
      } catch (error) {
        if (errnoOf(error) === Errno.ETERM) break;
        throw error;
      }
      if (decision.key === undefined || decision.allowed) continue;
      const held = limiter.note(decision.key, Date.now());
      if (held !== null) port.emit({ key: decision.key, address: decision.address, held });
    }
  } finally {
    socket.close();
  }
}

/** The answer to one ZAP request, and what to count. */
interface Decision {
  reply: Uint8Array[];
  /** The client's key, in Z85, when the request was a CURVE handshake. */
  key?: string;
  address: string;
  allowed: boolean;
}

function decide(
  lib: Libzmq,
  frames: Uint8Array[],
  domain: string,
  allowed: ReadonlySet<string>,
): Decision {
  const request = parseZapRequest(frames);
  if (typeof request === "string") {
    return { reply: zapReply(frames[1] ?? new Uint8Array(0), "400", request, ""), ...NO_KEY };
  }
  const refuse = (reason: string): Decision => ({
    reply: zapReply(request.requestId, "400", reason, ""),
    ...NO_KEY,
  });
  if (request.domain !== domain) return refuse(`unknown ZAP domain`);
  const credential = request.credentials[0];
  if (request.mechanism !== "CURVE" || credential?.length !== 32) {
    return refuse("only CURVE clients are let in");
  }
  const key = lib.z85Encode(credential);
  if (allowed.has(key)) {
    return {
      reply: zapReply(request.requestId, "200", "OK", key),
      key,
      address: request.address,
      allowed: true,
    };
  }
  return {
    reply: zapReply(request.requestId, "400", "not on the allow-list", ""),
    key,
    address: request.address,
    allowed: false,
  };
}

const NO_KEY = { address: "", allowed: false } as const;

function errnoOf(error: unknown): number {
  return error instanceof ZmqError ? error.errno : -1;
}

serveWorker(serveZap);

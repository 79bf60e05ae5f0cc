/**
 * Knows a starting service is ready by asking it: a `ping` over ZeroMQ answered `pong` (a
 * REQ socket with a short time-out, opened afresh each attempt: Lazy Pirate), or
 * `GET /healthz` answered 200 when it serves HTTP on a known port.
 *
 * @module
 */

import { Libzmq, SocketBytesOption, SocketOption, SocketType, ZmqContext } from "../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../lib/zmq/mod.ts";
import { type EndpointPlan, reachable } from "./endpoint_plan.ts";

/** How long one readiness question may wait for its answer. */
const PROBE_TIMEOUT_MS = 250;

/** A client's CURVE keys, in Z85, for a service that requires CURVE. */
export interface ProbeCurveKeys {
  /** The service's public key. */
  serverKey: string;
  /** This client's public key (on the service's allow-list). */
  publicKey: string;
  /** This client's secret key. */
  secretKey: string;
}

/** Where and how to ask a service whether it is ready. */
export interface ServiceProbe {
  /**
   * The ZeroMQ endpoint to `ping` (default: the first endpoint bound); for an instance
   * started with `--connect` alone, the front end of the broker it connects to.
   */
  endpoint?: string;
  /** Client keys for a service that requires CURVE. */
  curve?: ProbeCurveKeys;
  /** The request to send (default `ping`). */
  request?: string;
  /**
   * Whether a reply means ready (default: it is `pong`). Behind a broker another instance
   * may answer: check something only this one says.
   */
  accept?: (reply: string) => boolean;
}

/** What {@linkcode waitUntilReady} asks, where, and for how long. */
export interface ReadinessQuestion {
  /** The service's endpoints and whether it serves `GET /healthz`. */
  plan: EndpointPlan;
  /** Where and how to ask; a string is a ZeroMQ endpoint. */
  probe: string | ServiceProbe | undefined;
  /** When to give up, in `Date.now()` milliseconds. */
  deadline: number;
}

/**
 * Asks a starting service until it answers: `GET /healthz` when it serves plain HTTP on a
 * known port and no ZeroMQ endpoint is given, else `ping` over ZeroMQ.
 *
 * @param exit the service's exit status, settled when it exits
 * @param question where, how and until when to ask
 * @returns `undefined` when ready, else why not
 */
export async function waitUntilReady(
  exit: Promise<unknown>,
  question: ReadinessQuestion,
): Promise<"exited" | "timeout" | undefined> {
  const { plan, deadline } = question;
  let exited = false;
  exit.then(() => exited = true, () => exited = true);
  const probe: ServiceProbe = typeof question.probe === "string"
    ? { endpoint: question.probe }
    : question.probe ?? {};
  const ask = probe.endpoint === undefined && plan.healthz !== undefined
    ? httpAsker(plan.healthz)
    : zmqAsker(probe, plan);
  try {
    while (!exited) {
      if (Date.now() >= deadline) return "timeout";
      const attemptStarted = Date.now();
      if (await ask.ready()) return exited ? "exited" : undefined;
      // A refused connection fails at once: pace the questions.
      const spent = Date.now() - attemptStarted;
      if (spent < 50) await new Promise((resolve) => setTimeout(resolve, 50 - spent));
    }
    return "exited";
  } finally {
    await ask.close();
  }
}

interface Asker {
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Lazy Pirate over a REQ socket: send, wait up to {@linkcode PROBE_TIMEOUT_MS} for the
 * reply without blocking this thread, and on silence close the socket and open a new one.
 */
function zmqAsker(probe: ServiceProbe, plan: EndpointPlan): Asker {
  const endpoint = probe.endpoint ?? reachable(plan.endpoints[0]!);
  const lib = Libzmq.open(bundledLibzmqPath());
  const context = ZmqContext.create(lib);
  const accept = probe.accept ?? ((reply: string) => reply === "pong");
  const decoder = new TextDecoder();
  const curve = probe.curve === undefined ? [] : [
    [SocketBytesOption.CURVE_SERVERKEY, probe.curve.serverKey],
    [SocketBytesOption.CURVE_PUBLICKEY, probe.curve.publicKey],
    [SocketBytesOption.CURVE_SECRETKEY, probe.curve.secretKey],
  ] as const;
  const open = () => {
    const socket = context.socket(SocketType.REQ);
    socket.setOption(SocketOption.LINGER, 0);
    socket.setOption(SocketOption.IPV6, 1);
    for (const [option, key] of curve) socket.setBytesOption(option, key);
    socket.connect(endpoint);
    return socket;
  };
  return {
    async ready() {
      const socket = open();
      try {
        if (!socket.send(probe.request ?? "ping", { dontWait: true })) return false;
        const deadline = Date.now() + PROBE_TIMEOUT_MS;
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          const frames = socket.receive({ dontWait: true });
          if (frames !== null) return accept(decoder.decode(frames[0]));
        }
        return false;
      } finally {
        socket.close();
      }
    },
    async close() {
      await context.terminate();
      lib.close();
    },
  };
}

function httpAsker(url: string): Asker {
  return {
    async ready() {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        await response.body?.cancel();
        return response.status === 200;
      } catch {
        return false;
      }
    },
    close: () => Promise.resolve(),
  };
}

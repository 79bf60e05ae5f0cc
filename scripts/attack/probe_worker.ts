/**
 * The well-behaved client of the attack bench, run in a Worker so that its blocking
 * libzmq calls do not stall the attacks: one lock-step REQ socket asks `geoip <random
 * address>` again and again, each with a time limit; a request not answered in time
 * counts as unanswered and the socket is replaced (the "Lazy Pirate" way). When the
 * main thread sets the stop flag it asks `ping` once on a new socket (is the service
 * still answering?) and posts a {@linkcode ProbeResult}.
 *
 * @module
 */

import * as zmq from "../../lib/zmq/mod.ts";

/** What the worker is started with. */
export interface ProbeStart {
  /** Where to send requests. */
  endpoint: string;
  /** Element 0 becomes non-zero when the worker should stop. */
  stop: SharedArrayBuffer;
  /** How long a request may take to count as answered. */
  timeoutMs: number;
  /** CURVE keys of an allowed client, for a CURVE service. */
  curve?: { serverKey: string; publicKey: string; secretKey: string };
}

/** What the worker reports once stopped. */
export interface ProbeResult {
  /** Requests sent. */
  sent: number;
  /** Round-trip times of the requests answered in time, in milliseconds. */
  latenciesMs: number[];
  /** Answers that were error replies. */
  errorReplies: number;
  /** The longest time without any answer while the client ran, in milliseconds. */
  longestStallMs: number;
  /**
   * Whether a `ping` on a new socket got `pong` after the stop (asked again a second
   * later when it was refused as rate limited).
   */
  alive: boolean;
}

const decoder = new TextDecoder();
/** The answer to a request over `--rate-limit`. */
const RATE_LIMITED = "ERROR\trate limited";

function openSocket(context: zmq.ZmqContext, start: ProbeStart): zmq.ZmqSocket {
  const socket = context.socket(zmq.SocketType.REQ);
  socket.setOption(zmq.SocketOption.LINGER, 0);
  socket.setOption(zmq.SocketOption.RCVTIMEO, start.timeoutMs);
  socket.setOption(zmq.SocketOption.SNDTIMEO, start.timeoutMs);
  if (start.curve !== undefined) {
    socket.setBytesOption(zmq.SocketBytesOption.CURVE_SERVERKEY, start.curve.serverKey);
    socket.setBytesOption(zmq.SocketBytesOption.CURVE_PUBLICKEY, start.curve.publicKey);
    socket.setBytesOption(zmq.SocketBytesOption.CURVE_SECRETKEY, start.curve.secretKey);
  }
  socket.connect(start.endpoint);
  return socket;
}

/** Sends one request; returns the reply text, or null when it did not come in time. */
function ask(socket: zmq.ZmqSocket, request: string): string | null {
  try {
    socket.send(request);
    const reply = socket.receive();
    return reply === null ? null : decoder.decode(reply.at(-1));
  } catch (error) {
    if (error instanceof zmq.ZmqError && error.errno === zmq.Errno.EAGAIN) return null;
    throw error;
  }
}

async function run(start: ProbeStart): Promise<ProbeResult> {
  const lib = zmq.Libzmq.open(zmq.bundledLibzmqPath());
  const context = zmq.ZmqContext.create(lib);
  const stop = new Int32Array(start.stop);
  const result: ProbeResult = {
    sent: 0,
    latenciesMs: [],
    errorReplies: 0,
    longestStallMs: 0,
    alive: false,
  };
  let lastAnswer = performance.now();
  let socket = openSocket(context, start);
  while (Atomics.load(stop, 0) === 0) {
    const address = [0, 0, 0, 0].map(() => Math.floor(Math.random() * 256)).join(".");
    const started = performance.now();
    result.sent++;
    const reply = ask(socket, `geoip ${address}`);
    if (reply === null) {
      socket.close();
      socket = openSocket(context, start);
      continue;
    }
    const now = performance.now();
    result.latenciesMs.push(now - started);
    result.longestStallMs = Math.max(result.longestStallMs, now - lastAnswer);
    lastAnswer = now;
    if (reply.startsWith("error")) result.errorReplies++;
  }
  result.longestStallMs = Math.max(result.longestStallMs, performance.now() - lastAnswer);
  socket.close();
  socket = openSocket(context, start);
  let pong = ask(socket, "ping");
  if (pong === RATE_LIMITED) {
    // Under --rate-limit the probe has spent its address's budget: ask again once it refilled.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    pong = ask(socket, "ping");
  }
  result.alive = pong === "pong";
  socket.close();
  await context.terminate();
  return result;
}

// A Worker's global scope: receive the start message, post the result.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ProbeStart>) => void) | null;
  postMessage(message: ProbeResult | { error: string }): void;
};
scope.onmessage = (event) => {
  scope.onmessage = null;
  run(event.data).then(
    (result) => scope.postMessage(result),
    (error) => scope.postMessage({ error: String(error) }),
  );
};

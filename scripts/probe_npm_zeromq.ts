#!/usr/bin/env -S deno run --allow-all
/**
 * Tells whether `npm:zeromq`'s own API works on the running Deno across processes, so the
 * FFI binding in `lib/libzmq.ts` can be retired the day it does.
 *
 * Two checks, each with `npm:zeromq` in a child process (a crash there is a finding, not
 * the end of the probe) and this process on the FFI binding as the other side:
 * - `reply`: an `npm:zeromq` Reply socket must answer 3 requests from this process;
 * - `request`: an `npm:zeromq` Request socket must get 3 replies from this process.
 *
 * ```sh
 * deno task probe   # exit 0: npm:zeromq works here; exit 1: it does not
 * ```
 *
 * @module
 */

import { Libzmq, SocketOption, SocketType, ZmqContext, type ZmqSocket } from "../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../lib/zmq/mod.ts";

const ROUNDS = 3;
const TIMEOUT_MS = 3000;
const decoder = new TextDecoder();

type Role = "reply" | "request";

/** The child side: `npm:zeromq` serving or asking on `endpoint`. */
async function runChild(role: Role, endpoint: string): Promise<void> {
  const zmq = await import("zeromq");
  if (role === "reply") {
    const socket = new zmq.Reply();
    await socket.bind(endpoint);
    console.log(socket.lastEndpoint);
    for (let i = 0; i < ROUNDS; i++) {
      const [request] = await socket.receive();
      await socket.send(`echo ${decoder.decode(request)}`);
    }
    socket.close();
  } else {
    const socket = new zmq.Request({ receiveTimeout: TIMEOUT_MS });
    socket.connect(endpoint);
    for (let i = 0; i < ROUNDS; i++) {
      await socket.send(`hello ${i}`);
      const [reply] = await socket.receive();
      console.log(decoder.decode(reply));
    }
    socket.close();
  }
}

function startChild(role: Role, endpoint: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--child", role, endpoint],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

async function finish(child: Deno.ChildProcess): Promise<string> {
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const status = await child.status;
  clearTimeout(timer);
  if (status.signal !== null) return `child ended by ${status.signal}`;
  return `child exited with ${status.code}`;
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string | undefined> {
  const lines = stream.pipeThrough(new TextDecoderStream());
  let text = "";
  for await (const chunk of lines) {
    text += chunk;
    if (text.includes("\n")) break;
  }
  return text.includes("\n") ? text.slice(0, text.indexOf("\n")) : undefined;
}

function timedSocket(context: ZmqContext, type: SocketType): ZmqSocket {
  const socket = context.socket(type);
  socket.setOption(SocketOption.LINGER, 0);
  socket.setOption(SocketOption.RCVTIMEO, TIMEOUT_MS);
  socket.setOption(SocketOption.SNDTIMEO, TIMEOUT_MS);
  return socket;
}

async function probeReply(context: ZmqContext): Promise<number> {
  const child = startChild("reply", "tcp://127.0.0.1:*");
  const timer = setTimeout(() => child.kill("SIGKILL"), 4 * TIMEOUT_MS);
  const endpoint = await firstLine(child.stdout);
  clearTimeout(timer);
  if (endpoint === undefined) {
    console.log(`reply:   npm:zeromq Reply did not bind (${await finish(child)})`);
    return 0;
  }
  let answered = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const socket = timedSocket(context, SocketType.REQ);
    socket.connect(endpoint);
    try {
      socket.send(`hello ${i}`);
      if (decoder.decode(socket.receive()![0]) === `echo hello ${i}`) answered++;
    } catch {
      // A timeout: the Reply did not answer.
    } finally {
      socket.close();
    }
  }
  console.log(
    `reply:   npm:zeromq Reply answered ${answered} of ${ROUNDS} (${await finish(child)})`,
  );
  return answered;
}

async function probeRequest(context: ZmqContext): Promise<number> {
  const socket = timedSocket(context, SocketType.REP);
  const endpoint = socket.bind("tcp://127.0.0.1:*");
  const child = startChild("request", endpoint);
  let served = 0;
  for (let i = 0; i < ROUNDS; i++) {
    try {
      const request = socket.receive()!;
      socket.send(`echo ${decoder.decode(request[0])}`);
      served++;
    } catch {
      break;
    }
  }
  socket.close();
  const status = await finish(child);
  console.log(`request: npm:zeromq Request sent ${served} of ${ROUNDS} requests (${status})`);
  return served;
}

/** Runs both checks and prints a verdict; returns the exit code. */
async function main(): Promise<number> {
  const lib = Libzmq.open(bundledLibzmqPath());
  const context = ZmqContext.create(lib);
  console.log(`Deno ${Deno.version.deno}, libzmq ${lib.version()} through FFI on the other side`);
  const reply = await probeReply(context);
  const request = await probeRequest(context);
  await context.terminate();
  const works = reply === ROUNDS && request === ROUNDS;
  console.log(
    works
      ? "verdict: npm:zeromq works across processes on this Deno; the FFI binding can be retired"
      : "verdict: npm:zeromq does not work across processes on this Deno; keep the FFI binding",
  );
  return works ? 0 : 1;
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    await runChild(Deno.args[1] as Role, Deno.args[2]!);
  } else if (Deno.args.length > 0) {
    console.error(`probe_npm_zeromq: takes no arguments, got "${Deno.args.join(" ")}"`);
    Deno.exit(2);
  } else {
    Deno.exit(await main());
  }
}

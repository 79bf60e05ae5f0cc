#!/usr/bin/env -S deno run --allow-all
/**
 * Shows, on the libzmq the service loads, what libzmq bounds and what it does not, with
 * measurements made in this one process (a ROUTER that never reads, a raw ZMTP speaker or
 * a libzmq DEALER feeding it):
 *
 * 1. `ZMQ_RCVHWM` counts whole messages and `ZMQ_MAXMSGSIZE` one frame: a message whose
 *    frames all have MORE and never end is held in memory however long it grows.
 * 2. A frame one byte over `ZMQ_MAXMSGSIZE` makes libzmq drop the connection.
 * 3. The high-water marks count messages, whatever their size: bigger messages, more bytes.
 * 4. A ROUTER's replies to a peer that does not read: past `ZMQ_SNDHWM` they are dropped
 *    silently, or refused with `EAGAIN` under `ZMQ_ROUTER_MANDATORY`.
 *
 * ```sh
 * deno run --allow-all scripts/zmq_limits.ts
 * deno run --allow-all scripts/zmq_limits.ts --libzmq /usr/lib/x86_64-linux-gnu/libzmq.so.5
 * ```
 *
 * @module
 */

import {
  Libzmq,
  SocketOption,
  SocketType,
  ZmqContext,
  ZmqError,
  type ZmqSocket,
} from "../lib/zmq/mod.ts";
import { bundledLibzmqPath } from "../lib/zmq/mod.ts";
import { encodeFrame, scriptArgs, ZmtpSpeaker } from "../tooling/mod.ts";

function rssMb(): number {
  const match = Deno.readTextFileSync("/proc/self/status").match(/^VmRSS:\s+(\d+) kB/m);
  return Number(match?.[1] ?? 0) / 1024;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A ROUTER on a free loopback port that nobody reads unless the caller does. */
function bindRouter(
  context: ZmqContext,
  options: { rcvhwm?: number; sndhwm?: number; maxMessageSize?: number; mandatory?: boolean },
): { router: ZmqSocket; endpoint: string } {
  const router = context.socket(SocketType.ROUTER);
  router.setOption(SocketOption.LINGER, 0);
  if (options.rcvhwm !== undefined) router.setOption(SocketOption.RCVHWM, options.rcvhwm);
  if (options.sndhwm !== undefined) router.setOption(SocketOption.SNDHWM, options.sndhwm);
  if (options.maxMessageSize !== undefined) router.setMaxMessageSize(options.maxMessageSize);
  if (options.mandatory === true) router.setOption(SocketOption.ROUTER_MANDATORY, 1);
  return { router, endpoint: router.bind("tcp://127.0.0.1:*") };
}

async function endlessMultipart(context: ZmqContext): Promise<string> {
  const { router, endpoint } = bindRouter(context, { rcvhwm: 10, maxMessageSize: 65536 });
  const speaker = await ZmtpSpeaker.connect(endpoint);
  const frame = encodeFrame(new Uint8Array(30 * 1024), { more: true });
  const chunk = new Uint8Array(frame.length * 32);
  for (let i = 0; i < 32; i++) chunk.set(frame, i * frame.length);
  const before = rssMb();
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < 2000 && sent < 500e6) {
    await speaker.sendRaw(chunk);
    sent += chunk.length;
  }
  await sleep(300);
  const grown = rssMb() - before;
  speaker.close();
  await sleep(300);
  const kept = rssMb() - before;
  router.close();
  return `1. RCVHWM 10, MAXMSGSIZE 65536, frames of 30 KB all with MORE: ` +
    `${(sent / 1e6).toFixed(0)} MB sent in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s, ` +
    `RSS +${grown.toFixed(0)} MB; after the connection closed +${kept.toFixed(0)} MB`;
}

async function frameOverLimit(context: ZmqContext): Promise<string> {
  const { router, endpoint } = bindRouter(context, { maxMessageSize: 65536 });
  router.setOption(SocketOption.RCVTIMEO, 2000);
  const speaker = await ZmtpSpeaker.connect(endpoint);
  await speaker.sendFrame(new Uint8Array(65536));
  const atLimit = router.receive();
  await speaker.sendFrame(new Uint8Array(65537));
  const outcome = await speaker.receive(1500).then(
    () => "a message",
    (error) => (error as Error).message,
  );
  speaker.close();
  router.close();
  return `2. MAXMSGSIZE 65536: a 65536-byte frame is received (${atLimit?.length} frames with ` +
    `the routing id); after a 65537-byte frame the sender sees: ${outcome}`;
}

async function messagesNotBytes(context: ZmqContext): Promise<string> {
  const counts: string[] = [];
  for (const [size, frames] of [[10, 1], [1 << 20, 1], [1 << 20, 3]] as const) {
    const { router, endpoint } = bindRouter(context, { rcvhwm: 10 });
    const dealer = context.socket(SocketType.DEALER);
    dealer.setOption(SocketOption.LINGER, 0);
    dealer.setOption(SocketOption.SNDHWM, 10);
    dealer.connect(endpoint);
    await sleep(200);
    const message = Array.from({ length: frames }, () => new Uint8Array(size));
    let queued = 0;
    const started = performance.now();
    while (performance.now() - started < 3000) {
      if (dealer.send(message, { dontWait: true })) {
        queued++;
        continue;
      }
      await sleep(100); // let the I/O threads move what they can
      if (!dealer.send(message, { dontWait: true })) break;
      queued++;
    }
    counts.push(
      `${frames} x ${size} B: ${queued} messages (${(queued * frames * size / 1e6).toFixed(1)} MB)`,
    );
    dealer.close();
    router.close();
  }
  return `3. SNDHWM 10 on a DEALER + RCVHWM 10 on a ROUTER that never reads, messages queued ` +
    `before EAGAIN: ${counts.join("; ")}`;
}

async function repliesToNonReader(context: ZmqContext, mandatory: boolean): Promise<string> {
  const { router, endpoint } = bindRouter(context, { sndhwm: 10, mandatory });
  router.setOption(SocketOption.RCVTIMEO, 2000);
  const speaker = await ZmtpSpeaker.connect(endpoint);
  await speaker.send(["", "hello"]);
  const routingId = router.receive()![0]!;
  const reply = new Uint8Array(1 << 20);
  const before = rssMb();
  let accepted = 0;
  let refused = "";
  for (let i = 0; i < 200 && refused === ""; i++) {
    try {
      if (router.send([routingId, "", reply], { dontWait: true })) accepted++;
      else refused = "EAGAIN";
    } catch (error) {
      refused = error instanceof ZmqError ? error.message : String(error);
    }
    if (i % 20 === 19) await sleep(20);
  }
  await sleep(300);
  const grown = rssMb() - before;
  speaker.close();
  router.close();
  return `4. ROUTER with SNDHWM 10${mandatory ? " and ROUTER_MANDATORY" : ""}, a peer that ` +
    `never reads: ${accepted} of 200 replies of 1 MB accepted by send` +
    `${refused === "" ? "" : `, then ${refused}`}; RSS +${grown.toFixed(0)} MB`;
}

/**
 * Runs the four measurements and prints one line each.
 *
 * @param args `--libzmq PATH` to measure another libzmq than the bundled one
 * @returns the exit code
 */
export async function main(args: string[]): Promise<number> {
  const { values } = scriptArgs("zmq_limits", { args, options: { libzmq: { type: "string" } } });
  const lib = Libzmq.open(values.libzmq ?? bundledLibzmqPath());
  const context = ZmqContext.create(lib);
  console.log(`libzmq ${lib.version()} from ${lib.path}`);
  console.log(await endlessMultipart(context));
  console.log(await frameOverLimit(context));
  console.log(await messagesNotBytes(context));
  console.log(await repliesToNonReader(context, false));
  console.log(await repliesToNonReader(context, true));
  await context.terminate();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

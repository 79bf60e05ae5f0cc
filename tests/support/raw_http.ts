/**
 * One HTTP/1.1 request over a plain TCP connection made with `node:net`, whose source
 * address can be chosen (`Deno.connect` cannot bind the client's side): a test speaks to
 * the service from 127.0.0.2 as from another host.
 *
 * @module
 */

import net from "node:net";

/** An answer as read off the wire. */
export interface RawAnswer {
  status: number;
  /** Header fields by lower-case name (repeated ones joined with `, `). */
  headers: Map<string, string>;
  body: string;
}

/**
 * Sends one request (with `Connection: close`) and reads the answer to the end.
 *
 * @example
 * ```ts ignore
 * const answer = await rawRequest(8080, { path: "/json/", localAddress: "127.0.0.2" });
 * ```
 *
 * @param port the port on 127.0.0.1
 * @param request the method (default GET), path, header fields, and the source address
 * @returns the answer
 * @throws {Error} when the connection fails or the answer is not HTTP/1.1
 */
export function rawRequest(
  port: number,
  request: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    localAddress?: string;
  },
): Promise<RawAnswer> {
  const { promise, resolve, reject } = Promise.withResolvers<RawAnswer>();
  const chunks: Buffer[] = [];
  const socket = net.connect({
    host: "127.0.0.1",
    port,
    ...(request.localAddress === undefined ? {} : { localAddress: request.localAddress }),
  });
  socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
  socket.on("connect", () => {
    const fields = Object.entries(request.headers ?? {}).map(([name, value]) =>
      `${name}: ${value}\r\n`
    ).join("");
    socket.write(
      `${request.method ?? "GET"} ${request.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `${fields}Connection: close\r\n\r\n`,
    );
  });
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", reject);
  socket.on("close", () => {
    const text = Buffer.concat(chunks).toString("utf8");
    const end = text.indexOf("\r\n\r\n");
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
    if (end < 0 || match === null) {
      reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      return;
    }
    const headers = new Map<string, string>();
    for (const line of text.slice(0, end).split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const before = headers.get(name);
      headers.set(name, before === undefined ? value : `${before}, ${value}`);
    }
    resolve({ status: Number(match[1]), headers, body: text.slice(end + 4) });
  });
  return promise;
}

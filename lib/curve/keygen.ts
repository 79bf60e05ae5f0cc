/**
 * `geoipmq keygen`: writes a new CURVE key pair, made by libzmq (`zmq_curve_keypair`),
 * as two files of one Z85 line each: `PREFIX.key`, the secret key, readable by its owner
 * only (mode 0600), and `PREFIX.pub`, the public key (mode 0644). Neither file is ever
 * overwritten.
 *
 * @module
 */

import type { Libzmq } from "../zmq/mod.ts";

/** A key pair could not be written; the message is one line. */
export class KeygenError extends Error {
  /** @param message one line naming the file and the reason */
  constructor(message: string) {
    super(message);
    this.name = "KeygenError";
  }
}

/** What {@linkcode writeKeyPair} wrote. */
export interface WrittenKeyPair {
  /** The public key, in Z85. */
  publicKey: string;
  /** The secret key file, `PREFIX.key`. */
  secretPath: string;
  /** The public key file, `PREFIX.pub`. */
  publicPath: string;
}

/**
 * Makes a key pair and writes it to `PREFIX.key` and `PREFIX.pub`. Both names are checked
 * first, and each file is created only if it does not exist (`O_EXCL`), then set to its
 * mode whatever the umask; when the public file cannot be written, the secret file just
 * written is removed again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { KeygenError, writeKeyPair } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const dir = await Deno.makeTempDir();
 * const pair = await writeKeyPair(lib, `${dir}/server`);
 * console.log(pair.publicKey); // e.g. "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
 * assert.equal(pair.secretPath, `${dir}/server.key`);
 * assert.equal((await Deno.stat(pair.secretPath)).mode! & 0o777, 0o600);
 * assert.equal(await Deno.readTextFile(pair.publicPath), `${pair.publicKey}\n`);
 * await assert.rejects(writeKeyPair(lib, `${dir}/server`), KeygenError); // never overwrites
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param lib a libzmq with CURVE
 * @param prefix the path of both files, without `.key` or `.pub`
 * @returns the public key and the paths written
 * @throws {KeygenError} when a file exists or cannot be written
 */
export async function writeKeyPair(lib: Libzmq, prefix: string): Promise<WrittenKeyPair> {
  const secretPath = `${prefix}.key`;
  const publicPath = `${prefix}.pub`;
  for (const path of [secretPath, publicPath]) await refuseExisting(path);
  const { publicKey, secretKey } = lib.curveKeypair();
  await writeNew(secretPath, secretKey, 0o600);
  try {
    await writeNew(publicPath, publicKey, 0o644);
  } catch (error) {
    await Deno.remove(secretPath).catch(() => {});
    throw error;
  }
  return { publicKey, secretPath, publicPath };
}

async function refuseExisting(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new KeygenError(`Cannot write "${path}": ${problem(error)}`);
  }
  throw new KeygenError(`Cannot write "${path}": it exists; remove it or choose another --out`);
}

async function writeNew(path: string, key: string, mode: number): Promise<void> {
  try {
    await Deno.writeFile(path, new TextEncoder().encode(`${key}\n`), { createNew: true, mode });
  } catch (error) {
    const reason = error instanceof Deno.errors.AlreadyExists
      ? "it exists; remove it or choose another --out"
      : problem(error);
    throw new KeygenError(`Cannot write "${path}": ${reason}`);
  }
  try {
    await Deno.chmod(path, mode); // the umask may have taken bits of a 0644
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    throw new KeygenError(`Cannot write "${path}": ${problem(error)}`);
  }
}

function problem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) {
    return "Deno was not given write access (run it with --allow-write)";
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!;
}

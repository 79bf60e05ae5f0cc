/**
 * The CURVE key files geoipmq reads: a secret key file, a public key file and the allow
 * file of client public keys. All hold Z85 keys (40 characters), one a line; blank lines and
 * lines starting with `#` are comments, and a key may be followed by white space and a
 * `#` comment. (A Z85 key never starts with `#`: that character stands for 84, too large
 * for the first digit of a 32-bit group.)
 *
 * Every failure is a {@linkcode KeyFileError} with one line naming the file, the line when
 * there is one, and the reason; a secret key is never quoted.
 *
 * @module
 */

import type { Libzmq } from "../zmq/mod.ts";

/** The length of a Z85 CURVE key. */
export const Z85_KEY_LENGTH = 40;

/** The largest key file read (an allow file of about 100 000 keys). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const Z85_CHARACTERS = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]*$/;

/** The Z85 codec of libzmq that key parsing needs. */
export type Z85Codec = Pick<Libzmq, "z85Decode" | "z85Encode" | "curvePublic">;

/** A key file that cannot be used; the message is one line. */
export class KeyFileError extends Error {
  /** @param message one line: the file, the line, the reason */
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

/** The server's CURVE identity. */
export interface ServerKey {
  /** The secret key's 32 bytes, for `ZMQ_CURVE_SECRETKEY`. */
  secretKey: Uint8Array;
  /** The public key derived from it, in Z85, for clients' `ZMQ_CURVE_SERVERKEY`. */
  publicKey: string;
}

/**
 * Checks one key: 40 Z85 characters that `zmq_z85_decode` accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { keyProblem } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * assert.equal(keyProblem(lib, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"), undefined);
 * assert.equal(keyProblem(lib, "short"), "5 characters, expected 40 Z85 characters");
 * ```
 *
 * @param codec libzmq's Z85 functions
 * @param text the key
 * @returns what is wrong with it, or undefined when it is a key
 */
export function keyProblem(codec: Z85Codec, text: string): string | undefined {
  if (text.length !== Z85_KEY_LENGTH) {
    return `${text.length} characters, expected ${Z85_KEY_LENGTH} Z85 characters`;
  }
  if (!Z85_CHARACTERS.test(text)) return "a character that is not Z85";
  if (codec.z85Decode(text) === null) return "not a Z85 key (zmq_z85_decode refused it)";
  return undefined;
}

/**
 * The key lines of a key file: each with its line number, comments and blanks left out.
 *
 * @param text the file's text
 * @returns the keys as written (not checked), and whether more than a comment follows
 */
function keyLines(text: string): { line: number; key: string; extra: boolean }[] {
  const lines = text.split(/\r?\n/);
  const keys: { line: number; key: string; extra: boolean }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = line.match(/^(\S+)(?:\s+(.*))?$/)!;
    const rest = match[2] ?? "";
    keys.push({ line: i + 1, key: match[1]!, extra: rest !== "" && !rest.startsWith("#") });
  }
  return keys;
}

/**
 * Reads the server's secret key: the file must be readable by its owner only (no bit of
 * `0o077`), and hold exactly one key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { KeyFileError, readSecretKeyFile, writeKeyPair } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const dir = await Deno.makeTempDir();
 * const pair = await writeKeyPair(lib, `${dir}/server`); // server.key has mode 0600
 * const { secretKey, publicKey } = await readSecretKeyFile(lib, pair.secretPath);
 * assert.equal(secretKey.length, 32); // for router.setBytesOption(CURVE_SECRETKEY, …)
 * assert.equal(publicKey, pair.publicKey);
 * await Deno.chmod(pair.secretPath, 0o640);
 * await assert.rejects(readSecretKeyFile(lib, pair.secretPath), KeyFileError); // group-readable
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param codec libzmq's Z85 functions
 * @param path the file
 * @returns the secret key's bytes and the public key derived from it
 * @throws {KeyFileError} when the file is missing, open to others or not one key
 */
export async function readSecretKeyFile(codec: Z85Codec, path: string): Promise<ServerKey> {
  const what = `Cannot read secret key "${path}"`;
  const info = await statFile(path, what);
  const mode = info.mode ?? 0;
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(
      `${what}: ${openness(mode)} (mode ${octal(mode)}); chmod 600 it`,
    );
  }
  const keys = keyLines(await readText(path, what));
  if (keys.length === 0) {
    throw new KeyFileError(`${what}: no key in it (expected a line of 40 Z85 characters)`);
  }
  const [first, second] = keys;
  if (second !== undefined) {
    throw new KeyFileError(`${what} line ${second.line}: a second key; the file holds one`);
  }
  const problem = first!.extra ? "text after the key" : keyProblem(codec, first!.key);
  if (problem !== undefined) throw new KeyFileError(`${what} line ${first!.line}: ${problem}`);
  return { secretKey: codec.z85Decode(first!.key)!, publicKey: codec.curvePublic(first!.key) };
}

/**
 * Reads a public key file, as `geoipmq keygen` writes it (`PREFIX.pub`): exactly one key.
 * A client reads the service's public key from one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { readPublicKeyFile, writeKeyPair } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const dir = await Deno.makeTempDir();
 * const pair = await writeKeyPair(lib, `${dir}/server`);
 * const serverKey = await readPublicKeyFile(lib, pair.publicPath); // for CURVE_SERVERKEY
 * assert.equal(serverKey, pair.publicKey);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param codec libzmq's Z85 functions
 * @param path the file
 * @returns the key, in Z85
 * @throws {KeyFileError} when the file is missing or not one key
 */
export async function readPublicKeyFile(codec: Z85Codec, path: string): Promise<string> {
  const what = `Cannot read public key "${path}"`;
  await statFile(path, what);
  const [first, second] = keyLines(await readText(path, what));
  if (first === undefined) {
    throw new KeyFileError(`${what}: no key in it (expected a line of 40 Z85 characters)`);
  }
  if (second !== undefined) {
    throw new KeyFileError(`${what} line ${second.line}: a second key; the file holds one`);
  }
  const problem = first.extra ? "text after the key" : keyProblem(codec, first.key);
  if (problem !== undefined) throw new KeyFileError(`${what} line ${first.line}: ${problem}`);
  return first.key;
}

/**
 * Reads the allow file: the public keys of the clients let in. Duplicates count once; a
 * file with no key lets no client in. The file must not be writable by others.
 *
 * A secret key file given as the allow file (`--curve-allow-file server.key`) is refused,
 * judged by the file alone, because nothing else can tell: a Z85 key is 32 bytes whether
 * it is secret or public, and this function is given the path only. Refused are:
 *
 * - a file named `*.key`, the name `geoipmq keygen` gives a secret key (its public key is
 *   `*.pub`, the file to copy lines from);
 * - a file readable by its owner only (no bit of `0o077`) holding exactly one key: the
 *   shape {@linkcode readSecretKeyFile} demands of a secret key file, and the shape keygen
 *   writes. An allow file lists public keys, which need no secrecy, so a real allow file
 *   has no reason to look like that.
 *
 * A refusal costs a rename or a `chmod 644`; accepting would let no intended client in
 * and treat the server's secret as a public list (copied, shown, reloaded), so the
 * mistake is stopped at start with one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { readAllowFile } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/clients.allow`;
 * await Deno.writeTextFile(path, "# alice\nrq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n");
 * await Deno.chmod(path, 0o644);
 * assert.deepEqual(await readAllowFile(lib, path), ["rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param codec libzmq's Z85 functions
 * @param path the file
 * @returns the keys, in Z85, in file order
 * @throws {KeyFileError} when the file is missing, world-writable, looks like a secret key
 *   file or has a malformed line
 */
export async function readAllowFile(codec: Z85Codec, path: string): Promise<string[]> {
  const what = `Cannot read CURVE allow file "${path}"`;
  const info = await statFile(path, what);
  const mode = info.mode ?? 0;
  if ((mode & 0o002) !== 0) {
    throw new KeyFileError(`${what}: world-writable (mode ${octal(mode)}); chmod o-w it`);
  }
  if (path.endsWith(".key")) {
    throw new KeyFileError(
      `${what}: a .key file is a secret key; list the clients' public keys (their .pub files) ` +
        "in an allow file of another name",
    );
  }
  const keys = parseAllowList(codec, await readText(path, what), what);
  if (keys.length === 1 && (mode & 0o077) === 0) {
    throw new KeyFileError(
      `${what}: one key readable by its owner only (mode ${octal(mode)}) looks like a secret ` +
        "key file; an allow file lists public keys: chmod 644 it",
    );
  }
  return keys;
}

/**
 * Reads the keys of an allow file's text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openLibzmq } from "../zmq/mod.ts";
 * import { KeyFileError, parseAllowList } from "./mod.ts";
 * const lib = openLibzmq(undefined);
 * const text = "# alice\nrq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  # laptop\n";
 * assert.deepEqual(parseAllowList(lib, text, "x"), ["rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"]);
 * assert.throws(() => parseAllowList(lib, "# bob\nshort\n", "x"), KeyFileError); // line 2
 * ```
 *
 * @param codec libzmq's Z85 functions
 * @param text the file's text
 * @param what the start of an error message, e.g. `Cannot read CURVE allow file "x"`
 * @returns the distinct keys, in Z85, in file order
 * @throws {KeyFileError} naming the first malformed line
 */
export function parseAllowList(codec: Z85Codec, text: string, what: string): string[] {
  const keys = new Set<string>();
  for (const { line, key, extra } of keyLines(text)) {
    const problem = extra ? "text after the key (a comment starts with #)" : keyProblem(codec, key);
    if (problem !== undefined) {
      throw new KeyFileError(`${what} line ${line}: "${shown(key)}" is not a key: ${problem}`);
    }
    // Re-encode: the one spelling libzmq gives a client's key in a ZAP request.
    keys.add(codec.z85Encode(codec.z85Decode(key)!));
  }
  return [...keys];
}

async function statFile(path: string, what: string): Promise<Deno.FileInfo> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new KeyFileError(`${what}: ${fileProblem(error)}`);
  }
  if (!info.isFile) throw new KeyFileError(`${what}: not a regular file`);
  if (info.size > MAX_FILE_BYTES) {
    throw new KeyFileError(`${what}: ${info.size} bytes, more than a key file can be`);
  }
  return info;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new KeyFileError(`${what}: ${fileProblem(error)}`);
  }
}

function fileProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return "Deno was not given read access";
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!;
}

function openness(mode: number): string {
  if ((mode & 0o004) !== 0) return "world-readable";
  if ((mode & 0o040) !== 0) return "group-readable";
  return "open to group or others";
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/** A value from a file, cut and with control characters shown as `?`, for one line. */
function shown(value: string): string {
  // deno-lint-ignore no-control-regex
  const printable = value.replace(/[\x00-\x1f\x7f-\uffff]/g, "?");
  return printable.length > 48 ? `${printable.slice(0, 45)}...` : printable;
}

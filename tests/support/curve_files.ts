/**
 * Key files for the CURVE tests, in a temporary directory of their own: the server's
 * secret key (mode 0600), allow files, and a fixture database to serve. Also a bounded
 * wait for a line in a running service's log.
 *
 * @module
 */

import type { Libzmq } from "../../lib/zmq/mod.ts";
import { cityFixture } from "./fixtures.ts";
import type { ServiceProcess } from "./service_process.ts";

/** How long a test waits for a log line before it fails (the machine may be busy). */
export const LOG_PATIENCE_MS = 15_000;

/** A temporary directory with a server key pair, a database, and room for allow files. */
export class CurveFiles implements AsyncDisposable {
  /** The directory. */
  readonly directory: string;
  /** The fixture database. */
  readonly database: string;
  /** The server's secret key file (mode 0600). */
  readonly secretKeyFile: string;
  /** The server's public key, in Z85. */
  readonly serverKey: string;
  /** The allow file the service is started with. */
  readonly allowFile: string;

  private constructor(directory: string, serverKey: string) {
    this.directory = directory;
    this.database = `${directory}/city.mmdb`;
    this.secretKeyFile = `${directory}/server.key`;
    this.allowFile = `${directory}/clients.allow`;
    this.serverKey = serverKey;
  }

  /**
   * Makes the directory, a server key pair and the database; the allow file holds `keys`.
   *
   * @param lib libzmq, for the key pair
   * @param keys the client public keys to allow at first
   * @returns the files
   */
  static async create(lib: Libzmq, keys: string[]): Promise<CurveFiles> {
    const directory = await Deno.makeTempDir({ prefix: "geoipmq-curve-" });
    const { publicKey, secretKey } = lib.curveKeypair();
    const files = new CurveFiles(directory, publicKey);
    await Deno.writeFile(files.database, cityFixture());
    await files.write("server.key", `# the server's secret key\n${secretKey}\n`, 0o600);
    await files.allow(keys);
    return files;
  }

  /** The flags that turn CURVE on with these files. */
  get flags(): string[] {
    return [
      "--curve-secret-key-file",
      this.secretKeyFile,
      "--curve-allow-file",
      this.allowFile,
    ];
  }

  /**
   * Writes the allow file (atomically: a new file renamed over the old).
   *
   * @param keys the client public keys, one a line, after a comment line
   */
  async allow(keys: string[]): Promise<void> {
    const text = `# clients let in\n\n${keys.map((key, i) => `${key}  # client ${i}\n`).join("")}`;
    await this.write("clients.allow.tmp", text, 0o644);
    await Deno.rename(`${this.directory}/clients.allow.tmp`, this.allowFile);
  }

  /**
   * Writes a file in the directory with a given mode (whatever the umask).
   *
   * @param name the file name
   * @param text its content
   * @param mode its mode
   * @returns its path
   */
  async write(name: string, text: string, mode: number): Promise<string> {
    const path = `${this.directory}/${name}`;
    await Deno.writeTextFile(path, text, { mode });
    await Deno.chmod(path, mode);
    return path;
  }

  /** Removes the directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.directory, { recursive: true });
  }
}

/**
 * Waits until the service logs a line matching a pattern, after a given line.
 *
 * @param service the running service
 * @param pattern what the line must match
 * @param after how many lines of the log to skip (default: none)
 * @returns the line
 * @throws {Error} with the log when no such line comes within {@linkcode LOG_PATIENCE_MS}
 */
export async function waitForLogLine(
  service: ServiceProcess,
  pattern: RegExp,
  after = 0,
): Promise<string> {
  const deadline = Date.now() + LOG_PATIENCE_MS;
  while (Date.now() < deadline) {
    const line = service.log.slice(after).find((candidate) => pattern.test(candidate));
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no log line matching ${pattern} in:\n${service.log.join("\n")}`);
}

/**
 * Escapes text for use inside a regular expression (a Z85 key has many special characters).
 *
 * @param text the text
 * @returns the pattern source matching exactly that text
 */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

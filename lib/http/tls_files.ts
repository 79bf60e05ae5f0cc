/**
 * The certificate chain and private key of HTTPS (`--http-tls-cert`, `--http-tls-key`):
 * PEM files, read at start and again on each reload.
 *
 * @module
 */

/** A certificate chain and its private key, in PEM. */
export interface TlsPem {
  /** The certificate chain, server certificate first. */
  cert: string;
  /** The private key (PKCS#8, RSA or EC). */
  key: string;
}

/** The largest PEM file read, in bytes: a chain of a few certificates fits many times. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * Reads a certificate chain and its key from PEM files, checking that each holds what it
 * should (the pair itself is checked when it is put in force).
 *
 * @example
 * ```ts
 * import { readTlsFiles } from "./tls_files.ts";
 * try {
 *   await readTlsFiles({ certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" });
 * } catch (error) {
 *   console.log((error as Error).message); // Cannot read TLS certificate "/nonexistent/cert.pem": ...
 * }
 * ```
 *
 * @param files the paths of the certificate chain and of the key
 * @returns the PEM texts
 * @throws {Error} one line naming the file and what is wrong with it
 */
export async function readTlsFiles(files: { certFile: string; keyFile: string }): Promise<TlsPem> {
  const cert = await readPem(files.certFile, { what: "TLS certificate", label: /CERTIFICATE/ });
  const key = await readPem(files.keyFile, { what: "TLS key", label: /PRIVATE KEY/ });
  return { cert, key };
}

async function readPem(path: string, expect: { what: string; label: RegExp }): Promise<string> {
  const cannot = (reason: string) => new Error(`Cannot read ${expect.what} "${path}": ${reason}`);
  let text: string;
  try {
    const file = await Deno.open(path);
    try {
      const info = await file.stat();
      if (!info.isFile) throw cannot("not a regular file");
      if (info.size > MAX_PEM_BYTES) throw cannot(`larger than ${MAX_PEM_BYTES} bytes`);
    } finally {
      file.close();
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("Cannot read")) throw error;
    throw cannot(error instanceof Error ? error.message : String(error));
  }
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((match) => match[1]!);
  if (!labels.some((label) => expect.label.test(label))) {
    throw cannot(`not a PEM file holding a ${expect.what.replace("TLS ", "")}`);
  }
  return text;
}
